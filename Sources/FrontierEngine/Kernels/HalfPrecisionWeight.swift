import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear layer's weight stored as fp16 or bf16, multiplied in fp32 by
/// `fk_linear_packed_f16` / `fk_linear_packed_bf16` (`CKernels/half_gemm.c`).
///
/// Halves the weight memory (and the weight traffic that dominates small batches) at the cost
/// of rounding each weight once: fp16 keeps 11 significant bits in ±65504, bf16 keeps 8 bits in
/// fp32's range. Activations, accumulation, bias and GELU stay fp32, and the kernels widen each
/// weight group in registers, so speed is about that of the fp32 packed GEMM at large batch
/// and better at batch 1 (bench/kernels/INT8.md).
///
/// `@unchecked Sendable` because it is immutable after init: the packed 16-bit panels are
/// written once, in `init`, only read after (by `apply` and `weight(row:column:)`), and freed in
/// `deinit`; so one instance can serve concurrent forward passes.
public final class HalfPrecisionWeight: @unchecked Sendable {
    /// The 16-bit storage format.
    public enum Format: String, Sendable, CaseIterable {
        /// IEEE 754 binary16.
        case fp16
        /// bfloat16: the top half of an fp32.
        case bf16
    }

    public let outFeatures: Int
    public let inFeatures: Int
    public let format: Format
    /// `fk_packed_size_half(out, in)` values in `fk_pack_weights`'s panel layout.
    let packed: UnsafeMutablePointer<UInt16>
    private let count: Int

    /// Rounds `weight` (shape `[out, in]`, PyTorch's layout) to `format` and packs it.
    public init(weight: Tensor, format: Format) {
        precondition(weight.shape.count == 2 && weight.shape[0] > 0 && weight.shape[1] > 0,
                     "HalfPrecisionWeight: weight must be a non-empty matrix, got shape \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.format = format
        count = fk_packed_size_half(outFeatures, inFeatures)
        packed = CacheLineAllocation.allocate(UInt16.self, count: count, owner: "HalfPrecisionWeight").pointer
        let (n, k, packed) = (outFeatures, inFeatures, packed)
        weight.withUnsafeBufferPointer { w in
            switch format {
            case .fp16: fk_pack_weights_f16(w.baseAddress, n, k, packed)
            case .bf16: fk_pack_weights_bf16(w.baseAddress, n, k, packed)
            }
        }
    }

    deinit { free(packed) }

    /// "avx512", "avx2" or "generic": the kernel family this CPU runs.
    public static var isa: String { String(cString: fk_half_gemm_isa()) }

    /// Bytes of packed weights (padded to whole 16-row panels).
    public var bytes: Int { count * MemoryLayout<UInt16>.stride }

    /// The stored weight `W[row, column]` widened back to fp32 (exact), for tests and reports.
    public func weight(row: Int, column: Int) -> Float {
        precondition(row >= 0 && row < outFeatures && column >= 0 && column < inFeatures,
                     "HalfPrecisionWeight: (\(row), \(column)) out of range")
        let bits = packed[(row / 16) * 16 * inFeatures + column * 16 + row % 16]
        return format == .fp16 ? fk_f16_to_float(bits) : fk_bf16_to_float(bits)
    }

    /// `c[rows, out] = a[rows, in] · Wᵀ (+ bias) (→ GELU)` with the epilogue codes of
    /// `fk_linear_packed` (0 none, 1 bias, 2 bias + exact GELU), on the workspace's threads.
    public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace) {
        precondition(rows >= 0 && lda >= inFeatures && ldc >= outFeatures,
                     "HalfPrecisionWeight.apply: rows \(rows), lda \(lda), ldc \(ldc) for a \(outFeatures)×\(inFeatures) weight")
        precondition(epilogue == 0 || bias != nil, "HalfPrecisionWeight.apply: epilogue \(epilogue) needs a bias")
        switch format {
        case .fp16:
            fk_linear_packed_f16(workspace.pool, a, lda, packed, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
        case .bf16:
            fk_linear_packed_bf16(workspace.pool, a, lda, packed, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
        }
    }
}
