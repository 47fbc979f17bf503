/// Reads a file front to back through a 1 MiB buffer, knowing the offset of the next byte (so
/// an error can say where in an archive it happened) and whether the file ended early.
final class SequentialFileReader {
    let file: PosixFile
    /// The offset in the file of the next byte `read` returns.
    private(set) var offset: Int64 = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: artifactChunkBytes, alignment: 64)
    private var start = 0, end = 0
    private var fileOffset: Int64 = 0

    init(_ file: PosixFile) {
        self.file = file
    }

    deinit { buffer.deallocate() }

    /// Hands `body` the next bytes, at most `limit` of them and at least one, or returns false at
    /// the end of the file.
    func next(upTo limit: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        if start == end {
            end = try file.read(into: buffer, at: fileOffset)
            start = 0
            fileOffset += Int64(end)
            if end == 0 { return false }
        }
        let take = min(limit, end - start)
        try body(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
        start += take
        offset += Int64(take)
        return true
    }

    /// Exactly `count` bytes into `destination`, or false if the file ends first.
    func read(exactly count: Int, into destination: UnsafeMutableRawBufferPointer) throws -> Bool {
        var filled = 0
        while filled < count {
            let more = try next(upTo: count - filled) { bytes in
                UnsafeMutableRawBufferPointer(rebasing: destination[filled..<(filled + bytes.count)]).copyMemory(from: bytes)
                filled += bytes.count
            }
            if !more { return false }
        }
        return true
    }

    /// Passes the next `count` bytes to `sink` piece by piece, or returns false if the file
    /// ends first.
    func stream(_ count: Int64, to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var remaining = count
        while remaining > 0 {
            let more = try next(upTo: Int(min(remaining, Int64(buffer.count)))) { bytes in
                try sink(bytes)
                remaining -= Int64(bytes.count)
            }
            if !more { return false }
        }
        return true
    }
}
