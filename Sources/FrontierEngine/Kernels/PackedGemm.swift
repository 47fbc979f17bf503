import CKernels

/// Swift face of the packed microkernels in `CKernels/gemm.c`.
public enum PackedGemm {
    /// "avx512", "avx2" or "generic": the microkernel family this CPU runs.
    public static var isa: String { String(cString: fk_gemm_isa()) }

    /// `c = a · Wᵀ + b` for a dense `Linear`, on the workspace's threads.
    public static func linear(_ layer: Linear, _ a: UnsafePointer<Float>, rows: Int, lda: Int,
                              into c: UnsafeMutablePointer<Float>, ldc: Int, workspace: Workspace) {
        precondition(layer.form == .dense, "PackedGemm.linear: the layer runs in the \(layer.form) form")
        layer.apply(a, rows: rows, lda: lda, into: c, ldc: ldc, epilogue: .bias, workspace: workspace, gemm: .packed)
    }
}
