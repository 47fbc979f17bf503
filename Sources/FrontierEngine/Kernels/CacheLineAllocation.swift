#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 64-byte-aligned memory for a kernel's packed operand, rounded up to whole cache lines, so the
/// kernels' vector loads never straddle a line. Running out of memory is fatal, as it is for
/// Swift's own allocations; `free` releases it.
enum CacheLineAllocation {
    /// Room for `count` values of `type` (at least one); `owner` names the type in the error.
    static func allocate<T>(_ type: T.Type, count: Int, owner: String) -> (pointer: UnsafeMutablePointer<T>, bytes: Int) {
        let bytes = (max(count, 1) * MemoryLayout<T>.stride + 63) / 64 * 64
        guard let raw = aligned_alloc(64, bytes) else {
            fatalError("\(owner): out of memory allocating \(bytes) bytes")
        }
        return (raw.bindMemory(to: T.self, capacity: max(count, 1)), bytes)
    }
}
