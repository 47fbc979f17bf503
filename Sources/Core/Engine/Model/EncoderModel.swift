import CKernels
import Foundation

/// A BERT-family encoder (BERT or DistilBERT) with its task head, in fp32.
///
/// The forward pass is the post-LayerNorm transformer of Devlin et al. as Hugging Face computes
/// it, over a padding-free packed batch: per layer one fused QKV GEMM, per-(sequence, head)
/// softmax attention, the output projection with bias + residual + LayerNorm fused, and the
/// feed-forward pair with bias + exact-erf GELU fused. GEMMs go to OpenBLAS; the rest are the
/// vectorised kernels in `CKernels`.
public final class EncoderModel: @unchecked Sendable {
    public let config: ModelConfig
    public var embeddings: Embeddings
    public var layers: [EncoderLayer]
    public var head: TaskHead
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
    public convenience init(config: ModelConfig, weights source: any TensorSource) throws {
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

    public var parameterCount: Int {
        embeddings.parameterCount + layers.reduce(0) { $0 + $1.parameterCount } + head.parameterCount
    }

    /// Floating-point operations of one forward pass over sequences of these lengths, counted
    /// from the layers as they are (pruned shapes included): 2 per multiply-add in GEMMs and
    /// attention; element-wise work is not counted.
    public func flops(lengths: [Int]) -> Double {
        let tokens = Double(lengths.reduce(0, +))
        let squares = Double(lengths.reduce(0) { $0 + $1 * $1 })
        var total = 0.0
        for layer in layers {
            let a = Double(layer.attentionWidth), h = Double(config.hiddenSize), i = Double(layer.intermediateSize)
            total += 2 * tokens * h * 3 * a          // QKV
            total += 2 * 2 * squares * a             // QKᵀ and PV over all heads
            total += 2 * tokens * a * h              // attention output
            total += 2 * 2 * tokens * h * i          // feed-forward pair
        }
        let b = Double(lengths.count), h = Double(config.hiddenSize)
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

    public func forward(_ batch: EncoderBatch, workspace ws: Workspace,
                        options: ForwardOptions = ForwardOptions()) throws -> EncoderOutput {
        try validate(batch)
        var output = EncoderOutput()
        guard !batch.isEmpty else { return output }

        let tokens = batch.tokenCount
        let h = config.hiddenSize
        let maxAttention = layers.map(\.attentionWidth).max() ?? h
        let maxIntermediate = layers.map(\.intermediateSize).max() ?? config.intermediateSize
        ws.reserve(tokens: tokens, sequences: batch.count, maxLength: batch.maxLength, hidden: h,
                   attentionWidth: maxAttention, intermediate: maxIntermediate, labels: max(1, config.numLabels))
        let threads = ws.threads

        for index in 0..<batch.count {
            let start = batch.offsets[index]
            for position in 0..<batch.length(index) { ws.positions[start + position] = Int32(position) }
        }

        var x = ws.hidden.pointer
        var spare = ws.scratch.pointer

        // Embeddings: word + position (+ segment), LayerNorm.
        do {
            let out = SharedPointer(x)
            let e = embeddings
            batch.ids.withUnsafeBufferPointer { idsBuffer in
                batch.typeIds.withUnsafeBufferPointer { typesBuffer in
                    ws.positions.withUnsafeBufferPointer { positionsBuffer in
                        let ids = SharedPointer(UnsafeMutablePointer(mutating: idsBuffer.baseAddress!))
                        let types = SharedPointer(UnsafeMutablePointer(mutating: typesBuffer.baseAddress!))
                        let positions = SharedPointer(UnsafeMutablePointer(mutating: positionsBuffer.baseAddress!))
                        Parallel.chunks(tokens, threads: threads, minimumPerChunk: 64) { rows, _ in
                            fk_embed_layernorm(
                                out.base + rows.lowerBound * h,
                                UnsafeRawPointer(ids.base + rows.lowerBound).assumingMemoryBound(to: Int32.self),
                                UnsafeRawPointer(positions.base + rows.lowerBound).assumingMemoryBound(to: Int32.self),
                                UnsafeRawPointer(types.base + rows.lowerBound).assumingMemoryBound(to: Int32.self),
                                e.word.pointer, e.position.pointer, e.tokenType?.pointer,
                                e.norm.gamma.pointer, e.norm.beta.pointer, rows.count, h, e.norm.eps)
                        }
                    }
                }
            }
        }
        if options.collectHiddenStates { output.hiddenStates.append(Array(UnsafeBufferPointer(start: x, count: tokens * h))) }

        for layer in layers {
            let a = layer.attentionWidth, qkvWidth = 3 * a, inter = layer.intermediateSize
            let qkv = ws.queryKeyValue.pointer, context = ws.context.pointer, ffn = ws.intermediate.pointer

            Blas.linear(x, rows: tokens, inFeatures: h, lda: h, weight: layer.queryKeyValue.weight.pointer,
                        outFeatures: qkvWidth, ldw: h, into: qkv, ldc: qkvWidth)
            let qkvRows = SharedPointer(qkv), qkvBias = layer.queryKeyValue.bias
            Self.rowwise(tokens, width: qkvWidth, threads: threads) { rows in
                fk_add_bias(qkvRows.base + rows.lowerBound * qkvWidth, qkvBias.pointer, rows.count, qkvWidth)
            }
            attention(batch: batch, layer: layer, qkv: qkv, context: context, workspace: ws)

            Blas.linear(context, rows: tokens, inFeatures: a, lda: a, weight: layer.attentionOutput.weight.pointer,
                        outFeatures: h, ldw: a, into: spare, ldc: h)
            Self.addResidualNorm(tokens, h, threads, spare, residual: x, bias: layer.attentionOutput.bias, norm: layer.attentionNorm)
            swap(&x, &spare)

            Blas.linear(x, rows: tokens, inFeatures: h, lda: h, weight: layer.intermediate.weight.pointer,
                        outFeatures: inter, ldw: h, into: ffn, ldc: inter)
            let ffnRows = SharedPointer(ffn), ffnBias = layer.intermediate.bias
            Self.rowwise(tokens, width: inter, threads: threads) { rows in
                fk_bias_gelu(ffnRows.base + rows.lowerBound * inter, ffnBias.pointer, rows.count, inter)
            }
            Blas.linear(ffn, rows: tokens, inFeatures: inter, lda: inter, weight: layer.output.weight.pointer,
                        outFeatures: h, ldw: inter, into: spare, ldc: h)
            Self.addResidualNorm(tokens, h, threads, spare, residual: x, bias: layer.output.bias, norm: layer.outputNorm)
            swap(&x, &spare)

            if options.collectHiddenStates { output.hiddenStates.append(Array(UnsafeBufferPointer(start: x, count: tokens * h))) }
        }

        applyHead(batch: batch, hidden: x, workspace: ws, into: &output)
        return output
    }

    /// Attention for every (sequence, head) pair, split over the workspace's threads, each
    /// thread with its own softmax scratch row.
    private func attention(batch: EncoderBatch, layer: EncoderLayer, qkv: UnsafeMutablePointer<Float>,
                           context: UnsafeMutablePointer<Float>, workspace ws: Workspace) {
        let heads = layer.numHeads, d = layer.headDim, a = layer.attentionWidth
        let scale = 1 / Float(d).squareRoot()
        let qkvShared = SharedPointer(qkv), out = SharedPointer(context)
        let scratch = SharedPointer(ws.attentionScratch.pointer)
        let stride = ws.attentionScratch.count / ws.threads
        let offsets = batch.offsets
        let items = batch.count * heads
        let work = batch.lengths.reduce(0) { $0 + $1 * $1 } * a
        let threads = work < 200_000 ? 1 : ws.threads
        Parallel.chunks(items, threads: threads) { range, chunk in
            let row = scratch.base + chunk * stride
            for item in range {
                let sequence = item / heads, headIndex = item % heads
                let start = offsets[sequence], length = offsets[sequence + 1] - start
                let q = qkvShared.base + start * 3 * a + headIndex * d
                fk_attention_head(q, q + a, q + 2 * a, 3 * a, out.base + start * a + headIndex * d, a,
                                  length, d, scale, row)
            }
        }
    }

    private func applyHead(batch: EncoderBatch, hidden x: UnsafeMutablePointer<Float>, workspace ws: Workspace,
                           into output: inout EncoderOutput) {
        let h = config.hiddenSize, b = batch.count
        // The [CLS] row of each sequence.
        let cls = ws.pooled.pointer
        for index in 0..<b {
            (cls + index * h).update(from: x + batch.offsets[index] * h, count: h)
        }
        func rows(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ width: Int) -> [[Float]] {
            (0..<count).map { Array(UnsafeBufferPointer(start: p + $0 * width, count: width)) }
        }
        func dense(_ layer: Linear, _ input: UnsafeMutablePointer<Float>, _ count: Int, into out: UnsafeMutablePointer<Float>) {
            Blas.linear(input, rows: count, inFeatures: layer.inFeatures, lda: layer.inFeatures, weight: layer.weight.pointer,
                        outFeatures: layer.outFeatures, ldw: layer.inFeatures, into: out, ldc: layer.outFeatures)
            fk_add_bias(out, layer.bias.pointer, count, layer.outFeatures)
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
            let tokens = batch.tokenCount
            dense(qa, x, tokens, into: ws.headOutput.pointer)
            let spans = ws.headOutput.pointer
            for index in 0..<b {
                let start = batch.offsets[index], length = batch.length(index)
                output.startLogits.append((0..<length).map { spans[(start + $0) * 2] })
                output.endLogits.append((0..<length).map { spans[(start + $0) * 2 + 1] })
            }
            output.pooled = rows(cls, b, h)
        }
    }

    /// Runs a row kernel over `rows` rows of `width` floats, split across threads when the
    /// buffer is big enough for that to pay.
    private static func rowwise(_ rows: Int, width: Int, threads: Int, _ kernel: @Sendable (Range<Int>) -> Void) {
        let useThreads = rows * width >= 65_536 ? threads : 1
        Parallel.chunks(rows, threads: useThreads) { range, _ in kernel(range) }
    }

    private static func addResidualNorm(_ rows: Int, _ width: Int, _ threads: Int, _ y: UnsafeMutablePointer<Float>,
                                        residual: UnsafeMutablePointer<Float>, bias: Tensor, norm: LayerNormParameters) {
        let res = SharedPointer(residual), out = SharedPointer(y)
        rowwise(rows, width: width, threads: threads) { range in
            let offset = range.lowerBound * width
            fk_bias_residual_layernorm(out.base + offset, bias.pointer, res.base + offset, norm.gamma.pointer,
                                       norm.beta.pointer, range.count, width, norm.eps)
        }
    }
}
