#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor and the path it was opened from, with one checked wrapper per call:
/// -1 becomes a thrown `FileSystemError` naming the call and the path, and `EINTR` is retried.
/// The artifact code reads and writes at explicit offsets and flushes at chosen moments, which
/// `FileHandle` neither promises nor reports well.
///
/// Whoever opens one closes it (`close()`, or `deinit` as a fallback that ignores the result).
/// `@unchecked Sendable` because it guards nothing itself: its descriptor is set by `init` and
/// cleared by `close`, and an open file is only used under its owner's lock (the store keeps each
/// partial upload's file under that upload's lock) or by one function start to end.
final class PosixFile: @unchecked Sendable {
    let path: String
    private var fd: Int32

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> PosixFile {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return PosixFile(fd: fd, path: path) }
            if errno != EINTR { throw FileSystemError(call: "open", path: path, errno: errno) }
        }
    }

    static func openForReading(_ path: String) throws -> PosixFile { try open(path, O_RDONLY) }

    /// A new file that must not exist yet (`O_EXCL`), so two writers never share one.
    static func create(_ path: String, mode: mode_t = 0o644) throws -> PosixFile {
        try open(path, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
    }

    func close() throws {
        let result = Glibc.close(fd)
        fd = -1
        // Linux closes the descriptor even when close reports EINTR, so it is not retried.
        if result != 0 && errno != EINTR { throw FileSystemError(call: "close", path: path, errno: errno) }
    }

    /// Up to `buffer.count` bytes at `offset`; fewer only at the end of the file (0 there).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let got = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(call: "pread", path: path, errno: errno)
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// All of `bytes` at `offset` (a short write is continued, not reported).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let wrote = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if wrote < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(call: "pwrite", path: path, errno: errno)
            }
            done += wrote
        }
    }

    /// The data and the metadata needed to read it back (the length): what a crash must keep.
    func syncData() throws {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw FileSystemError(call: "fdatasync", path: path, errno: errno) }
        }
    }

    /// Everything, metadata included: for folders, whose entries are their data.
    func sync() throws {
        while fsync(fd) != 0 {
            if errno != EINTR { throw FileSystemError(call: "fsync", path: path, errno: errno) }
        }
    }

    func truncate(to length: Int64) throws {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw FileSystemError(call: "ftruncate", path: path, errno: errno) }
        }
    }

    func status() throws -> stat {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystemError(call: "fstat", path: path, errno: errno) }
        return info
    }

    func size() throws -> Int64 { Int64(try status().st_size) }
}
