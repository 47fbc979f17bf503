/// A batch of token sequences packed end to end, without padding.
///
/// Hugging Face pads every sequence to the longest in the batch and masks the padding out of
/// attention; the dense layers still pay for the padding. Packing gives the same result (every
/// sequence only attends to its own tokens) while each GEMM runs over exactly the real tokens,
/// and it is the layout token pruning and early exit need: sequences change length or leave the
/// batch between layers.
public struct EncoderBatch: Sendable, Equatable {
    public private(set) var ids: [Int32] = []
    public private(set) var typeIds: [Int32] = []
    /// Sequence `i` occupies rows `offsets[i] ..< offsets[i + 1]`.
    public private(set) var offsets: [Int] = [0]

    public init() {}

    public init(_ encodings: [Encoding]) {
        for encoding in encodings { append(ids: encoding.ids, typeIds: encoding.typeIds) }
    }

    /// Appends one sequence; `typeIds` defaults to all zeros (a single segment).
    public mutating func append(ids sequence: [Int32], typeIds types: [Int32]? = nil) {
        precondition(types == nil || types!.count == sequence.count, "typeIds must match ids in length")
        ids.append(contentsOf: sequence)
        typeIds.append(contentsOf: types ?? [Int32](repeating: 0, count: sequence.count))
        offsets.append(ids.count)
    }

    public var count: Int { offsets.count - 1 }
    public var tokenCount: Int { ids.count }
    public var isEmpty: Bool { count == 0 }
    public func length(_ index: Int) -> Int { offsets[index + 1] - offsets[index] }
    public var lengths: [Int] { (0..<count).map(length) }
    public var maxLength: Int { lengths.max() ?? 0 }
}

/// What a forward pass returns, one entry per sequence of the batch.
public struct EncoderOutput: Sendable {
    /// Classification / regression logits, `(labels)` per sequence; empty for other heads.
    public var logits: [[Float]] = []
    /// Span logits per token of each sequence (question answering); empty for other heads.
    public var startLogits: [[Float]] = []
    public var endLogits: [[Float]] = []
    /// The pooled `[CLS]` representation (BERT pooler, or the raw `[CLS]` row without one).
    public var pooled: [[Float]] = []
    /// Packed `(tokens, hidden)` states after the embeddings (index 0) and after each layer,
    /// when `ForwardOptions.collectHiddenStates` is set; for locating a mismatch layer by layer.
    public var hiddenStates: [[Float]] = []

    public init() {}
}

/// Which GEMM multiplies activations by weights.
public enum GemmBackend: String, Sendable, CaseIterable {
    /// The engine's microkernels over weights packed at load (default: no per-call repacking,
    /// bias and GELU fused into the output tiles).
    case packed
    /// OpenBLAS `cblas_sgemm`, the reference path and the yardstick for the packed kernels.
    case openblas
}

public struct ForwardOptions: Sendable {
    public var collectHiddenStates: Bool
    public var gemm: GemmBackend
    /// For heads that read only [CLS], compute the last layer for [CLS] rows only (keys and
    /// values still over every token). Same outputs, about 1/7 fewer FLOPs for a 6-layer model.
    public var lastLayerClsOnly: Bool

    public init(collectHiddenStates: Bool = false, gemm: GemmBackend = .packed, lastLayerClsOnly: Bool = true) {
        self.collectHiddenStates = collectHiddenStates
        self.gemm = gemm
        self.lastLayerClsOnly = lastLayerClsOnly
    }
}
