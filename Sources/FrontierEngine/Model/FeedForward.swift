import CKernels

extension Linear {
    /// The feed-forward block `down(GELU(up(a)))` (its output with `down`'s bias, before the
    /// residual), over `rows` rows; `hidden` (`rows × ldh`, `ldh ≥ up.outFeatures`) holds the
    /// intermediate where one is made. Returns FLOPs.
    ///
    /// Why one call: when both layers run on the sparse kernel (or both on the sparse int8 one),
    /// the first product's sums come out feature-major, which is the transposed layout the
    /// second product reads. The fused kernels (`fk_ffn_sparse`, `fk_ffn_sparse_int8`) keep the
    /// intermediate in that layout per row tile and skip what two calls do to the widest matrix
    /// of the layer: transpose it out row-major, store it, load it and transpose it back (and,
    /// for int8, find its row maxima and quantize it row by row). The values are the two calls'
    /// exactly; only the time differs. Any other pair of forms runs as the two calls.
    static func feedForward(up: Linear, down: Linear, _ a: UnsafePointer<Float>, rows: Int, lda: Int,
                            hidden: UnsafeMutablePointer<Float>, ldh: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                            workspace ws: Workspace, gemm: GemmBackend) -> Double {
        let fusable = up.outFeatures == down.inFeatures && up.outFeatures > 0 && up.inFeatures > 0 && down.outFeatures > 0
        switch (up.kernel, down.kernel) {
        case let (.sparse(first), .sparse(second)) where fusable:
            up.bias.withUnsafeBufferPointer { b1 in
                down.bias.withUnsafeBufferPointer { b2 in
                    SparseWeight.feedForward(first, bias: b1.baseAddress!, second, bias: b2.baseAddress!, a, rows: rows, lda: lda,
                                             hidden: hidden, ldh: ldh, into: c, ldc: ldc, workspace: ws)
                }
            }
        case let (.sparseInt8(first), .sparseInt8(second)) where fusable:
            up.bias.withUnsafeBufferPointer { b1 in
                down.bias.withUnsafeBufferPointer { b2 in
                    SparseQuantizedWeight.feedForward(first, bias: b1.baseAddress!, second, bias: b2.baseAddress!, a, rows: rows,
                                                      lda: lda, hidden: hidden, ldh: ldh, into: c, ldc: ldc, workspace: ws)
                }
            }
        default:
            up.apply(a, rows: rows, lda: lda, into: hidden, ldc: ldh, epilogue: .biasGelu, workspace: ws, gemm: gemm)
            down.apply(hidden, rows: rows, lda: ldh, into: c, ldc: ldc, epilogue: .bias, workspace: ws, gemm: gemm)
        }
        return 2 * Double(rows) * Double(up.multiplyAddsPerRow + down.multiplyAddsPerRow)
    }
}
