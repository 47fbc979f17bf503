#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Read access to a sysfs-like tree. Meters read through this seam so tests hand in fake trees
/// (a wrapping counter, two sockets, a file that refuses to be read) and containers can point
/// the agent at the host's tree mounted elsewhere (`--sysfs-root`).
public protocol SysfsReader: Sendable {
    /// A short description of the tree for messages (its root folder).
    var rootDescription: String { get }
    /// The file's contents with surrounding whitespace removed. `path` is relative to the root
    /// (`class/powercap/intel-rapl:0/energy_uj`).
    func read(_ path: String) throws(SysfsError) -> String
    /// Entry names in a folder, sorted; empty when the folder does not exist.
    func list(_ path: String) -> [String]
    func exists(_ path: String) -> Bool
}

public struct SysfsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The full path of the file as the process saw it.
    public var path: String
    /// `errno` of the failing call.
    public var code: Int32

    public init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }

    public var isPermissionDenied: Bool { code == EACCES || code == EPERM }

    public var description: String {
        "cannot read \(path): \(String(cString: strerror(code)))"
    }
}

/// A real folder: `/sys` on the host, or a copy or mount of it.
public struct DirectorySysfs: SysfsReader {
    public let root: String

    /// - Parameter root: the folder that plays the role of `/sys` (it holds `class/`).
    public init(root: String = "/sys") {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var rootDescription: String { root }

    public func fullPath(_ path: String) -> String { root == "/" ? "/" + path : root + "/" + path }

    public func read(_ path: String) throws(SysfsError) -> String {
        let full = fullPath(path)
        // open/read rather than Foundation: sysfs files report size 4096 and some return EIO or
        // EACCES only on read, which must surface as that errno, not as a generic failure.
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SysfsError(path: full, code: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SysfsError(path: full, code: errno)
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fullPath(path))) ?? []).sorted()
    }

    public func exists(_ path: String) -> Bool {
        access(fullPath(path), F_OK) == 0
    }
}
