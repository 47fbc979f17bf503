#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed: which call, on which path, and the system's reason. The artifact
/// files are read and written through plain POSIX calls (`pread` at an offset, `fdatasync`,
/// `rename`), whose only failure report is errno; this keeps it with the path it concerns.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call)(\(path)): \(String(cString: strerror(errno)))" }
}
