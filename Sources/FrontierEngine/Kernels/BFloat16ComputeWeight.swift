import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear layer's weight rounded to bf16 and multiplied in bf16 with fp32 accumulation by
/// `fk_linear_bf16_dot` (`CKernels/bf16_dot.c`): vdpbf16ps does two multiply-adds per fp32 lane
/// where an fp32 FMA does one, so on CPUs with AVX512_BF16 the product runs up to twice as fast
/// as fp32. `HalfPrecisionWeight(format: .bf16)` rounds only the weights and computes in fp32;
/// this form also rounds each activation to bf16 (8 significant bits) before the product, which
/// is the accuracy it trades.
///
/// Only worth choosing where `isAvailable`: elsewhere the kernel runs its portable reference,
/// correct and far slower than fp32 (`Quantization` then keeps the storage-only form).
///
/// `@unchecked Sendable` because it is immutable after init: the packed pairs are written once,
/// in `init`, only read after, and freed in `deinit`; activation scratch belongs to each calling
/// thread. So one instance can serve concurrent forward passes.
public final class BFloat16ComputeWeight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// `fk_packed_size_bf16_pairs(out, in)` values in the pair layout.
    let packed: UnsafeMutablePointer<UInt16>
    private let count: Int

    /// Rounds `weight` (shape `[out, in]`, PyTorch's layout) to bf16 and packs it in pairs.
    public init(weight: Tensor) {
        precondition(weight.shape.count == 2 && weight.shape[0] > 0 && weight.shape[1] > 0,
                     "BFloat16ComputeWeight: weight must be a non-empty matrix, got shape \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        count = fk_packed_size_bf16_pairs(outFeatures, inFeatures)
        packed = CacheLineAllocation.allocate(UInt16.self, count: count, owner: "BFloat16ComputeWeight").pointer
        let (n, k, packed) = (outFeatures, inFeatures, packed)
        weight.withUnsafeBufferPointer { w in fk_pack_weights_bf16_pairs(w.baseAddress, n, k, packed) }
    }

    deinit { free(packed) }

    /// Whether this CPU multiplies in bf16 (AVX-512 with AVX512_BF16).
    public static var isAvailable: Bool { fk_cpu_has_avx512_bf16() != 0 }

    /// "avx512-bf16" or "generic": the kernel family this CPU runs.
    public static var isa: String { String(cString: fk_bf16_dot_isa()) }

    /// Bytes of packed weights (padded to whole 16-row panels and an even input width).
    public var bytes: Int { count * MemoryLayout<UInt16>.stride }

    /// `c[rows, out] = bf16(a)[rows, in] · bf16(W)ᵀ (+ bias) (→ GELU)` with the epilogue codes of
    /// `fk_linear_packed`, on the workspace's threads.
    public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, bias: UnsafePointer<Float>?,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Int32, workspace: Workspace) {
        precondition(rows >= 0 && lda >= inFeatures && ldc >= outFeatures,
                     "BFloat16ComputeWeight.apply: rows \(rows), lda \(lda), ldc \(ldc) for a \(outFeatures)×\(inFeatures) weight")
        precondition(epilogue == 0 || bias != nil, "BFloat16ComputeWeight.apply: epilogue \(epilogue) needs a bias")
        fk_linear_bf16_dot(workspace.pool, a, lda, packed, bias, c, ldc, rows, outFeatures, inFeatures, epilogue)
    }
}
