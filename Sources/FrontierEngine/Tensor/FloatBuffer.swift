#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scratch fp32 storage for activations, 64-byte aligned so that AVX-512 loads of a row start
/// on a cache line.
///
/// A class rather than `[Float]` because every kernel call of a forward pass hands raw pointers
/// into these buffers to BLAS and the C kernels, and writes through them: an array would need
/// `withUnsafe…` closures around each call and could copy on write behind our back. Not
/// `Sendable`: a buffer belongs to one `Workspace`, which one forward pass uses at a time.
/// Parameters are `Tensor`s, never these.
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let (raw, rounded) = Self.allocate(count)
        memset(raw, 0, rounded)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates `count` floats and leaves them as they are: for scratch that is overwritten
    /// whole before it is read (a packed operand, a GEMM's output), where zero-filling was a pass
    /// over memory for nothing.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        pointer = Self.allocate(count).raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// 64-byte aligned room for `count` floats (at least one), rounded up to whole cache lines.
    private static func allocate(_ count: Int) -> (raw: UnsafeMutableRawPointer, rounded: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let rounded = (bytes + 63) / 64 * 64
        guard let raw = aligned_alloc(64, rounded) else {
            fatalError("FloatBuffer: out of memory allocating \(rounded) bytes")
        }
        return (raw, rounded)
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { free(pointer) }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}
