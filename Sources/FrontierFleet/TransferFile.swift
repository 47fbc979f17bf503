#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A file an artifact transfer reads or writes at explicit offsets (`pread`/`pwrite`, retrying
/// `EINTR` and short counts), so that resending from an earlier offset needs no seek state and
/// only one chunk is ever in memory. Failures are `ArtifactTransferError.localFile` naming the
/// path, the call and errno's text.
final class TransferFile {
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    static func openForReading(_ path: String) throws -> TransferFile {
        try open(path, O_RDONLY)
    }

    /// Opens `path` for writing, making it if missing; its contents stay (a download resumes).
    static func openForWriting(_ path: String) throws -> TransferFile {
        try open(path, O_RDWR | O_CREAT)
    }

    private static func open(_ path: String, _ flags: Int32) throws -> TransferFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(path, "open") }
        return TransferFile(path: path, descriptor: fd)
    }

    func size() throws -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.failure(path, "fstat") }
        return Int64(info.st_size)
    }

    /// Up to `count` bytes from `offset` (fewer only at the end of the file).
    func read(at offset: Int64, count: Int) throws -> Data {
        var data = Data(count: count)
        let got = try data.withUnsafeMutableBytes { buffer -> Int in
            var done = 0
            while done < count {
                let n = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw Self.failure(path, "pread") }
                if n == 0 { break }
                done += n
            }
            return done
        }
        data.count = got
        return data
    }

    func write(_ data: Data, at offset: Int64) throws {
        try data.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw Self.failure(path, "pwrite") }
                done += n
            }
        }
    }

    func truncate(to length: Int64) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw Self.failure(path, "ftruncate") }
    }

    private static func failure(_ path: String, _ call: String) -> ArtifactTransferError {
        .localFile(path: path, detail: "\(call): \(String(cString: strerror(errno)))")
    }
}
