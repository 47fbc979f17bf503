#if canImport(Glibc)
import Glibc
#endif

/// The folder-level calls the artifact files need — rename, remove, make a folder, flush a
/// folder, look at an entry without following links — each turning -1 into a `FileSystemError`.
enum PosixFileSystem {
    /// What a path names, without following a final symbolic link.
    enum Kind: Equatable {
        case missing, regularFile, folder, other
    }

    static func kind(of path: String) throws -> Kind {
        try status(of: path).map { info in
            switch info.st_mode & S_IFMT {
            case S_IFREG: .regularFile
            case S_IFDIR: .folder
            default: .other
            }
        } ?? .missing
    }

    /// `lstat`, or nil when nothing is there.
    static func status(of path: String) throws -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw FileSystemError(call: "lstat", path: path, errno: errno)
    }

    /// `rename(2)`: atomic within one file system, and replaces a file already at `to`.
    static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw FileSystemError(call: "rename", path: "\(from) → \(to)", errno: errno) }
    }

    /// Removes a file; one that is already gone is not an error.
    static func removeFile(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileSystemError(call: "unlink", path: path, errno: errno) }
    }

    /// Removes a file or a folder with everything under it (links are removed, not followed).
    static func removeTree(_ path: String) throws {
        switch try kind(of: path) {
        case .missing: return
        case .folder:
            for name in try names(in: path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw FileSystemError(call: "rmdir", path: path, errno: errno) }
        case .regularFile, .other:
            try removeFile(path)
        }
    }

    /// Makes a folder; one already there is fine.
    static func makeFolder(_ path: String, mode: mode_t = 0o755) throws {
        if mkdir(path, mode) == 0 { return }
        let failure = FileSystemError(call: "mkdir", path: path, errno: errno)
        guard failure.errno == EEXIST, try kind(of: path) == .folder else { throw failure }
    }

    /// Makes a folder and the missing folders above it.
    static func makeFolders(_ path: String) throws {
        if try kind(of: path) == .folder { return }
        let parent = parentPath(of: path)
        if !parent.isEmpty && parent != path { try makeFolders(parent) }
        try makeFolder(path)
    }

    /// Flushes a folder's entries, so files created, renamed or removed in it stay so after a
    /// power cut.
    static func syncFolder(_ path: String) throws {
        let folder = try PosixFile.open(path, O_RDONLY | O_DIRECTORY)
        try folder.sync()
        try folder.close()
    }

    /// The names in a folder, without "." and "..", in no particular order. A name that is not
    /// UTF-8 is an error (`EILSEQ`): it could not be named again to open or remove it.
    static func names(in path: String) throws -> [String] {
        guard let folder = opendir(path) else { throw FileSystemError(call: "opendir", path: path, errno: errno) }
        defer { closedir(folder) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(folder) else {
                if errno != 0 { throw FileSystemError(call: "readdir", path: path, errno: errno) }
                return names
            }
            let decoded = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(validating: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let name = decoded else { throw FileSystemError(call: "readdir", path: path, errno: EILSEQ) }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    static func parentPath(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
