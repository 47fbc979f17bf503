import CKernels

/// A pruned `[out, in]` weight kept as its int8 nonzeros with one scale per output channel,
/// multiplied by `fk_linear_sparse_int8` (`CKernels/sparse_int8.c`) against activations
/// quantized per row: the `int8` form's arithmetic at the `sparse` form's cost.
///
/// Pruning and quantization compose: pruning removes multiplies, int8 makes each remaining one
/// four products of a VNNI instruction and its weight a quarter of the bytes. The quantization is
/// `QuantizedWeight`'s rule exactly (scales from the masked weights), so a pruned model gives the
/// same integers on either int8 kernel and only the cost differs.
///
/// `@unchecked Sendable` for the reason `SparseWeight` is: built once in `init`, only read after,
/// freed in `deinit`; the kernel keeps its scratch per thread.
public final class SparseQuantizedWeight: @unchecked Sendable {
    private let handle: OpaquePointer
    public let outFeatures: Int
    public let inFeatures: Int

    /// Quantizes `weight` (shape `[out, in]`, row-major) per output channel and keeps the int8
    /// values that are not zero.
    public init(weight: Tensor) {
        precondition(weight.shape.count == 2, "SparseQuantizedWeight: weight must be [out, in], got \(weight.shape)")
        let n = weight.shape[0], k = weight.shape[1]
        precondition(n > 0 && k > 0, "SparseQuantizedWeight: empty weight \(weight.shape)")
        precondition(k <= 65536, "SparseQuantizedWeight: in-features \(k) exceed the 16-bit column index")
        guard let handle = weight.withUnsafeBufferPointer({ fk_sparse_q_create($0.baseAddress, n, k) }) else {
            fatalError("SparseQuantizedWeight: out of memory compressing a \(n)×\(k) weight")
        }
        self.handle = handle
        outFeatures = n
        inFeatures = k
    }

    deinit { fk_sparse_q_destroy(handle) }

    /// Stored (nonzero after quantization) weights.
    public var nonZeros: Int { fk_sparse_q_nnz(handle) }
    /// Bytes held (indices, int8 values, scales, compensation and segment pointers).
    public var bytes: Int { fk_sparse_q_bytes(handle) }
    /// The per-output-channel scales, `max |W[j, :]| / 127`.
    public var scales: [Float] { Array(UnsafeBufferPointer(start: fk_sparse_q_scales(handle), count: outFeatures)) }

    /// "avx512-vnni" or "generic": the kernel family this CPU runs.
    public static var isa: String { String(cString: fk_sparse_int8_isa()) }
    /// Whether this CPU runs the vector kernel; without it the portable one is slower than the
    /// fp32 sparse kernel, so the engine only picks this form where asked to.
    public static var isAccelerated: Bool { isa == "avx512-vnni" }

    /// `c[rows, out] = dequant(quant(a) · quant(W)ᵀ) (+ bias) (then GELU)` on the workspace's
    /// threads; the epilogue codes and strides of `SparseWeight.apply`.
    public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace) {
        precondition(lda >= inFeatures && ldc >= outFeatures, "SparseQuantizedWeight.apply: strides \(lda), \(ldc) below \(inFeatures), \(outFeatures)")
        fk_linear_sparse_int8(workspace.pool, a, lda, handle, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
    }

    /// `c = second(GELU(first(a) + firstBias)) + secondBias` in one call (`fk_ffn_sparse_int8`); see
    /// `Linear.feedForward`. `hidden` (`rows × ldh`) may be overwritten.
    static func feedForward(_ first: SparseQuantizedWeight, bias firstBias: UnsafePointer<Float>, _ second: SparseQuantizedWeight,
                            bias secondBias: UnsafePointer<Float>, _ a: UnsafePointer<Float>, rows: Int, lda: Int,
                            hidden: UnsafeMutablePointer<Float>, ldh: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                            workspace: Workspace) {
        precondition(second.inFeatures == first.outFeatures && lda >= first.inFeatures && ldh >= first.outFeatures && ldc >= second.outFeatures,
                     "SparseQuantizedWeight.feedForward: shapes [\(first.outFeatures), \(first.inFeatures)] and [\(second.outFeatures), \(second.inFeatures)] with strides \(lda), \(ldh), \(ldc)")
        fk_ffn_sparse_int8(workspace.pool, a, lda, first.handle, firstBias, second.handle, secondBias, hidden, ldh, c, ldc, rows)
    }
}
