import FrontierSupport

/// Appends to a new file through a 1 MiB buffer and hashes every byte on the way, so a packed
/// archive's content address is known when the last byte is written, without reading it back.
final class HashingFileWriter {
    let file: PosixFile
    private(set) var written: Int64 = 0
    private var hasher = SHA256()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: artifactChunkBytes, alignment: 64)
    private var buffered = 0

    init(_ file: PosixFile) {
        self.file = file
    }

    deinit { buffer.deallocate() }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var consumed = 0
        while consumed < bytes.count {
            let take = min(bytes.count - consumed, buffer.count - buffered)
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[consumed..<(consumed + take)]))
            buffered += take
            consumed += take
            if buffered == buffer.count { try flush() }
        }
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func appendZeros(_ count: Int) throws {
        try append([UInt8](repeating: 0, count: count))
    }

    /// Writes what is buffered and returns the hash of everything appended. The file is not
    /// flushed to the disk; the caller does that before publishing it.
    func finish() throws -> (hash: ArtifactHash, size: Int64) {
        try flush()
        return (ArtifactHash(finishing: &hasher), written)
    }

    private func flush() throws {
        guard buffered > 0 else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<buffered])
        try file.write(bytes, at: written)
        hasher.update(bytes: bytes)
        written += Int64(buffered)
        buffered = 0
    }
}
