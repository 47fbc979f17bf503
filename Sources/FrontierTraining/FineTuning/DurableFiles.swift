#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FrontierSupport

/// Writes that survive a crash or a power cut: data flushed to the disk (`fsync`) before a
/// rename publishes it, and the folder flushed after, so the rename itself is on disk.
/// Every failure names the path and the system's reason.
enum DurableFiles {
    /// Writes `data` to `url` (a new file, or replacing one) and flushes it.
    static func write(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(url, "cannot create") }
        var closed = false
        defer { if !closed { close(fd) } }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure(url, "cannot write")
                }
                offset += written
            }
        }
        guard fsync(fd) == 0 else { throw failure(url, "cannot flush") }
        closed = true
        guard close(fd) == 0 else { throw failure(url, "cannot close") }
    }

    /// Replaces `url` with `data` all at once: written and flushed beside it, renamed over it, the
    /// folder flushed. A crash leaves the old file or the new one, never a part.
    static func replace(_ url: URL, with data: Data) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".next")
        try write(data, to: temporary)
        try rename(temporary, to: url)
        try syncFolder(url.deletingLastPathComponent())
    }

    /// Replaces `url` with one JSON object per line (sorted keys), as `replace` does.
    static func replaceJSONLines<T: Encodable>(_ url: URL, with values: [T]) throws {
        let encoder = JSONCoding.encoder
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for value in values { data += try encoder.encode(value) + Data("\n".utf8) }
        try replace(url, with: data)
    }

    /// Flushes a folder's entries (after files were created or renamed in it).
    static func syncFolder(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(url, "cannot open the folder to flush it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(url, "cannot flush the folder") }
    }

    /// `rename(2)`: atomic within one file system.
    static func rename(_ from: URL, to: URL) throws {
        guard Glibc.rename(from.path, to.path) == 0 else { throw failure(from, "cannot rename to \(to.lastPathComponent)") }
    }

    private static func failure(_ url: URL, _ what: String) -> TrainingError {
        TrainingError.checkpoint(path: url.path, detail: "\(what): \(String(cString: strerror(errno)))")
    }
}
