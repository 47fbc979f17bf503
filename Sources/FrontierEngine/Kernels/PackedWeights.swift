import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear layer's fp32 weight in `fk_pack_weights`'s 16-row panel layout, the form
/// `fk_linear_packed` streams (`CKernels/gemm.c`).
///
/// The dense kernel's form of a `Linear`, derived from its `[out, in]` weight when the layer is
/// built. 64-byte aligned so that every panel row starts on a cache line.
///
/// `@unchecked Sendable` because it is immutable after init: the panels are written once, in
/// `init`, only read after (through an `UnsafePointer`), and freed in `deinit`; so any number
/// of forward passes on any threads may read one at once.
public final class PackedWeights: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// `fk_packed_size(out, in)` floats: ceil(out / 16) panels of 16 rows × `in`.
    public let pointer: UnsafePointer<Float>
    private let count: Int

    /// Packs `weight`, shape `[out, in]` (PyTorch's layout).
    public init(weight: Tensor) {
        precondition(weight.shape.count == 2, "PackedWeights: weight must be [out, in], got \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        count = fk_packed_size(outFeatures, inFeatures)
        let (panels, bytes) = CacheLineAllocation.allocate(Float.self, count: count, owner: "PackedWeights")
        memset(panels, 0, bytes)
        let (n, k) = (outFeatures, inFeatures)
        weight.withUnsafeBufferPointer { fk_pack_weights($0.baseAddress, n, k, panels) }
        pointer = UnsafePointer(panels)
    }

    deinit { free(UnsafeMutablePointer(mutating: pointer)) }

    /// Bytes of packed weights (padded to whole 16-row panels).
    public var bytes: Int { count * MemoryLayout<Float>.stride }
}
