import CKernels

/// A pruned `[out, in]` weight kept as compressed rows, multiplied by `fk_linear_sparse`
/// (`CKernels/sparse.c`).
///
/// Unstructured magnitude pruning leaves no zero blocks for a dense GEMM to skip, so the saving
/// only becomes time with a kernel whose cost follows the nonzeros: this one computes cᵀ = W·aᵀ
/// over transposed tiles of up to 64 activation rows, one broadcast and a few FMAs per nonzero.
/// It beats `fk_linear_packed` from roughly half the weights pruned at batch sizes of thousands
/// of tokens (see `bench/kernels/README.md` for the measured crossover and speedups).
///
/// `@unchecked Sendable` because it is immutable after init: the compressed rows behind `handle`
/// are built once, in `init` (`fk_sparse_create`), only read after (`fk_linear_sparse` and the
/// accessors take them `const`), and destroyed in `deinit`; the kernel keeps its scratch per
/// thread. So one `SparseWeight` may serve several workspaces at once.
public final class SparseWeight: @unchecked Sendable {
    private let handle: OpaquePointer
    public let outFeatures: Int
    public let inFeatures: Int

    /// Compresses `weight` (shape `[out, in]`, row-major); exact zeros (±0) are dropped.
    public init(weight: Tensor) {
        precondition(weight.shape.count == 2, "SparseWeight: weight must be [out, in], got \(weight.shape)")
        let n = weight.shape[0], k = weight.shape[1]
        precondition(k <= 65536, "SparseWeight: in-features \(k) exceed the 16-bit column index")
        guard let handle = weight.withUnsafeBufferPointer({ fk_sparse_create($0.baseAddress, n, k) }) else {
            fatalError("SparseWeight: out of memory compressing a \(n)×\(k) weight")
        }
        self.handle = handle
        outFeatures = n
        inFeatures = k
    }

    deinit { fk_sparse_destroy(handle) }

    /// Stored (nonzero) weights.
    public var nonZeros: Int { fk_sparse_nnz(handle) }
    /// Fraction of the weights kept: nonZeros / (out · in); 0 for an empty shape.
    public var density: Double {
        let total = outFeatures * inFeatures
        return total == 0 ? 0 : Double(nonZeros) / Double(total)
    }
    /// Bytes held (indices, values and row pointers), for memory reports.
    public var bytes: Int { fk_sparse_bytes(handle) }

    /// "avx512", "avx2" or "generic": the kernel family this CPU runs.
    public static var isa: String { String(cString: fk_sparse_isa()) }

    /// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (then GELU)` on the workspace's threads, exactly
    /// what `fk_linear_packed` computes from the same (masked) weights.
    /// - Parameters:
    ///   - lda, ldc: row strides of `a` and `c`, in floats.
    ///   - epilogue: 0 none, 1 bias, 2 bias then exact-erf GELU; ignored (none) without a bias.
    public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace) {
        precondition(lda >= inFeatures && ldc >= outFeatures, "SparseWeight.apply: strides \(lda), \(ldc) below \(inFeatures), \(outFeatures)")
        fk_linear_sparse(workspace.pool, a, lda, handle, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
    }

    /// `c = second(GELU(first(a) + firstBias)) + secondBias` in one call (`fk_ffn_sparse`); see
    /// `Linear.feedForward`. `hidden` (`rows × ldh`) may be overwritten.
    static func feedForward(_ first: SparseWeight, bias firstBias: UnsafePointer<Float>, _ second: SparseWeight,
                            bias secondBias: UnsafePointer<Float>, _ a: UnsafePointer<Float>, rows: Int, lda: Int,
                            hidden: UnsafeMutablePointer<Float>, ldh: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                            workspace: Workspace) {
        precondition(second.inFeatures == first.outFeatures && lda >= first.inFeatures && ldh >= first.outFeatures && ldc >= second.outFeatures,
                     "SparseWeight.feedForward: shapes [\(first.outFeatures), \(first.inFeatures)] and [\(second.outFeatures), \(second.inFeatures)] with strides \(lda), \(ldh), \(ldc)")
        fk_ffn_sparse(workspace.pool, a, lda, first.handle, firstBias, second.handle, secondBias, hidden, ldh, c, ldc, rows)
    }
}
