import Dispatch

/// A raw pointer that may cross into `concurrentPerform` workers. Safe here because every
/// parallel loop in the engine writes disjoint rows of the buffer it points into.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

enum Parallel {
    /// Splits `0..<count` into at most `threads` contiguous chunks and runs them concurrently.
    /// Small loops stay on the caller's thread: waking a worker costs more than the work.
    static func chunks(_ count: Int, threads: Int, minimumPerChunk: Int = 1,
                       _ body: @Sendable (Range<Int>, Int) -> Void) {
        let chunkCount = max(1, min(threads, count / max(1, minimumPerChunk)))
        if chunkCount <= 1 || count <= 1 {
            body(0..<count, 0)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let lower = count * chunk / chunkCount
            let upper = count * (chunk + 1) / chunkCount
            body(lower..<upper, chunk)
        }
    }
}
