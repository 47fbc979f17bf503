import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// File-scope wrappers: inside `KeyFiles`, `write`/`close` would name its own members.
private func posixClose(_ fd: Int32) -> Int32 { close(fd) }
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, bytes, count) }

/// Reading and writing the one-key text files CURVE keys live in: the Z85 key and a newline.
/// Blank lines and `#` comment lines are allowed around the key (for a note like
/// `# laptop-3, added 2025-03-01` in an authorised key).
enum KeyFiles {
    static let maxBytes = 64 * 1024

    /// The one key in `text` (read from `path`, which errors name).
    static func parseKey(_ text: String, path: String) throws -> String {
        func fail(_ problem: KeyFileError.Problem) -> KeyFileError { KeyFileError(path: path, problem: problem) }
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let key = lines.first else { throw fail(.empty) }
        guard lines.count == 1 else { throw fail(.multipleKeys(lines.count)) }
        guard key.utf8.count == Z85.keyLength else { throw fail(.wrongLength(key.count)) }
        guard Z85.isCurveKey(key) else { throw fail(.notZ85) }
        return key
    }

    static func readText(_ url: URL) throws -> String {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw KeyFileError(path: path, problem: code == ENOENT ? .missing : .unreadable(String(cString: strerror(code))))
        }
        defer { _ = posixClose(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KeyFileError(path: path, problem: .unreadable(String(cString: strerror(errno)))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw KeyFileError(path: path, problem: .notAFile) }
        guard info.st_size <= maxBytes else { throw KeyFileError(path: path, problem: .tooLarge(Int(info.st_size))) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyFileError(path: path, problem: .unreadable(String(cString: strerror(errno))))
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > maxBytes { throw KeyFileError(path: path, problem: .tooLarge(bytes.count)) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeyFileError(path: path, problem: .notZ85)
        }
        return text
    }

    /// The one key in the file at `url`.
    static func readKey(_ url: URL) throws -> String {
        try parseKey(try readText(url), path: url.path)
    }

    static func exists(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0
    }

    /// Writes `text` with exactly `mode` (not widened by the umask, never briefly more open).
    /// Without `overwrite` the file must not exist (`O_EXCL`); with it, a temporary file in the
    /// same folder is renamed over the old one, so a reader sees the old key or the new one.
    static func write(_ text: String, to url: URL, mode: mode_t, overwrite: Bool) throws {
        let path = url.path
        let target = overwrite ? url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path : path
        func failure(_ code: Int32) -> KeyFileError {
            KeyFileError(path: path, problem: code == EEXIST && !overwrite ? .exists : .writeFailed(String(cString: strerror(code))))
        }
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(errno) }
        var ok = false
        defer {
            if !ok { unlink(target) }
        }
        do {
            defer { _ = posixClose(fd) }
            guard fchmod(fd, mode) == 0 else { throw failure(errno) }
            let bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                let n = bytes[written...].withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(errno)
                }
                written += n
            }
            guard fsync(fd) == 0 else { throw failure(errno) }
        }
        if overwrite {
            guard rename(target, path) == 0 else { throw failure(errno) }
        }
        ok = true
    }

    /// Creates `dir` (and its parents) if needed, mode 0700 since it may hold secret keys.
    static func makeDirectory(_ dir: URL) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw KeyFileError(path: dir.path, problem: .notAFile, hint: "expected a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw KeyFileError(path: dir.path, problem: .writeFailed("\(error)"))
        }
    }

    /// A key name becomes `NAME.pub`/`NAME.secret` in one folder: no separators, not hidden.
    static func checkName(_ name: String, in dir: URL) throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), !name.contains("\0") else {
            throw KeyFileError(path: dir.path, problem: .badName(name))
        }
    }
}
