import CKernels

/// A dense layer `y = x Wᵀ + b` with W stored as Hugging Face stores it, `[out, in]`, and the
/// form a kernel executes it in.
///
/// Keeping PyTorch's layout means masks, pruning and (later) gradients index weights exactly as
/// the papers' code does. The kernel reads its own form of the same weights (panels, compressed
/// rows, int8, 16-bit), derived here in `init` from `weight`; both are immutable, and changing
/// either means building a new `Linear` (`replacing(weight:bias:)`, `executing(as:)`), so a
/// kernel can never run on stale weights and there is nothing to rebuild by hand. Only the
/// form's weights are derived: a sparse, int8 or 16-bit layer holds no fp32 panels (that memory
/// is what those forms save), while the `[out, in]` weight stays for masks, pruning and a later
/// backward pass.
public struct Linear: Sendable {
    public let weight: Tensor  // (out, in)
    public let bias: Tensor    // (out)
    public let form: LinearForm
    let kernel: LinearKernel

    public init(weight: Tensor, bias: Tensor, form: LinearForm = .dense) {
        precondition(weight.shape.count == 2 && bias.shape == [weight.shape[0]], "Linear: weight \(weight.shape) and bias \(bias.shape) disagree")
        self.weight = weight
        self.bias = bias
        self.form = form
        kernel = LinearKernel(form, weight: weight)
    }

    /// The same layer with new parameters, in the same form (derived again from them).
    public func replacing(weight: Tensor, bias: Tensor? = nil) -> Linear {
        Linear(weight: weight, bias: bias ?? self.bias, form: form)
    }

    /// The same parameters executed by another kernel.
    public func executing(as form: LinearForm) -> Linear {
        form == self.form ? self : Linear(weight: weight, bias: bias, form: form)
    }

    /// The panels of the dense form (nil in any other): the [CLS]-only last layer multiplies
    /// row slices of them.
    var packed: PackedWeights? {
        if case let .dense(packed) = kernel { return packed }
        return nil
    }

    /// Multiply-adds per input row as this layer executes (fewer for a sparse kernel).
    public var multiplyAddsPerRow: Int {
        if case let .sparse(sparse) = kernel { return sparse.nonZeros }
        return outFeatures * inFeatures
    }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }
    public var parameterCount: Int { weight.count + bias.count }

    /// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (→ GELU)` on this layer's kernel; a dense
    /// layer runs the GEMM the pass selected. Returns FLOPs.
    @discardableResult
    func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
               epilogue: LinearEpilogue, workspace ws: Workspace, gemm: GemmBackend) -> Double {
        let n = outFeatures, k = inFeatures, code = epilogue.rawValue
        bias.withUnsafeBufferPointer { biasValues in
            let b = biasValues.baseAddress
            switch kernel {
            case let .sparse(sparse):
                sparse.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .int8(quantized):
                quantized.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .half(half):
                half.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .dense(packed):
                switch gemm {
                case .packed:
                    fk_linear_packed(ws.pool, a, lda, packed.pointer, b, c, ldc, rows, n, k, code)
                case .openblas:
                    weight.withUnsafeBufferPointer { w in
                        Blas.linear(a, rows: rows, inFeatures: k, lda: lda, weight: w.baseAddress!, outFeatures: n, ldw: k,
                                    into: c, ldc: ldc)
                    }
                    for row in 0..<rows {
                        switch epilogue {
                        case .none: break
                        case .bias: fk_add_bias(c + row * ldc, b, 1, n)
                        case .biasGelu: fk_bias_gelu(c + row * ldc, b, 1, n)
                        }
                    }
                }
            }
        }
        return 2 * Double(rows) * Double(multiplyAddsPerRow)
    }
}
