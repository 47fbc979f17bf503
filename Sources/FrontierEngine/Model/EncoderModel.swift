import CKernels
import Foundation

/// The packed GEMM's panel width (`FK_PANEL`): weight row blocks start on multiples of it.
enum FrontierPanel { static let width = 16 }

/// A BERT-family encoder (BERT or DistilBERT) with its task head, in fp32.
///
/// The forward pass is the post-LayerNorm transformer of Devlin et al. as Hugging Face computes
/// it, over a padding-free packed batch: per layer one fused QKV GEMM, per-(sequence, head)
/// softmax attention, the output projection with bias + residual + LayerNorm fused, and the
/// feed-forward pair with bias + exact-erf GELU fused. GEMMs go to OpenBLAS; the rest are the
/// vectorised kernels in `CKernels`.
///
/// A value: its parameters are immutable `Tensor`s and each layer's kernel form is derived from
/// them, so a model can be shared across threads as it is, and a technique that changes it
/// returns a new model (`replacing(layers:)`, `replacing(head:)`) built from new layers.
public struct EncoderModel: Sendable {
    public let config: ModelConfig
    public let embeddings: Embeddings
    public let layers: [EncoderLayer]
    public let head: TaskHead
    /// Tensors in the checkpoint that this architecture does not use but that are known to be
    /// harmless (buffers, pre-training heads). Reported, never silently dropped.
    public let ignoredTensors: [String]

    public init(config: ModelConfig, embeddings: Embeddings, layers: [EncoderLayer], head: TaskHead,
                ignoredTensors: [String] = []) {
        self.config = config
        self.embeddings = embeddings
        self.layers = layers
        self.head = head
        self.ignoredTensors = ignoredTensors
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face checkpoint folder.
    public static func load(directory: URL) throws -> EncoderModel {
        let config = try ModelConfig.load(from: directory.appendingPathComponent("config.json"))
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelError.missingFile(path: weightsURL.path, hint: "Only safetensors checkpoints are supported (convert pytorch_model.bin with the safetensors library).")
        }
        let file = try SafetensorsFile(url: weightsURL)
        return try EncoderModel(config: config, weights: file)
    }

    /// Builds the model from named tensors, strictly: every expected tensor must be present
    /// with its exact shape, and every tensor present must be used (or be a known buffer or
    /// pre-training head, which is reported in `ignoredTensors`).
    public init(config: ModelConfig, weights source: any TensorSource) throws {
        let names = CheckpointNames(family: config.family, tensorNames: source.tensorNames)
        var loader = WeightLoader(source: source)
        let h = config.hiddenSize, eps = config.layerNormEps

        let embeddings = Embeddings(
            word: try loader.tensor(names.wordEmbeddings + ".weight", shape: [config.vocabSize, h]),
            position: try loader.tensor(names.positionEmbeddings + ".weight", shape: [config.maxPositions, h]),
            tokenType: config.typeVocabSize > 0
                ? try loader.tensor(names.tokenTypeEmbeddings + ".weight", shape: [config.typeVocabSize, h]) : nil,
            norm: try loader.layerNorm(names.embeddingsNorm, features: h, eps: eps))

        var layers: [EncoderLayer] = []
        for index in 0..<config.numLayers {
            let n = names.layer(index)
            layers.append(EncoderLayer(
                queryKeyValue: try loader.fusedQKV(n, hidden: h),
                attentionOutput: try loader.linear(n.attentionOutput, out: h, in: h),
                attentionNorm: try loader.layerNorm(n.attentionNorm, features: h, eps: eps),
                intermediate: try loader.linear(n.intermediate, out: config.intermediateSize, in: h),
                output: try loader.linear(n.output, out: h, in: config.intermediateSize),
                outputNorm: try loader.layerNorm(n.outputNorm, features: h, eps: eps),
                numHeads: config.numHeads, headDim: config.headDim))
        }

        let head: TaskHead
        let wantsClassifier = config.architectures.contains { $0.hasSuffix("ForSequenceClassification") }
        let wantsQA = config.architectures.contains { $0.hasSuffix("ForQuestionAnswering") }
        if loader.has(names.questionAnswering + ".weight") || wantsQA {
            head = .questionAnswering(try loader.linear(names.questionAnswering, out: 2, in: h))
        } else if loader.has(names.classifier + ".weight") || wantsClassifier {
            switch config.family {
            case .bert:
                head = .sequenceClassification(
                    pooler: try loader.linear(names.pooler, out: h, in: h), preClassifier: nil,
                    classifier: try loader.linear(names.classifier, out: config.numLabels, in: h))
            case .distilbert:
                head = .sequenceClassification(
                    pooler: nil, preClassifier: try loader.linear(names.preClassifier, out: h, in: h),
                    classifier: try loader.linear(names.classifier, out: config.numLabels, in: h))
            }
        } else {
            let pooler = loader.has(names.pooler + ".weight") ? try loader.linear(names.pooler, out: h, in: h) : nil
            head = .encoderOnly(pooler: pooler)
        }

        let leftover = loader.unused
        let unexpected = leftover.filter { !names.isKnownUnused($0) }
        guard unexpected.isEmpty else {
            throw ModelError.unusedTensors(file: source.sourceName, tensors: unexpected)
        }
        self.init(config: config, embeddings: embeddings, layers: layers, head: head, ignoredTensors: leftover)
    }

    /// The same model with other encoder layers (fewer, or pruned, or in another form).
    public func replacing(layers: [EncoderLayer]) -> EncoderModel {
        EncoderModel(config: config, embeddings: embeddings, layers: layers, head: head, ignoredTensors: ignoredTensors)
    }

    /// The model with each encoder layer replaced by `transform(index, layer)`, in order.
    ///
    /// Consuming, so that a caller handing over its only copy (`consume model`) has each old
    /// layer freed as soon as its replacement exists: a technique then holds one layer twice,
    /// never the whole encoder, and a trial's peak RSS does not count a second model.
    public consuming func mappingLayers(_ transform: (Int, EncoderLayer) throws -> EncoderLayer) rethrows -> EncoderModel {
        let config = self.config, embeddings = self.embeddings, head = self.head, ignoredTensors = self.ignoredTensors
        var layers = self.layers
        _ = consume self
        for index in layers.indices { layers[index] = try transform(index, layers[index]) }
        return EncoderModel(config: config, embeddings: embeddings, layers: layers, head: head, ignoredTensors: ignoredTensors)
    }

    /// The same model with another task head.
    public func replacing(head: TaskHead) -> EncoderModel {
        EncoderModel(config: config, embeddings: embeddings, layers: layers, head: head, ignoredTensors: ignoredTensors)
    }

    public var parameterCount: Int {
        embeddings.parameterCount + layers.reduce(0) { $0 + $1.parameterCount } + head.parameterCount
    }

    /// Floating-point operations of one forward pass over sequences of these lengths, counted
    /// from the layers as they are (pruned shapes included) and as `forward` computes them
    /// (the [CLS]-only last layer when `lastLayerClsOnly` applies): 2 per multiply-add in GEMMs
    /// and attention; element-wise work is not counted.
    public func flops(lengths: [Int], lastLayerClsOnly: Bool = true) -> Double {
        let tokens = Double(lengths.reduce(0, +))
        let squares = Double(lengths.reduce(0) { $0 + $1 * $1 })
        let b = Double(lengths.count), h = Double(config.hiddenSize)
        let clsOnly = lastLayerClsOnly && headReadsOnlyCls
        var total = 0.0
        for (index, layer) in layers.enumerated() {
            let a = Double(layer.attentionWidth), i = Double(layer.intermediateSize)
            if clsOnly && index == layers.count - 1 {
                if layer.attentionWidth % FrontierPanel.width == 0 && layer.queryKeyValue.form == .dense {
                    total += 2 * tokens * h * 2 * a + 2 * b * h * a  // K, V for all tokens; Q for [CLS]
                } else {
                    total += 2 * tokens * Double(layer.queryKeyValue.multiplyAddsPerRow)  // Q, K, V for all tokens
                }
                total += 2 * 2 * tokens * a                      // one query row per sequence
                total += 2 * b * a * h + 2 * 2 * b * h * i
            } else {
                total += 2 * tokens * h * 3 * a          // QKV
                total += 2 * 2 * squares * a             // QKᵀ and PV over all heads
                total += 2 * tokens * a * h              // attention output
                total += 2 * 2 * tokens * h * i          // feed-forward pair
            }
        }
        switch head {
        case let .encoderOnly(pooler):
            if pooler != nil { total += 2 * b * h * h }
        case let .sequenceClassification(pooler, pre, classifier):
            if pooler != nil || pre != nil { total += 2 * b * h * h }
            total += 2 * b * h * Double(classifier.outFeatures)
        case .questionAnswering:
            total += 2 * tokens * h * 2
        }
        return total
    }

    /// Checks ids, segment ids and lengths against the model's tables before any memory is
    /// touched: an out-of-range id would otherwise read outside the embedding table.
    public func validate(_ batch: EncoderBatch) throws {
        for index in 0..<batch.count {
            let length = batch.length(index)
            if length == 0 {
                throw ModelError.invalidInput("sequence \(index) of the batch is empty")
            }
            if length > config.maxPositions {
                throw ModelError.invalidInput("sequence \(index) has \(length) tokens; the model accepts at most \(config.maxPositions) (truncate with --max-seq-len)")
            }
        }
        let vocab = Int32(config.vocabSize)
        if let bad = batch.ids.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
            throw ModelError.invalidInput("token id \(batch.ids[bad]) at packed position \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        if config.typeVocabSize > 0 {
            let types = Int32(config.typeVocabSize)
            if let bad = batch.typeIds.firstIndex(where: { $0 < 0 || $0 >= types }) {
                throw ModelError.invalidInput("token type id \(batch.typeIds[bad]) at packed position \(bad) is outside 0..<\(types)")
            }
        }
    }

    /// Checks that the run-time techniques fit this model, and that an inference-only model
    /// holds the weights the selected GEMM reads.
    public func validate(_ options: ForwardOptions) throws {
        let gemm = options.gemm
        let runs = layers.allSatisfy {
            $0.queryKeyValue.executes(on: gemm) && $0.attentionOutput.executes(on: gemm) && $0.intermediate.executes(on: gemm) && $0.output.executes(on: gemm)
        } && head.linears.allSatisfy { $0.executes(on: gemm) }
        if !runs, let layer = allLinears.first(where: { !$0.executes(on: gemm) }) {
            throw ModelError.invalidInput("this model is inference-only for the other GEMM: its dense \(layer.outFeatures)×\(layer.inFeatures) layer holds no weights for \(options.gemm.rawValue) (convert it with inferenceOnly(gemm: .\(options.gemm.rawValue)) before the master weights are dropped)")
        }
        if let mask = options.headMask {
            guard mask.count == layers.count, zip(mask, layers).allSatisfy({ $0.count == $1.numHeads }) else {
                throw ModelError.invalidInput("the head mask must have one entry per head of each of the \(layers.count) layers")
            }
        }
        if let pruning = options.tokenPruning {
            guard headReadsOnlyCls else { throw ModelError.invalidInput("token pruning drops tokens, but a question-answering head needs a logit for every token") }
            guard (1..<max(2, layers.count)).contains(pruning.fromLayer), pruning.fromLayer < layers.count else {
                throw ModelError.invalidInput("token pruning must start at a layer in 1..<\(layers.count) (it ranks tokens by the attention of the layer before); got \(pruning.fromLayer)")
            }
            guard pruning.keep > 0, pruning.keep <= 1 else { throw ModelError.invalidInput("token pruning keeps a fraction in (0, 1]; got \(pruning.keep)") }
        }
        if let exit = options.earlyExit {
            guard case let .sequenceClassification(_, _, classifier) = head else {
                throw ModelError.invalidInput("early exit needs a sequence-classification head (it replaces the classifier's answer)")
            }
            guard exit.heads.count == layers.count else { throw ModelError.invalidInput("early exit needs one (optional) head per layer; got \(exit.heads.count) for \(layers.count) layers") }
            for case let exitHead? in exit.heads where exitHead.classes != classifier.outFeatures || exitHead.weight.count != exitHead.classes * config.hiddenSize {
                throw ModelError.invalidInput("an exit head has \(exitHead.classes) classes; the model has \(classifier.outFeatures)")
            }
        }
    }

    public func forward(_ batch: EncoderBatch, workspace ws: Workspace,
                        options: ForwardOptions = ForwardOptions()) throws -> EncoderOutput {
        try validate(batch)
        try validate(options)
        var output = EncoderOutput()
        guard !batch.isEmpty else { return output }

        let b = batch.count
        let h = config.hiddenSize
        let maxAttention = layers.map(\.attentionWidth).max() ?? h
        let maxIntermediate = layers.map(\.intermediateSize).max() ?? config.intermediateSize
        ws.reserve(tokens: batch.tokenCount, sequences: b, maxLength: batch.maxLength, hidden: h,
                   attentionWidth: maxAttention, intermediate: maxIntermediate, labels: max(1, config.numLabels))
        for index in 0..<b {
            let start = batch.offsets[index]
            for position in 0..<batch.length(index) { ws.positions[start + position] = Int32(position) }
        }
        // The packed layout as it is now: token pruning shortens sequences, early exit removes
        // them. `active[i]` is the batch index of the i-th sequence still running.
        var state = PackedState(offsets: batch.offsets, active: Array(0..<b), ids: batch.ids)
        state.sync(ws)

        var x = ws.hidden.pointer
        var spare = ws.scratch.pointer

        // Embeddings: word + position (+ segment), LayerNorm.
        embed(batch, into: x, workspace: ws)
        if options.collectHiddenStates { output.hiddenStates.append(Array(UnsafeBufferPointer(start: x, count: state.tokens * h))) }
        if options.earlyExit != nil {
            output.logits = Array(repeating: [], count: b)
            output.pooled = Array(repeating: [], count: b)
            output.exitLayers = Array(repeating: layers.count, count: b)
        }
        var flops = 0.0
        var received: [Float] = []  // attention each row received, for token pruning

        // Heads that read only [CLS] let the last layer skip every other row (same result).
        let clsOnly = options.lastLayerClsOnly && !options.collectHiddenStates && headReadsOnlyCls
        var finishedInClsLayer = false
        for (index, layer) in layers.enumerated() {
            if let pruning = options.tokenPruning, index == pruning.fromLayer {
                let rows = state.tokensToKeep(received: received, pruning: pruning)
                state.gather(rows: rows, from: x, into: spare, width: h)
                swap(&x, &spare)
                state.sync(ws)
            }
            if clsOnly && index == layers.count - 1 {
                flops += clsLastLayer(layer, layerIndex: index, state: state, x: x, workspace: ws, options: options)
                finishedInClsLayer = true
                break
            }
            let a = layer.attentionWidth, inter = layer.intermediateSize, tokens = state.tokens, nseq = state.active.count
            let qkv = ws.queryKeyValue.pointer, context = ws.context.pointer, ffn = ws.intermediate.pointer

            flops += linear(layer.queryKeyValue, x, rows: tokens, lda: h, into: qkv, ldc: 3 * a, epilogue: .bias, ws, options.gemm)
            fk_attention_packed(ws.pool, qkv, context, ws.offsets, nseq, layer.numHeads, layer.headDim,
                                1 / Float(layer.headDim).squareRoot(), ws.attentionScratch.pointer, ws.lengthCapacity, 0)
            flops += 4 * Double(state.squaredLengths) * Double(a)
            if let mask = options.headMask?[index] { Self.maskHeads(mask, context: context, rows: 0..<tokens, width: a, headDim: layer.headDim) }
            if let pruning = options.tokenPruning, index == pruning.fromLayer - 1 {
                received = state.receivedAttention(qkv: qkv, heads: layer.numHeads, headDim: layer.headDim, mask: options.headMask?[index])
            }

            flops += linear(layer.attentionOutput, context, rows: tokens, lda: a, into: spare, ldc: h, epilogue: .bias, ws, options.gemm)
            residualLayerNorm(spare, residual: x, layer.attentionNorm, rows: tokens, width: h, ws)
            swap(&x, &spare)

            flops += Linear.feedForward(up: layer.intermediate, down: layer.output, x, rows: tokens, lda: h, hidden: ffn, ldh: inter,
                                        into: spare, ldc: h, workspace: ws, gemm: options.gemm)
            residualLayerNorm(spare, residual: x, layer.outputNorm, rows: tokens, width: h, ws)
            swap(&x, &spare)

            if options.collectHiddenStates { output.hiddenStates.append(Array(UnsafeBufferPointer(start: x, count: tokens * h))) }

            if let exit = options.earlyExit, index < layers.count - 1, let exitHead = exit.heads[index] {
                var staying: [Int] = []
                for (slot, original) in state.active.enumerated() {
                    let cls = x + state.offsets[slot] * h
                    let logits = exitHead.logits(cls, hidden: h)
                    flops += 2 * Double(exitHead.weight.count)
                    if ExitHead.entropy(logits) < exit.entropyThreshold {
                        output.logits[original] = logits
                        output.pooled[original] = Array(UnsafeBufferPointer(start: cls, count: h))
                        output.exitLayers[original] = index + 1
                    } else {
                        staying.append(slot)
                    }
                }
                if staying.count < state.active.count {
                    let rows = staying.flatMap { state.offsets[$0]..<state.offsets[$0 + 1] }
                    if !received.isEmpty { received = rows.map { received[$0] } }
                    state.keepSequences(staying, from: x, into: spare, width: h)
                    swap(&x, &spare)
                    state.sync(ws)
                    if state.active.isEmpty { break }
                }
            }
        }

        if !state.active.isEmpty {
            // The [CLS] row of each sequence: already computed by the cls-only layer, else gathered.
            if !finishedInClsLayer {
                for slot in state.active.indices {
                    (ws.clsHidden.pointer + slot * h).update(from: x + state.offsets[slot] * h, count: h)
                }
            }
            var headOutput = EncoderOutput()
            flops += applyHead(offsets: state.offsets, hidden: x, cls: ws.clsHidden.pointer, workspace: ws, gemm: options.gemm, into: &headOutput)
            if options.earlyExit == nil {
                output.logits = headOutput.logits
                output.pooled = headOutput.pooled
                output.startLogits = headOutput.startLogits
                output.endLogits = headOutput.endLogits
            } else {
                for (slot, original) in state.active.enumerated() {
                    output.logits[original] = headOutput.logits[slot]
                    output.pooled[original] = headOutput.pooled[slot]
                }
            }
        }
        output.flops = flops
        return output
    }

    /// Zeroes the context columns of masked heads: the head contributes nothing downstream.
    static func maskHeads(_ mask: [Bool], context: UnsafeMutablePointer<Float>, rows: some Sequence<Int>, width a: Int, headDim d: Int) {
        for (head, keep) in mask.enumerated() where !keep {
            for row in rows { (context + row * a + head * d).update(repeating: 0, count: d) }
        }
    }

    /// True when the head's output depends on the final hidden state of [CLS] rows alone.
    var headReadsOnlyCls: Bool {
        switch head {
        case .questionAnswering: return false
        case .encoderOnly, .sequenceClassification: return true
        }
    }

    /// `y = x Wᵀ (+ b) (→ GELU)` on the layer's own kernel or the selected GEMM; returns FLOPs.
    @discardableResult
    private func linear(_ layer: Linear, _ input: UnsafePointer<Float>, rows: Int, lda: Int,
                        into output: UnsafeMutablePointer<Float>, ldc: Int, epilogue: LinearEpilogue,
                        _ ws: Workspace, _ gemm: GemmBackend) -> Double {
        layer.apply(input, rows: rows, lda: lda, into: output, ldc: ldc, epilogue: epilogue, workspace: ws, gemm: gemm)
    }

    /// Word + position (+ segment) embeddings of every token, then LayerNorm, into `x`.
    private func embed(_ batch: EncoderBatch, into x: UnsafeMutablePointer<Float>, workspace ws: Workspace) {
        let e = embeddings, h = config.hiddenSize
        func run(_ tokenTypes: UnsafePointer<Float>?) {
            batch.ids.withUnsafeBufferPointer { ids in
                batch.typeIds.withUnsafeBufferPointer { types in
                    e.word.withUnsafeBufferPointer { word in
                        e.position.withUnsafeBufferPointer { position in
                            e.norm.withUnsafePointers { gamma, beta in
                                fk_embed_layernorm(x, ids.baseAddress, ws.positions, types.baseAddress, word.baseAddress, position.baseAddress,
                                                   tokenTypes, gamma, beta, batch.tokenCount, h, e.norm.eps)
                            }
                        }
                    }
                }
            }
        }
        if let tokenType = e.tokenType {
            tokenType.withUnsafeBufferPointer { run($0.baseAddress) }
        } else {
            run(nil)
        }
    }

    /// `y ← LayerNorm(y + residual)` over `rows` rows (`y` already holds the projection and its bias).
    private func residualLayerNorm(_ y: UnsafeMutablePointer<Float>, residual x: UnsafePointer<Float>,
                                   _ norm: LayerNormParameters, rows: Int, width: Int, _ ws: Workspace) {
        norm.withUnsafePointers { gamma, beta in
            fk_parallel_bias_residual_layernorm(ws.pool, y, nil, x, gamma, beta, rows, width, norm.eps)
        }
    }

    /// The last layer when only [CLS] rows matter: keys and values for every token (attention
    /// still reads the whole sequence), then the query, attention, output projection and
    /// feed-forward for one row per sequence. Leaves the result in `ws.clsHidden`; returns FLOPs.
    private func clsLastLayer(_ layer: EncoderLayer, layerIndex: Int, state: PackedState, x: UnsafeMutablePointer<Float>,
                              workspace ws: Workspace, options: ForwardOptions) -> Double {
        let gemm = options.gemm
        let h = config.hiddenSize, a = layer.attentionWidth, b = state.active.count, tokens = state.tokens
        let offsets = state.offsets
        let qkv = ws.queryKeyValue.pointer, context = ws.context.pointer
        let clsX = ws.clsHidden.pointer, clsQ = ws.clsQuery.pointer, clsContext = ws.clsContext.pointer
        let clsOut = ws.clsScratch.pointer, clsFFN = ws.clsIntermediate.pointer
        var flops = 0.0

        for index in 0..<b { (clsX + index * h).update(from: x + offsets[index] * h, count: h) }
        // K | V over all tokens: rows a..<3a of the fused projection (panel-aligned since a % 16 == 0).
        let qkvLayer = layer.queryKeyValue
        if let dense = qkvLayer.denseWeights(for: gemm), a % FrontierPanel.width == 0 {
            qkvLayer.bias.withUnsafeBufferPointer { biasValues in
                let bias = biasValues.baseAddress!
                switch dense {
                case let .panels(packed):
                    fk_linear_packed(ws.pool, x, h, packed.pointer + a * h, bias + a, qkv + a, 3 * a, tokens, 2 * a, h, 1)
                    fk_linear_packed(ws.pool, clsX, h, packed.pointer, bias, clsQ, a, b, a, h, 1)
                case let .rows(rows):
                    rows.withUnsafeBufferPointer { weight in
                        let w = weight.baseAddress!
                        Blas.linear(x, rows: tokens, inFeatures: h, lda: h, weight: w + a * h, outFeatures: 2 * a,
                                    ldw: h, into: qkv + a, ldc: 3 * a)
                        for row in 0..<tokens { fk_add_bias(qkv + row * 3 * a + a, bias + a, 1, 2 * a) }
                        Blas.linear(clsX, rows: b, inFeatures: h, lda: h, weight: w, outFeatures: a, ldw: h,
                                    into: clsQ, ldc: a)
                        fk_add_bias(clsQ, bias, b, a)
                    }
                }
            }
            for index in 0..<b { (qkv + offsets[index] * 3 * a).update(from: clsQ + index * a, count: a) }
            flops += 2 * Double(tokens) * Double(h) * Double(2 * a) + 2 * Double(b) * Double(h) * Double(a)
        } else {
            // A sparse or quantised QKV, or one whose K block does not start on a panel (pruned
            // heads), has no slice to take: compute all three for every row.
            flops += linear(qkvLayer, x, rows: tokens, lda: h, into: qkv, ldc: 3 * a, epilogue: .bias, ws, gemm)
        }
        fk_attention_packed(ws.pool, qkv, context, ws.offsets, b, layer.numHeads, layer.headDim,
                            1 / Float(layer.headDim).squareRoot(), ws.attentionScratch.pointer, ws.lengthCapacity, 1)
        flops += 4 * Double(tokens) * Double(a)
        for index in 0..<b { (clsContext + index * a).update(from: context + offsets[index] * a, count: a) }
        if let mask = options.headMask?[layerIndex] { Self.maskHeads(mask, context: clsContext, rows: 0..<b, width: a, headDim: layer.headDim) }

        flops += linear(layer.attentionOutput, clsContext, rows: b, lda: a, into: clsOut, ldc: h, epilogue: .bias, ws, gemm)
        residualLayerNorm(clsOut, residual: clsX, layer.attentionNorm, rows: b, width: h, ws)
        flops += linear(layer.intermediate, clsOut, rows: b, lda: h, into: clsFFN, ldc: layer.intermediateSize, epilogue: .biasGelu, ws, gemm)
        flops += linear(layer.output, clsFFN, rows: b, lda: layer.intermediateSize, into: clsX, ldc: h, epilogue: .bias, ws, gemm)
        residualLayerNorm(clsX, residual: clsOut, layer.outputNorm, rows: b, width: h, ws)
        return flops
    }

    /// The task head over the current packed sequences (`offsets`); returns its FLOPs.
    private func applyHead(offsets: [Int], hidden x: UnsafeMutablePointer<Float>, cls: UnsafeMutablePointer<Float>,
                           workspace ws: Workspace, gemm: GemmBackend, into output: inout EncoderOutput) -> Double {
        let h = config.hiddenSize, b = offsets.count - 1
        var flops = 0.0
        func rows(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ width: Int) -> [[Float]] {
            (0..<count).map { Array(UnsafeBufferPointer(start: p + $0 * width, count: width)) }
        }
        func dense(_ layer: Linear, _ input: UnsafeMutablePointer<Float>, _ count: Int, into out: UnsafeMutablePointer<Float>) {
            flops += linear(layer, input, rows: count, lda: layer.inFeatures, into: out, ldc: layer.outFeatures, epilogue: .bias, ws, gemm)
        }
        switch head {
        case let .encoderOnly(pooler):
            if let pooler {
                dense(pooler, cls, b, into: ws.pooledScratch.pointer)
                fk_tanh(ws.pooledScratch.pointer, b * h)
                output.pooled = rows(ws.pooledScratch.pointer, b, h)
            } else {
                output.pooled = rows(cls, b, h)
            }
        case let .sequenceClassification(pooler, preClassifier, classifier):
            var features = cls
            if let pooler {
                dense(pooler, cls, b, into: ws.pooledScratch.pointer)
                fk_tanh(ws.pooledScratch.pointer, b * h)
                features = ws.pooledScratch.pointer
            } else if let preClassifier {
                dense(preClassifier, cls, b, into: ws.pooledScratch.pointer)
                for i in 0..<(b * h) { ws.pooledScratch.pointer[i] = max(0, ws.pooledScratch.pointer[i]) }
                features = ws.pooledScratch.pointer
            }
            output.pooled = rows(features, b, h)
            let labels = classifier.outFeatures
            dense(classifier, features, b, into: ws.headOutput.pointer)
            output.logits = rows(ws.headOutput.pointer, b, labels)
        case let .questionAnswering(qa):
            let tokens = offsets[b]
            dense(qa, x, tokens, into: ws.headOutput.pointer)
            let spans = ws.headOutput.pointer
            for index in 0..<b {
                let start = offsets[index], length = offsets[index + 1] - start
                output.startLogits.append((0..<length).map { spans[(start + $0) * 2] })
                output.endLogits.append((0..<length).map { spans[(start + $0) * 2 + 1] })
            }
            output.pooled = rows(cls, b, h)
        }
        return flops
    }
}
