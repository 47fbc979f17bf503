/// Which kernel executes a `Linear`, reading which form of its weights.
///
/// An efficiency technique chooses the form; the `Linear` derives the form's weights from its
/// own when it is built, so the two cannot disagree. The raw value is the name results and
/// reports use.
public enum LinearForm: String, Sendable, Codable, CaseIterable {
    /// fp32 in 16-row panels for `fk_linear_packed` (or the `[out, in]` weight for OpenBLAS,
    /// when a pass asks for it).
    case dense
    /// Compressed rows for `fk_linear_sparse`: cost follows the non-zeros.
    case sparse
    /// Per-channel symmetric int8 for `fk_linear_int8`.
    case int8
    /// The int8 nonzeros of a pruned weight for `fk_linear_sparse_int8`: `int8`'s arithmetic at
    /// `sparse`'s cost.
    case sparseInt8 = "sparse-int8"
    /// IEEE half precision for `fk_linear_packed_f16`.
    case fp16
    /// bfloat16 weights for `fk_linear_packed_bf16`, multiplied in fp32.
    case bf16
    /// bfloat16 weights and activations multiplied in bf16 (fp32 accumulation) by
    /// `fk_linear_bf16_dot`: what `bf16` runs as on CPUs with AVX512_BF16.
    case bf16Compute = "bf16-compute"
}

/// The weights a form's kernel reads, derived from a `Linear`'s weight in its `init`; each case
/// holds an immutable object (or copy-on-write array), so a `Linear` copies by reference count
/// and never rebuilds one.
enum LinearKernel: Sendable {
    case dense(PackedWeights)
    /// The `[out, in]` fp32 weight itself, for OpenBLAS: what an inference-only dense layer on
    /// OpenBLAS keeps instead of panels it would never read.
    case denseRows(Tensor)
    case sparse(SparseWeight)
    case int8(QuantizedWeight)
    case sparseInt8(SparseQuantizedWeight)
    case half(HalfPrecisionWeight)
    case bf16Compute(BFloat16ComputeWeight)

    init(_ form: LinearForm, weight: Tensor) {
        switch form {
        case .dense: self = .dense(PackedWeights(weight: weight))
        case .sparse: self = .sparse(SparseWeight(weight: weight))
        case .int8: self = .int8(QuantizedWeight(weight: weight))
        case .sparseInt8: self = .sparseInt8(SparseQuantizedWeight(weight: weight))
        case .fp16: self = .half(HalfPrecisionWeight(weight: weight, format: .fp16))
        case .bf16: self = .half(HalfPrecisionWeight(weight: weight, format: .bf16))
        case .bf16Compute: self = .bf16Compute(BFloat16ComputeWeight(weight: weight))
        }
    }

    /// Bytes of weights this form holds, as allocated: panel padding, compressed rows with
    /// their indices, int8 values with scales and compensation terms.
    var bytes: Int {
        switch self {
        case let .dense(packed): return packed.bytes
        case let .denseRows(weight): return weight.count * MemoryLayout<Float>.stride
        case let .sparse(sparse): return sparse.bytes
        case let .int8(quantized): return quantized.bytes
        case let .sparseInt8(sparse): return sparse.bytes
        case let .half(half): return half.bytes
        case let .bf16Compute(weight): return weight.bytes
        }
    }
}

/// What a dense `Linear` multiplies by on one GEMM: the packed panels, or the row-major
/// `[out, in]` weight OpenBLAS reads.
enum DenseWeights {
    case panels(PackedWeights)
    case rows(Tensor)
}

/// What a `Linear` adds after the product: the epilogue codes of `fk_linear_packed`.
enum LinearEpilogue: Int32 {
    case none = 0
    case bias = 1
    case biasGelu = 2
}
