import FrontierSupport

/// Files are read in pieces of this size: large enough that a system call per piece costs
/// nothing, small enough that a 90 MB checkpoint is never held whole.
let artifactChunkBytes = 1 << 20

/// A 1 MiB scratch buffer for the length of `body`.
func withChunkBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: artifactChunkBytes, alignment: 64)
    defer { buffer.deallocate() }
    return try body(buffer)
}

extension ArtifactHash {
    /// The hash and length of a whole file, read from its start in 1 MiB pieces.
    static func ofFile(_ file: PosixFile) throws -> (hash: ArtifactHash, size: Int64) {
        var hasher = SHA256()
        var offset: Int64 = 0
        try withChunkBuffer { buffer in
            while true {
                let got = try file.read(into: buffer, at: offset)
                if got == 0 { break }
                hasher.update(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
                offset += Int64(got)
            }
        }
        return (ArtifactHash(finishing: &hasher), offset)
    }

    /// The hash of the file at `path`, read in 1 MiB pieces.
    public static func ofFile(at path: String) throws -> ArtifactHash {
        let file = try PosixFile.openForReading(path)
        defer { try? file.close() }
        return try ofFile(file).hash
    }
}
