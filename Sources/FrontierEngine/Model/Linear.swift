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
/// is what those forms save), while the `[out, in]` master weight stays for masks, pruning and a
/// later backward pass.
///
/// Once the techniques are done, `inferenceOnly(gemm:)` drops the master weight too (and the
/// panels, on OpenBLAS, which reads the row-major weight instead), so a trial holds only what
/// its configuration executes. `weight` is therefore `throws`: every reader must say `try`, and
/// an inference-only layer answers `MasterWeightUnavailable` instead of a weight it no longer has.
public struct Linear: Sendable {
    public let bias: Tensor    // (out)
    public let form: LinearForm
    public let outFeatures: Int
    public let inFeatures: Int
    let kernel: LinearKernel
    /// The `[out, in]` fp32 weight; nil once the layer is inference-only.
    private let master: Tensor?

    public init(weight: Tensor, bias: Tensor, form: LinearForm = .dense) {
        precondition(weight.shape.count == 2 && bias.shape == [weight.shape[0]], "Linear: weight \(weight.shape) and bias \(bias.shape) disagree")
        self.master = weight
        self.bias = bias
        self.form = form
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        kernel = LinearKernel(form, weight: weight)
    }

    /// An inference-only layer: `kernel` and the bias, no master weight.
    private init(inferenceOnly kernel: LinearKernel, of layer: Linear) {
        master = nil
        bias = layer.bias
        form = layer.form
        outFeatures = layer.outFeatures
        inFeatures = layer.inFeatures
        self.kernel = kernel
    }

    /// The fp32 master weight, `[out, in]`. Throws `MasterWeightUnavailable` on an
    /// inference-only layer, which no longer holds it.
    public var weight: Tensor {
        get throws {
            guard let master else { throw unavailable("read its master weight") }
            return master
        }
    }

    /// False once `inferenceOnly(gemm:)` dropped the master weight.
    public var holdsMasterWeight: Bool { master != nil }

    /// The same layer with new parameters, in the same form (derived again from them). Reads
    /// nothing of the old weight, so an inference-only layer may be replaced too; the result
    /// holds its new master weight.
    public func replacing(weight: Tensor, bias: Tensor? = nil) -> Linear {
        Linear(weight: weight, bias: bias ?? self.bias, form: form)
    }

    /// The same parameters executed by another kernel, derived from the master weight (so an
    /// inference-only layer can only stay in its own form).
    public func executing(as form: LinearForm) throws -> Linear {
        guard form != self.form else { return self }
        guard let master else { throw unavailable("execute as \(form.rawValue)") }
        return Linear(weight: master, bias: bias, form: form)
    }

    /// The layer with only what its kernel reads on `gemm`: the panels of a dense layer on the
    /// packed GEMM, its `[out, in]` weight on OpenBLAS (no panels), the compressed rows, int8
    /// weights and scales, or 16-bit panels of the other forms; the master weight is dropped.
    /// Nothing is computed again, so the forward pass stays bit for bit what it was.
    ///
    /// Throws `MasterWeightUnavailable` when the layer is already inference-only for the other
    /// GEMM (its panels or rows are gone and there is no master weight to derive them from).
    public func inferenceOnly(gemm: GemmBackend) throws -> Linear {
        guard form == .dense else {
            return master == nil ? self : Linear(inferenceOnly: kernel, of: self)
        }
        switch denseWeights(for: gemm) {
        case let .panels(packed)?: return Linear(inferenceOnly: .dense(packed), of: self)
        case let .rows(weight)?: return Linear(inferenceOnly: .denseRows(weight), of: self)
        case nil: throw unavailable("run on the \(gemm.rawValue) GEMM")
        }
    }

    /// What a dense layer multiplies by on `gemm`; nil for the other forms, and for a layer made
    /// inference-only for the other GEMM.
    func denseWeights(for gemm: GemmBackend) -> DenseWeights? {
        switch (kernel, gemm) {
        case let (.dense(packed), .packed): return .panels(packed)
        case (.dense, .openblas): return master.map(DenseWeights.rows)
        case let (.denseRows(weight), .openblas): return .rows(weight)
        case (.denseRows, .packed), (.sparse, _), (.int8, _), (.sparseInt8, _), (.half, _), (.bf16Compute, _): return nil
        }
    }

    /// Whether this layer holds what a pass on `gemm` reads (only an inference-only dense layer
    /// converted for the other GEMM does not).
    public func executes(on gemm: GemmBackend) -> Bool {
        form != .dense || denseWeights(for: gemm) != nil
    }

    /// The panels of the dense form (nil in any other, and on an inference-only OpenBLAS layer).
    var packed: PackedWeights? {
        if case let .dense(packed) = kernel { return packed }
        return nil
    }

    /// Bytes of weights held (the master weight while kept, plus the kernel's form) and of the
    /// bias, as allocated.
    public var heldBytes: (weights: Int, bias: Int) {
        ((master?.count ?? 0) * MemoryLayout<Float>.stride + kernel.bytes, bias.count * MemoryLayout<Float>.stride)
    }

    /// Multiply-adds per input row as this layer executes (fewer for a sparse kernel).
    public var multiplyAddsPerRow: Int {
        switch kernel {
        case let .sparse(sparse): return sparse.nonZeros
        case let .sparseInt8(sparse): return sparse.nonZeros
        default: return outFeatures * inFeatures
        }
    }

    public var parameterCount: Int { outFeatures * inFeatures + bias.count }

    private func unavailable(_ purpose: String) -> MasterWeightUnavailable {
        MasterWeightUnavailable(outFeatures: outFeatures, inFeatures: inFeatures, form: form, purpose: purpose)
    }

    /// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (→ GELU)` on this layer's kernel; a dense
    /// layer runs the GEMM the pass selected. Returns FLOPs.
    @discardableResult
    func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
               epilogue: LinearEpilogue, workspace ws: Workspace, gemm: GemmBackend) -> Double {
        let n = outFeatures, k = inFeatures, code = epilogue.rawValue
        // A layer shrunk to nothing (every head of a block removed, a zero-width feed-forward):
        // no output columns, or outputs that are the bias alone. Every kernel is spared the
        // empty operand (BLAS refuses a leading dimension of 0).
        if n == 0 { return 0 }
        if k == 0 {
            bias.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    let y = c + row * ldc
                    y.update(repeating: 0, count: n)
                    switch epilogue {
                    case .none: break
                    case .bias: fk_add_bias(y, b.baseAddress, 1, n)
                    case .biasGelu: fk_bias_gelu(y, b.baseAddress, 1, n)
                    }
                }
            }
            return 0
        }
        bias.withUnsafeBufferPointer { biasValues in
            let b = biasValues.baseAddress
            switch kernel {
            case let .sparse(sparse):
                sparse.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .int8(quantized):
                quantized.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .sparseInt8(sparse):
                sparse.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .half(half):
                half.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case let .bf16Compute(weight):
                weight.apply(a, rows: rows, lda: lda, bias: b, into: c, ldc: ldc, epilogue: code, workspace: ws)
            case .dense, .denseRows:
                switch denseWeights(for: gemm) {
                case let .panels(packed)?:
                    fk_linear_packed(ws.pool, a, lda, packed.pointer, b, c, ldc, rows, n, k, code)
                case let .rows(weight)?:
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
                case nil:
                    preconditionFailure("Linear: this inference-only \(n)×\(k) layer holds no weights for the \(gemm.rawValue) GEMM (EncoderModel.validate rejects such a pass)")
                }
            }
        }
        return 2 * Double(rows) * Double(multiplyAddsPerRow)
    }
}
