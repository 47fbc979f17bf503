import CBLAS
import CKernels
import Foundation
import FrontierEngine

/// Which parameters a step trains: gradients are computed for these only, and the backward
/// pass stops below the lowest trainable block.
public struct TrainableParts: Sendable, Equatable {
    public var embeddings: Bool
    /// Encoder blocks with an index at or above this one train.
    public var layersFrom: Int
    public var pooler: Bool
    public var head: Bool

    public init(embeddings: Bool, layersFrom: Int, pooler: Bool, head: Bool) {
        self.embeddings = embeddings
        self.layersFrom = layersFrom
        self.pooler = pooler
        self.head = head
    }

    public static let everything = TrainableParts(embeddings: true, layersFrom: 0, pooler: true, head: true)

    public func contains(_ group: ParameterLayout.Group) -> Bool {
        switch group {
        case .embeddings: return embeddings
        case let .layer(index): return index >= layersFrom
        case .pooler: return pooler
        case .head: return head
        }
    }
}

/// One forward and backward pass of the encoder and its head over a packed batch.
///
/// The forward pass is `EncoderModel.forward`'s (post-LayerNorm BERT / DistilBERT, exact-erf
/// GELU, attention per sequence over packed rows) computed in plain fp32 with every activation
/// the backward pass reads kept, per layer, until that layer's backward is done; the backward
/// pass is the chain rule through the same ops in reverse, as `torch.autograd` computes it.
public final class GradientEngine {
    public let threads: Int
    public let gemm: GemmBackend
    private let gemms: TrainingGemm
    /// A classifier's last block computed for every row instead of [CLS] alone: the same
    /// gradients with more work, kept to check the short path against.
    public let everyRowOfTheLastBlock: Bool

    /// `gemm`: the engine's packed microkernels (default) or OpenBLAS, for the linear layers.
    public init(threads: Int, gemm: GemmBackend = .packed, everyRowOfTheLastBlock: Bool = false) {
        self.threads = max(1, threads)
        self.gemm = gemm
        self.everyRowOfTheLastBlock = everyRowOfTheLastBlock
        gemms = TrainingGemm(backend: gemm, threads: self.threads)
        _ = Self.heapKeepsFreedBuffers
    }

    /// Set once per process, by the first engine (`fk_keep_freed_heap`).
    private static let heapKeepsFreedBuffers: Bool = fk_keep_freed_heap() == 1

    /// Runs `body` with the calling thread's parallel loops (`TrainingKernels.chunks`) on this
    /// engine's GEMM threads: a training step's element-wise work and its GEMMs then share two
    /// threads on two cores instead of two pools competing for them. Not reentrant across
    /// threads: one engine serves one step at a time, as its GEMM pool already required.
    public func withKernelThreads<T>(_ body: () throws -> T) rethrows -> T {
        guard let pool = gemms.pool else { return try body() }
        let previous = fk_current_pool()
        fk_set_current_pool(pool)
        defer { fk_set_current_pool(previous) }
        return try body()
    }

    /// What a pass returns besides the gradients.
    public struct Pass: Sendable {
        /// The batch's mean loss (before `lossScale`).
        public var loss: Float
        /// Per sequence: the logits (classification, regression) or nothing (question answering).
        public var logits: [[Float]]
    }

    /// Adds `lossScale ×` the gradient of the batch's mean loss to `gradients` (trainable
    /// slots only) and returns the loss. With `computeGradients: false` it is a forward pass
    /// only (the loss for finite differences and evaluation).
    @discardableResult
    public func run(_ model: TrainableModel, batch: TrainingBatch, dropout: DropoutRates = .off, seed: UInt64 = 0,
                    step: Int = 0, microbatch: Int = 0, trainable: TrainableParts = .everything, lossScale: Float = 1,
                    into gradients: inout ParameterVector, computeGradients: Bool = true) throws -> Pass {
        precondition(gradients.layout == model.layout, "GradientEngine: the gradient vector's layout is not the model's")
        try validate(model, batch, trainable)
        return withKernelThreads { computePass(model, batch: batch, dropout: dropout, seed: seed, step: step, microbatch: microbatch,
                                        trainable: trainable, lossScale: lossScale, into: &gradients, computeGradients: computeGradients) }
    }

    private func computePass(_ model: TrainableModel, batch: TrainingBatch, dropout: DropoutRates, seed: UInt64, step: Int, microbatch: Int,
                      trainable: TrainableParts, lossScale: Float, into gradients: inout ParameterVector, computeGradients: Bool) -> Pass {
        let stream = DropoutStream(seed: seed, step: step, microbatch: microbatch)
        return model.parameters.values.withUnsafeBufferPointer { parameters in
            gradients.values.withUnsafeMutableBufferPointer { grads in
                var pass = Computation(model: model, batch: batch, dropout: dropout, stream: stream, trainable: trainable,
                                       parameters: parameters.baseAddress!, gradients: grads.baseAddress!, threads: threads, gemm: gemms,
                                       everyRowOfTheLastBlock: everyRowOfTheLastBlock)
                return pass.run(lossScale: lossScale, backward: computeGradients)
            }
        }
    }

    /// The loss and a fresh gradient vector for one batch.
    public func lossAndGradients(_ model: TrainableModel, batch: TrainingBatch, dropout: DropoutRates = .off,
                                 trainable: TrainableParts = .everything) throws -> (loss: Float, gradients: ParameterVector) {
        var gradients = ParameterVector(zeros: model.layout)
        let pass = try run(model, batch: batch, dropout: dropout, trainable: trainable, into: &gradients)
        return (pass.loss, gradients)
    }

    private func validate(_ model: TrainableModel, _ batch: TrainingBatch, _ trainable: TrainableParts) throws {
        guard !batch.inputs.isEmpty else { throw TrainingError.invalidBatch("the batch is empty") }
        guard !trainable.embeddings || trainable.layersFrom == 0 else {
            throw TrainingError.invalidSettings("the embeddings can only train together with every encoder block")
        }
        let config = model.config
        for index in 0..<batch.count {
            let length = batch.inputs.length(index)
            guard length > 0 else { throw TrainingError.invalidBatch("sequence \(index) is empty") }
            guard length <= config.maxPositions else {
                throw TrainingError.invalidBatch("sequence \(index) has \(length) tokens; the model accepts at most \(config.maxPositions)")
            }
        }
        if let bad = batch.inputs.ids.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw TrainingError.invalidBatch("token id \(batch.inputs.ids[bad]) at packed position \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        if config.typeVocabSize > 0, let bad = batch.inputs.typeIds.firstIndex(where: { $0 < 0 || Int($0) >= config.typeVocabSize }) {
            throw TrainingError.invalidBatch("token type id \(batch.inputs.typeIds[bad]) at packed position \(bad) is outside 0..<\(config.typeVocabSize)")
        }
        for (index, target) in batch.targets.enumerated() {
            switch (model.architecture.head, target) {
            case let (.classification(_, _, _, labels), .label(label)) where !model.architecture.isRegression:
                guard (0..<labels).contains(label) else { throw TrainingError.invalidBatch("sequence \(index) has label \(label); the head has \(labels) classes") }
            case let (.classification(_, _, _, labels), .value(value)) where model.architecture.isRegression:
                guard labels == 1 else { throw TrainingError.invalidBatch("a regression head has one output; this one has \(labels)") }
                guard value.isFinite else { throw TrainingError.invalidBatch("sequence \(index) has a non-finite target \(value)") }
            case (.questionAnswering, .span):
                break
            default:
                throw TrainingError.invalidBatch("sequence \(index) has target \(target), which the model's head (\(model.architecture.isRegression ? "regression" : "\(model.architecture.head)")) does not train on")
            }
        }
    }
}

/// The activations one encoder block's backward pass reads.
private final class LayerActivations {
    let input: FloatBuffer          // (T, h): the block's input
    let qkv: FloatBuffer            // (T, 3a)
    let probabilities: FloatBuffer  // heads·Σ L²
    let probabilityMask: [UInt8]?
    let context: FloatBuffer        // (T, a)
    let attentionOutputMask: [UInt8]?
    let normalized1: FloatBuffer    // (T, h)
    let rstd1: FloatBuffer          // (T)
    let hidden1: FloatBuffer        // (T, h): after the attention LayerNorm
    let preActivation: FloatBuffer  // (T, i)
    let activation: FloatBuffer     // (T, i)
    let outputMask: [UInt8]?
    let normalized2: FloatBuffer    // (T, h)
    let rstd2: FloatBuffer          // (T)

    init(input: FloatBuffer, qkv: FloatBuffer, probabilities: FloatBuffer, probabilityMask: [UInt8]?, context: FloatBuffer,
         attentionOutputMask: [UInt8]?, normalized1: FloatBuffer, rstd1: FloatBuffer, hidden1: FloatBuffer,
         preActivation: FloatBuffer, activation: FloatBuffer, outputMask: [UInt8]?, normalized2: FloatBuffer, rstd2: FloatBuffer) {
        self.input = input; self.qkv = qkv; self.probabilities = probabilities; self.probabilityMask = probabilityMask
        self.context = context; self.attentionOutputMask = attentionOutputMask; self.normalized1 = normalized1; self.rstd1 = rstd1
        self.hidden1 = hidden1; self.preActivation = preActivation; self.activation = activation; self.outputMask = outputMask
        self.normalized2 = normalized2; self.rstd2 = rstd2
    }
}

private struct Computation {
    let model: TrainableModel
    let batch: TrainingBatch
    let dropout: DropoutRates
    let stream: DropoutStream
    let trainable: TrainableParts
    let p: UnsafePointer<Float>
    let g: UnsafeMutablePointer<Float>
    let threads: Int
    let gemm: TrainingGemm
    let layout: ParameterLayout
    let arch: TrainableArchitecture
    let tokens: Int, sequences: Int, h: Int
    let offsets: [Int]
    let everyRowOfTheLastBlock: Bool

    init(model: TrainableModel, batch: TrainingBatch, dropout: DropoutRates, stream: DropoutStream, trainable: TrainableParts,
         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, threads: Int, gemm: TrainingGemm,
         everyRowOfTheLastBlock: Bool) {
        self.model = model; self.batch = batch; self.dropout = dropout; self.stream = stream; self.trainable = trainable
        self.everyRowOfTheLastBlock = everyRowOfTheLastBlock
        p = parameters; g = gradients; self.threads = threads; self.gemm = gemm
        layout = model.layout; arch = model.architecture
        tokens = batch.inputs.tokenCount; sequences = batch.count; h = model.config.hiddenSize
        offsets = batch.inputs.offsets
    }

    func w(_ slot: Int) -> UnsafePointer<Float> { p + layout.slots[slot].offset }
    func dw(_ slot: Int) -> UnsafeMutablePointer<Float> { g + layout.slots[slot].offset }
    func trains(_ slot: Int) -> Bool { trainable.contains(layout.slots[slot].group) }

    /// Dropout site numbers: 0 the embeddings, then 4 per block, then the head.
    func mask(site: Int, count: Int, rate: Float) -> [UInt8]? {
        guard rate > 0, count > 0 else { return nil }
        var mask = [UInt8](repeating: 0, count: count)
        mask.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            TrainingKernels.chunks(count, threads: threads) { _, range in
                stream.fill(base + range.lowerBound, count: range.count, site: site, start: range.lowerBound, rate: rate)
            }
        }
        return mask
    }

    /// The mask of the elements `segments` (start, count) of a site's full layout, back to back:
    /// the same flags those elements get in the full mask, for passes that compute part of it.
    func mask(site: Int, segments: [(start: Int, count: Int)], rate: Float) -> [UInt8]? {
        let total = segments.reduce(0) { $0 + $1.count }
        guard rate > 0, total > 0 else { return nil }
        var mask = [UInt8](repeating: 0, count: total)
        mask.withUnsafeMutableBufferPointer { buffer in
            var at = 0
            for segment in segments {
                stream.fill(buffer.baseAddress! + at, count: segment.count, site: site, start: segment.start, rate: rate)
                at += segment.count
            }
        }
        return mask
    }

    /// Row `r` of a block's output: all rows, or (first query only) each sequence's [CLS] row.
    func hiddenSegments(firstQueryOnly: Bool) -> [(start: Int, count: Int)]? {
        guard firstQueryOnly else { return nil }
        return (0..<sequences).map { (offsets[$0] * h, h) }
    }

    mutating func run(lossScale: Float, backward: Bool) -> GradientEngine.Pass {
        let e = arch.embeddings
        // Embeddings: word + position (+ segment), LayerNorm, dropout.
        let summed = FloatBuffer(count: tokens * h)
        for s in 0..<sequences {
            for position in 0..<(offsets[s + 1] - offsets[s]) {
                let row = offsets[s] + position
                let out = summed.pointer + row * h
                let word = w(e.word) + Int(batch.inputs.ids[row]) * h, pos = w(e.position) + position * h
                if let typeSlot = e.tokenType {
                    let type = w(typeSlot) + Int(batch.inputs.typeIds[row]) * h
                    for c in 0..<h { out[c] = word[c] + pos[c] + type[c] }
                } else {
                    for c in 0..<h { out[c] = word[c] + pos[c] }
                }
            }
        }
        let embedded = FloatBuffer(count: tokens * h), embeddedNormalized = FloatBuffer(count: tokens * h), embeddedRstd = FloatBuffer(count: tokens)
        TrainingKernels.layerNormForward(summed.pointer, rows: tokens, width: h, gamma: w(e.norm.gamma), beta: w(e.norm.beta), eps: e.norm.eps,
                                         output: embedded.pointer, normalized: embeddedNormalized.pointer, rstd: embeddedRstd.pointer, threads: threads)
        let embeddingMask = mask(site: 0, count: tokens * h, rate: dropout.hidden)
        if let embeddingMask { embeddingMask.withUnsafeBufferPointer { TrainingKernels.applyMask(embedded.pointer, $0.baseAddress!, count: tokens * h, rate: dropout.hidden) } }

        // Encoder blocks, keeping what each backward needs.
        var saved: [LayerActivations] = []
        var x = embedded
        // A classifier reads only [CLS] of the last block: that block computes its [CLS] rows
        // alone (keys and values still of every token), and its output has one row per sequence.
        let lastIsClsOnly: Bool
        if case .classification = arch.head { lastIsClsOnly = !everyRowOfTheLastBlock } else { lastIsClsOnly = false }
        for (index, layer) in arch.layers.enumerated() {
            let clsOnly = lastIsClsOnly && index == arch.layers.count - 1
            let (activations, next) = forwardLayer(layer, index: index, input: x, keep: backward && index >= trainable.layersFrom,
                                                   firstQueryOnly: clsOnly)
            if let activations { saved.append(activations) } else { saved.append(LayerActivations.placeholder) }
            x = next
        }

        // Head and loss.
        let compact = lastIsClsOnly && !arch.layers.isEmpty
        let dx = FloatBuffer(count: (compact ? sequences : tokens) * h)
        let (loss, logits) = head(x, lossScale: lossScale, backward: backward, gradient: dx, compact: compact)
        guard backward else { return GradientEngine.Pass(loss: loss, logits: logits) }

        let lowest = trainable.embeddings ? 0 : trainable.layersFrom
        var dy = dx
        for index in arch.layers.indices.reversed() where index >= lowest {
            let needInput = index > lowest || trainable.embeddings
            dy = backwardLayer(arch.layers[index], index: index, saved: saved[index], gradient: dy, needInputGradient: needInput,
                               firstQueryOnly: compact && index == arch.layers.count - 1)
            saved[index] = LayerActivations.placeholder
        }
        if trainable.embeddings {
            if let embeddingMask { embeddingMask.withUnsafeBufferPointer { TrainingKernels.applyMask(dy.pointer, $0.baseAddress!, count: tokens * h, rate: dropout.hidden) } }
            TrainingKernels.layerNormBackward(dy.pointer, rows: tokens, width: h, normalized: embeddedNormalized.pointer, rstd: embeddedRstd.pointer,
                                              gamma: w(e.norm.gamma), into: dy.pointer, gammaGradient: dw(e.norm.gamma),
                                              betaGradient: dw(e.norm.beta), threads: threads)
            let dword = dw(e.word), dpos = dw(e.position), dtype = e.tokenType.map(dw)
            for s in 0..<sequences {
                for position in 0..<(offsets[s + 1] - offsets[s]) {
                    let row = offsets[s] + position, grad = dy.pointer + row * h
                    let wordRow = dword + Int(batch.inputs.ids[row]) * h, posRow = dpos + position * h
                    for c in 0..<h { wordRow[c] += grad[c]; posRow[c] += grad[c] }
                    if let dtype {
                        let typeRow = dtype + Int(batch.inputs.typeIds[row]) * h
                        for c in 0..<h { typeRow[c] += grad[c] }
                    }
                }
            }
        }
        return GradientEngine.Pass(loss: loss, logits: logits)
    }

    // MARK: Encoder block

    /// One block forward. With `firstQueryOnly` only each sequence's [CLS] row goes past the
    /// query/key/value projection (keys and values of every token feed its attention), and the
    /// output has one row per sequence; dropout flags are those of the same elements in a full
    /// pass, so both passes train the same model.
    func forwardLayer(_ layer: LayerSlots, index: Int, input x: FloatBuffer, keep: Bool,
                      firstQueryOnly: Bool = false) -> (LayerActivations?, FloatBuffer) {
        let a = layer.attentionWidth, inter = layer.intermediateSize, t = tokens
        let rows = firstQueryOnly ? sequences : t
        let segments = hiddenSegments(firstQueryOnly: firstQueryOnly)
        func hiddenMask(_ site: Int) -> [UInt8]? {
            segments.map { mask(site: site, segments: $0, rate: dropout.hidden) } ?? mask(site: site, count: t * h, rate: dropout.hidden)
        }
        let qkv = FloatBuffer(count: t * 3 * a)
        gemm.linear(x.pointer, m: t, k: h, weight: w(layer.queryKeyValue.weight), n: 3 * a, into: qkv.pointer)
        TrainingKernels.addBias(qkv.pointer, w(layer.queryKeyValue.bias), rows: t, cols: 3 * a)

        let probabilityOffsets = TrainingKernels.probabilityOffsets(offsets, heads: layer.numHeads, firstQueryOnly: firstQueryOnly)
        let probabilities = FloatBuffer(count: probabilityOffsets.last!)
        let probabilityMask: [UInt8]?
        if firstQueryOnly {
            let full = TrainingKernels.probabilityOffsets(offsets, heads: layer.numHeads)
            probabilityMask = mask(site: 1 + 4 * index, segments: (0..<sequences).flatMap { s in
                let length = offsets[s + 1] - offsets[s]
                return (0..<layer.numHeads).map { head in (full[s] + head * length * length, length) }
            }, rate: dropout.attention)
        } else {
            probabilityMask = mask(site: 1 + 4 * index, count: probabilityOffsets.last!, rate: dropout.attention)
        }
        let context = FloatBuffer(count: rows * a)
        withOptionalPointer(probabilityMask) { m in
            TrainingKernels.attentionForward(qkv: qkv.pointer, offsets: offsets, heads: layer.numHeads, headDim: layer.headDim,
                                             probabilities: probabilities.pointer, probabilityOffsets: probabilityOffsets,
                                             mask: m, rate: dropout.attention, context: context.pointer,
                                             firstQueryOnly: firstQueryOnly, threads: threads)
        }

        let s1 = FloatBuffer(count: rows * h)
        gemm.linear(context.pointer, m: rows, k: a, weight: w(layer.attentionOutput.weight), n: h, into: s1.pointer)
        TrainingKernels.addBias(s1.pointer, w(layer.attentionOutput.bias), rows: rows, cols: h)
        let attentionOutputMask = model.config.family == .bert ? hiddenMask(2 + 4 * index) : nil
        if let attentionOutputMask { attentionOutputMask.withUnsafeBufferPointer { TrainingKernels.applyMask(s1.pointer, $0.baseAddress!, count: rows * h, rate: dropout.hidden) } }
        for r in 0..<rows {
            let residual = x.pointer + (firstQueryOnly ? offsets[r] : r) * h, out = s1.pointer + r * h
            for c in 0..<h { out[c] += residual[c] }
        }
        let hidden1 = FloatBuffer(count: rows * h), normalized1 = FloatBuffer(count: rows * h), rstd1 = FloatBuffer(count: rows)
        TrainingKernels.layerNormForward(s1.pointer, rows: rows, width: h, gamma: w(layer.attentionNorm.gamma), beta: w(layer.attentionNorm.beta),
                                         eps: layer.attentionNorm.eps, output: hidden1.pointer, normalized: normalized1.pointer, rstd: rstd1.pointer, threads: threads)

        let preActivation = FloatBuffer(count: rows * inter), activation = FloatBuffer(count: rows * inter)
        gemm.linear(hidden1.pointer, m: rows, k: h, weight: w(layer.intermediate.weight), n: inter, into: preActivation.pointer)
        TrainingKernels.addBias(preActivation.pointer, w(layer.intermediate.bias), rows: rows, cols: inter)
        TrainingKernels.geluForward(preActivation.pointer, into: activation.pointer, count: rows * inter, threads: threads)

        let s2 = s1  // reused: s1 is no longer needed
        gemm.linear(activation.pointer, m: rows, k: inter, weight: w(layer.output.weight), n: h, into: s2.pointer)
        TrainingKernels.addBias(s2.pointer, w(layer.output.bias), rows: rows, cols: h)
        let outputMask = hiddenMask(3 + 4 * index)
        if let outputMask { outputMask.withUnsafeBufferPointer { TrainingKernels.applyMask(s2.pointer, $0.baseAddress!, count: rows * h, rate: dropout.hidden) } }
        for i in 0..<(rows * h) { s2.pointer[i] += hidden1.pointer[i] }
        let output = FloatBuffer(count: rows * h), normalized2 = FloatBuffer(count: rows * h), rstd2 = FloatBuffer(count: rows)
        TrainingKernels.layerNormForward(s2.pointer, rows: rows, width: h, gamma: w(layer.outputNorm.gamma), beta: w(layer.outputNorm.beta),
                                         eps: layer.outputNorm.eps, output: output.pointer, normalized: normalized2.pointer, rstd: rstd2.pointer, threads: threads)
        guard keep else { return (nil, output) }
        return (LayerActivations(input: x, qkv: qkv, probabilities: probabilities, probabilityMask: probabilityMask, context: context,
                                 attentionOutputMask: attentionOutputMask, normalized1: normalized1, rstd1: rstd1, hidden1: hidden1,
                                 preActivation: preActivation, activation: activation, outputMask: outputMask,
                                 normalized2: normalized2, rstd2: rstd2), output)
    }

    /// From the gradient at the block's output to the gradient at its input (nil work when the
    /// block below needs none), accumulating the block's parameter gradients. With
    /// `firstQueryOnly`, `dy` has one row per sequence (the [CLS] rows `forwardLayer` computed).
    func backwardLayer(_ layer: LayerSlots, index: Int, saved: LayerActivations, gradient dy: FloatBuffer, needInputGradient: Bool,
                       firstQueryOnly: Bool = false) -> FloatBuffer {
        let a = layer.attentionWidth, inter = layer.intermediateSize, t = tokens
        let rows = firstQueryOnly ? sequences : t
        // Output LayerNorm; its input was (dropout(output projection) + hidden1).
        let ds2 = FloatBuffer(count: rows * h)
        TrainingKernels.layerNormBackward(dy.pointer, rows: rows, width: h, normalized: saved.normalized2.pointer, rstd: saved.rstd2.pointer,
                                          gamma: w(layer.outputNorm.gamma), into: ds2.pointer, gammaGradient: dw(layer.outputNorm.gamma),
                                          betaGradient: dw(layer.outputNorm.beta), threads: threads)
        let dOut = FloatBuffer(count: rows * h)
        dOut.pointer.update(from: ds2.pointer, count: rows * h)
        if let m = saved.outputMask { m.withUnsafeBufferPointer { TrainingKernels.applyMask(dOut.pointer, $0.baseAddress!, count: rows * h, rate: dropout.hidden) } }
        gemm.accumulateWeightGradient(dOut.pointer, m: rows, n: h, input: saved.activation.pointer, k: inter, into: dw(layer.output.weight))
        TrainingKernels.accumulateColumnSums(dOut.pointer, rows: rows, cols: h, into: dw(layer.output.bias), threads: threads)
        let dAct = saved.activation  // reused: the activation is read above only
        gemm.backwardInput(dOut.pointer, m: rows, n: h, weight: w(layer.output.weight), k: inter, into: dAct.pointer)
        TrainingKernels.geluBackward(saved.preActivation.pointer, gradient: dAct.pointer, count: rows * inter, threads: threads)
        gemm.accumulateWeightGradient(dAct.pointer, m: rows, n: inter, input: saved.hidden1.pointer, k: h, into: dw(layer.intermediate.weight))
        TrainingKernels.accumulateColumnSums(dAct.pointer, rows: rows, cols: inter, into: dw(layer.intermediate.bias), threads: threads)
        // dhidden1 = dAct·Wi + ds2 (the residual).
        gemm.backwardInput(dAct.pointer, m: rows, n: inter, weight: w(layer.intermediate.weight), k: h, into: ds2.pointer, accumulate: true)

        // Attention LayerNorm; its input was (dropout(attention projection) + block input).
        let ds1 = ds2
        TrainingKernels.layerNormBackward(ds2.pointer, rows: rows, width: h, normalized: saved.normalized1.pointer, rstd: saved.rstd1.pointer,
                                          gamma: w(layer.attentionNorm.gamma), into: ds1.pointer, gammaGradient: dw(layer.attentionNorm.gamma),
                                          betaGradient: dw(layer.attentionNorm.beta), threads: threads)
        dOut.pointer.update(from: ds1.pointer, count: rows * h)
        if let m = saved.attentionOutputMask { m.withUnsafeBufferPointer { TrainingKernels.applyMask(dOut.pointer, $0.baseAddress!, count: rows * h, rate: dropout.hidden) } }
        gemm.accumulateWeightGradient(dOut.pointer, m: rows, n: h, input: saved.context.pointer, k: a, into: dw(layer.attentionOutput.weight))
        TrainingKernels.accumulateColumnSums(dOut.pointer, rows: rows, cols: h, into: dw(layer.attentionOutput.bias), threads: threads)
        let dContext = saved.context  // reused
        gemm.backwardInput(dOut.pointer, m: rows, n: h, weight: w(layer.attentionOutput.weight), k: a, into: dContext.pointer)

        let dqkv = FloatBuffer(count: t * 3 * a)
        let probabilityOffsets = TrainingKernels.probabilityOffsets(offsets, heads: layer.numHeads, firstQueryOnly: firstQueryOnly)
        withOptionalPointer(saved.probabilityMask) { m in
            TrainingKernels.attentionBackward(qkv: saved.qkv.pointer, offsets: offsets, heads: layer.numHeads, headDim: layer.headDim,
                                              probabilities: saved.probabilities.pointer, probabilityOffsets: probabilityOffsets,
                                              mask: m, rate: dropout.attention, contextGradient: dContext.pointer, into: dqkv.pointer,
                                              firstQueryOnly: firstQueryOnly, threads: threads)
        }
        gemm.accumulateWeightGradient(dqkv.pointer, m: t, n: 3 * a, input: saved.input.pointer, k: h, into: dw(layer.queryKeyValue.weight))
        TrainingKernels.accumulateColumnSums(dqkv.pointer, rows: t, cols: 3 * a, into: dw(layer.queryKeyValue.bias), threads: threads)
        guard needInputGradient else { return ds1 }
        guard firstQueryOnly else {
            // dx = dqkv·Wqkv + ds1 (the residual).
            gemm.backwardInput(dqkv.pointer, m: t, n: 3 * a, weight: w(layer.queryKeyValue.weight), k: h, into: ds1.pointer, accumulate: true)
            return ds1
        }
        // dx = dqkv·Wqkv, plus the residual at the [CLS] rows.
        let dx = FloatBuffer(count: t * h)
        gemm.backwardInput(dqkv.pointer, m: t, n: 3 * a, weight: w(layer.queryKeyValue.weight), k: h, into: dx.pointer)
        for s in 0..<sequences {
            let row = dx.pointer + offsets[s] * h, residual = ds1.pointer + s * h
            for c in 0..<h { row[c] += residual[c] }
        }
        return dx
    }

    // MARK: Head and loss

    /// The head's outputs, the mean loss, and (when `backward`) the head's gradients and the
    /// gradient at the encoder's output in `gradient`.
    /// `compact`: `x` (and `dx`) hold one row per sequence, its [CLS] row.
    func head(_ x: FloatBuffer, lossScale: Float, backward: Bool, gradient dx: FloatBuffer, compact: Bool = false) -> (Float, [[Float]]) {
        dx.pointer.update(repeating: 0, count: (compact ? sequences : tokens) * h)
        let site = 1 + 4 * arch.layers.count
        switch arch.head {
        case let .classification(pooler, pre, classifier, labels):
            let b = sequences
            let cls = FloatBuffer(count: b * h)
            for s in 0..<b { (cls.pointer + s * h).update(from: x.pointer + (compact ? s : offsets[s]) * h, count: h) }
            // BERT: tanh(pooler); DistilBERT: ReLU(pre-classifier); then dropout.
            let feature = FloatBuffer(count: b * h)
            var reader = cls
            var transform: LinearSlots?
            if let dense = pooler ?? pre {
                transform = dense
                gemm.linear(cls.pointer, m: b, k: h, weight: w(dense.weight), n: h, into: feature.pointer)
                TrainingKernels.addBias(feature.pointer, w(dense.bias), rows: b, cols: h)
                for i in 0..<(b * h) { feature.pointer[i] = pooler != nil ? Foundation.tanh(feature.pointer[i]) : max(0, feature.pointer[i]) }
                reader = feature
            }
            let activated = FloatBuffer(count: b * h)
            activated.pointer.update(from: reader.pointer, count: b * h)
            let headMask = mask(site: site, count: b * h, rate: dropout.head)
            if let headMask { headMask.withUnsafeBufferPointer { TrainingKernels.applyMask(activated.pointer, $0.baseAddress!, count: b * h, rate: dropout.head) } }
            let logits = FloatBuffer(count: b * labels)
            gemm.linear(activated.pointer, m: b, k: h, weight: w(classifier.weight), n: labels, into: logits.pointer)
            TrainingKernels.addBias(logits.pointer, w(classifier.bias), rows: b, cols: labels)
            let rows = (0..<b).map { Array(UnsafeBufferPointer(start: logits.pointer + $0 * labels, count: labels)) }

            let dLogits = FloatBuffer(count: b * labels)
            var loss = 0.0
            for s in 0..<b {
                let row = logits.pointer + s * labels, grad = dLogits.pointer + s * labels
                switch batch.targets[s] {
                case let .value(target):
                    let diff = Double(row[0]) - Double(target)
                    loss += diff * diff
                    grad[0] = Float(2 * diff / Double(b)) * lossScale
                case let .label(label):
                    var top = -Double.infinity
                    for c in 0..<labels { top = max(top, Double(row[c])) }
                    var sum = 0.0
                    for c in 0..<labels { sum += Foundation.exp(Double(row[c]) - top) }
                    let logSum = top + Foundation.log(sum)
                    loss += logSum - Double(row[label])
                    for c in 0..<labels {
                        let probability = Foundation.exp(Double(row[c]) - logSum)
                        grad[c] = Float((probability - (c == label ? 1 : 0)) / Double(b)) * lossScale
                    }
                case .span:
                    preconditionFailure("validated: a classification head gets no span targets")
                }
            }
            let meanLoss = Float(loss / Double(b))
            guard backward else { return (meanLoss, rows) }

            if trains(classifier.weight) {
                gemm.accumulateWeightGradient(dLogits.pointer, m: b, n: labels, input: activated.pointer, k: h, into: dw(classifier.weight))
                TrainingKernels.accumulateColumnSums(dLogits.pointer, rows: b, cols: labels, into: dw(classifier.bias), threads: 1)
            }
            let lowestTrains = trainable.embeddings || trainable.layersFrom < arch.layers.count
            guard lowestTrains || (transform.map { trains($0.weight) } ?? false) else { return (meanLoss, rows) }
            let dFeature = FloatBuffer(count: b * h)
            gemm.backwardInput(dLogits.pointer, m: b, n: labels, weight: w(classifier.weight), k: h, into: dFeature.pointer)
            if let headMask { headMask.withUnsafeBufferPointer { TrainingKernels.applyMask(dFeature.pointer, $0.baseAddress!, count: b * h, rate: dropout.head) } }
            var dCls = dFeature
            if let transform {
                for i in 0..<(b * h) {
                    let y = feature.pointer[i]
                    dFeature.pointer[i] *= pooler != nil ? (1 - y * y) : (y > 0 ? 1 : 0)
                }
                if trains(transform.weight) {
                    gemm.accumulateWeightGradient(dFeature.pointer, m: b, n: h, input: cls.pointer, k: h, into: dw(transform.weight))
                    TrainingKernels.accumulateColumnSums(dFeature.pointer, rows: b, cols: h, into: dw(transform.bias), threads: 1)
                }
                dCls = FloatBuffer(count: b * h)
                gemm.backwardInput(dFeature.pointer, m: b, n: h, weight: w(transform.weight), k: h, into: dCls.pointer)
            }
            for s in 0..<b { (dx.pointer + (compact ? s : offsets[s]) * h).update(from: dCls.pointer + s * h, count: h) }
            return (meanLoss, rows)

        case let .questionAnswering(qa):
            let t = tokens
            let input = FloatBuffer(count: t * h)
            input.pointer.update(from: x.pointer, count: t * h)
            let headMask = mask(site: site, count: t * h, rate: dropout.head)
            if let headMask { headMask.withUnsafeBufferPointer { TrainingKernels.applyMask(input.pointer, $0.baseAddress!, count: t * h, rate: dropout.head) } }
            let spans = FloatBuffer(count: t * 2)
            gemm.linear(input.pointer, m: t, k: h, weight: w(qa.weight), n: 2, into: spans.pointer)
            TrainingKernels.addBias(spans.pointer, w(qa.bias), rows: t, cols: 2)
            let dSpans = FloatBuffer(count: t * 2)
            dSpans.pointer.update(repeating: 0, count: t * 2)
            // Mean over the sequences whose position is inside them, per end; then the average of the two.
            var sums = [0.0, 0.0], counted = [0, 0]
            for s in 0..<sequences {
                guard case let .span(start, end) = batch.targets[s] else { continue }
                let length = offsets[s + 1] - offsets[s]
                for (which, position) in [start, end].enumerated() where (0..<length).contains(position) { counted[which] += 1 }
            }
            for s in 0..<sequences {
                guard case let .span(start, end) = batch.targets[s] else { continue }
                let first = offsets[s], length = offsets[s + 1] - first
                for (which, position) in [start, end].enumerated() where (0..<length).contains(position) {
                    var top = -Double.infinity
                    for r in 0..<length { top = max(top, Double(spans.pointer[(first + r) * 2 + which])) }
                    var sum = 0.0
                    for r in 0..<length { sum += Foundation.exp(Double(spans.pointer[(first + r) * 2 + which]) - top) }
                    let logSum = top + Foundation.log(sum)
                    sums[which] += logSum - Double(spans.pointer[(first + position) * 2 + which])
                    let weight = 0.5 / Double(counted[which])
                    for r in 0..<length {
                        let probability = Foundation.exp(Double(spans.pointer[(first + r) * 2 + which]) - logSum)
                        dSpans.pointer[(first + r) * 2 + which] = Float((probability - (r == position ? 1 : 0)) * weight) * lossScale
                    }
                }
            }
            let meanLoss = Float(0.5 * (counted[0] > 0 ? sums[0] / Double(counted[0]) : 0) + 0.5 * (counted[1] > 0 ? sums[1] / Double(counted[1]) : 0))
            guard backward else { return (meanLoss, []) }
            if trains(qa.weight) {
                gemm.accumulateWeightGradient(dSpans.pointer, m: t, n: 2, input: input.pointer, k: h, into: dw(qa.weight))
                TrainingKernels.accumulateColumnSums(dSpans.pointer, rows: t, cols: 2, into: dw(qa.bias), threads: 1)
            }
            gemm.backwardInput(dSpans.pointer, m: t, n: 2, weight: w(qa.weight), k: h, into: dx.pointer)
            if let headMask { headMask.withUnsafeBufferPointer { TrainingKernels.applyMask(dx.pointer, $0.baseAddress!, count: t * h, rate: dropout.head) } }
            return (meanLoss, [])
        }
    }
}

private extension LayerActivations {
    /// Stands in for a block whose activations are not (or no longer) kept.
    static var placeholder: LayerActivations { LayerActivations(
        input: FloatBuffer(count: 0), qkv: FloatBuffer(count: 0), probabilities: FloatBuffer(count: 0), probabilityMask: nil,
        context: FloatBuffer(count: 0), attentionOutputMask: nil, normalized1: FloatBuffer(count: 0), rstd1: FloatBuffer(count: 0),
        hidden1: FloatBuffer(count: 0), preActivation: FloatBuffer(count: 0), activation: FloatBuffer(count: 0), outputMask: nil,
        normalized2: FloatBuffer(count: 0), rstd2: FloatBuffer(count: 0)) }
}

private func withOptionalPointer<R>(_ array: [UInt8]?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
