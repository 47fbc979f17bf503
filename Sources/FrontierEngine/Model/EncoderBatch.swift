import Foundation

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
    /// Floating-point operations this pass actually performed (2 per multiply-add in GEMMs and
    /// attention), counted as it ran: pruned shapes, sparse kernels, dropped tokens and early
    /// exits included.
    public var flops: Double = 0
    /// With early exit: the number of layers each sequence went through before its prediction.
    public var exitLayers: [Int] = []

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

    /// Per layer, per head: false removes the head's output from the attention context (the
    /// "masking" that head pruning is checked against and that importance scores use).
    public var headMask: [[Bool]]?
    public var tokenPruning: TokenPruning?
    public var earlyExit: EarlyExit?

    public init(collectHiddenStates: Bool = false, gemm: GemmBackend = .packed, lastLayerClsOnly: Bool = true,
                headMask: [[Bool]]? = nil, tokenPruning: TokenPruning? = nil, earlyExit: EarlyExit? = nil) {
        self.collectHiddenStates = collectHiddenStates
        self.gemm = gemm
        self.lastLayerClsOnly = lastLayerClsOnly
        self.headMask = headMask
        self.tokenPruning = tokenPruning
        self.earlyExit = earlyExit
    }
}

/// Token pruning at run time: before layer `fromLayer`, each sequence keeps the fraction
/// `keep` of its tokens that received the most attention in the layer before (summed over
/// heads and queries); `[CLS]` and the `alwaysKeep` ids (`[SEP]`) are never dropped. Later
/// layers then run over the shorter packed sequences.
public struct TokenPruning: Sendable, Equatable {
    public var fromLayer: Int
    public var keep: Double
    public var alwaysKeep: Set<Int32>

    public init(fromLayer: Int, keep: Double, alwaysKeep: Set<Int32>) {
        self.fromLayer = fromLayer
        self.keep = keep
        self.alwaysKeep = alwaysKeep
    }
}

/// Early exit at run time: after layer `l` (for `l` with a head), a sequence whose exit-head
/// prediction has entropy below `entropyThreshold` (nats) leaves the batch with that
/// prediction; the rest go on. The last layer always answers with the model's own head.
public struct EarlyExit: Sendable {
    /// `heads[l]` reads the `[CLS]` row after layer `l` (0-based); nil: no exit there.
    public var heads: [ExitHead?]
    public var entropyThreshold: Double

    public init(heads: [ExitHead?], entropyThreshold: Double) {
        self.heads = heads
        self.entropyThreshold = entropyThreshold
    }
}

/// A linear classifier on one layer's `[CLS]` hidden state.
public struct ExitHead: Sendable {
    public var weight: [Float]   // (classes, hidden) row-major
    public var bias: [Float]     // (classes)

    public init(weight: [Float], bias: [Float]) {
        self.weight = weight
        self.bias = bias
    }

    public var classes: Int { bias.count }

    public func logits(_ x: UnsafePointer<Float>, hidden: Int) -> [Float] {
        (0..<classes).map { c in
            var sum = bias[c]
            weight.withUnsafeBufferPointer { w in
                let row = w.baseAddress! + c * hidden
                for i in 0..<hidden { sum += row[i] * x[i] }
            }
            return sum
        }
    }

    /// Entropy of the softmax of `logits`, in nats.
    public static func entropy(_ logits: [Float]) -> Double {
        let top = Double(logits.max() ?? 0)
        let exps = logits.map { Foundation.exp(Double($0) - top) }
        let total = exps.reduce(0, +)
        return -exps.reduce(0) { sum, e in
            let p = e / total
            return p > 0 ? sum + p * Foundation.log(p) : sum
        }
    }
}
