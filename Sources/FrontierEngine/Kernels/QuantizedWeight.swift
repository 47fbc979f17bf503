import CKernels

/// A linear layer's weight quantized to int8 for `fk_linear_int8` (`CKernels/int8.c`).
///
/// Weights are quantized once, symmetrically per output channel (`scale_j = max|W_j| / 127`),
/// and packed in the order the VNNI / AVX2 microkernels stream; activations are quantized per
/// token at every call (no calibration), the products accumulate exactly in int32 and are
/// dequantized with `scale_a[r] · scale_w[j]` before bias and GELU. The packed form is a
/// quarter of the fp32 weight's size, and on CPUs with AVX-512 VNNI the multiply is several
/// times faster than the fp32 packed GEMM (bench/kernels/INT8.md).
///
/// `@unchecked Sendable` because it is immutable after init: the C object behind `handle` is
/// built once, in `init` (`fk_qweight_create`), only read after (`fk_linear_int8` and the
/// accessors take it `const`), and destroyed in `deinit`; the activation scratch belongs to each
/// calling thread, not to the weight. So one instance can serve concurrent forward passes.
public final class QuantizedWeight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    private let handle: OpaquePointer

    /// Quantizes and packs `weight`, shape `[out, in]` (PyTorch's layout).
    public init(weight: Tensor) {
        precondition(weight.shape.count == 2 && weight.shape[0] > 0 && weight.shape[1] > 0,
                     "QuantizedWeight: weight must be a non-empty matrix, got shape \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        let (n, k) = (outFeatures, inFeatures)
        guard let handle = weight.withUnsafeBufferPointer({ fk_qweight_create($0.baseAddress, n, k) }) else {
            fatalError("QuantizedWeight: out of memory packing a \(outFeatures)×\(inFeatures) weight")
        }
        self.handle = handle
    }

    deinit { fk_qweight_destroy(handle) }

    /// "avx512-vnni", "avx2" or "generic": the kernel family this CPU runs.
    public static var isa: String { String(cString: fk_int8_isa()) }

    /// Bytes held: int8 panels plus per-channel scales and compensation terms.
    public var bytes: Int { fk_qweight_bytes(handle) }

    /// The per-output-channel scales, `max_k |W[j, k]| / 127`.
    public var scales: [Float] {
        Array(UnsafeBufferPointer(start: fk_qweight_scales(handle), count: outFeatures))
    }

    /// The quantized row `j` of the weight (`inFeatures` values in -127...127), for tests.
    func quantizedRow(_ j: Int) -> [Int8] {
        precondition(j >= 0 && j < outFeatures, "QuantizedWeight: row \(j) out of range")
        var row = [Int8](repeating: 0, count: inFeatures)
        row.withUnsafeMutableBufferPointer { fk_qweight_row(handle, j, $0.baseAddress) }
        return row
    }

    /// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (→ GELU)` with the epilogue codes of
    /// `fk_linear_packed` (0 none, 1 bias, 2 bias + exact GELU), on the workspace's threads.
    public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace) {
        precondition(rows >= 0 && lda >= inFeatures && ldc >= outFeatures,
                     "QuantizedWeight.apply: rows \(rows), lda \(lda), ldc \(ldc) for a \(outFeatures)×\(inFeatures) weight")
        precondition(epilogue == 0 || bias != nil, "QuantizedWeight.apply: epilogue \(epilogue) needs a bias")
        fk_linear_int8(workspace.pool, a, lda, handle, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
    }
}
