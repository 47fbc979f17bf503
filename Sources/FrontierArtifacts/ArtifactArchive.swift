#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A checkpoint folder as one file, so the folder has one content address (the SHA-256 of the
/// file) and moves as one upload.
///
/// The file is plain POSIX ustar, so `tar xf` opens it, written deterministically: entries sorted
/// by the bytes of their paths, a folder before its files, mode 0644 (folders 0755), owner 0:0
/// with no names, time 0, no extended headers, then two zero blocks and nothing else. The same
/// file names and contents therefore always give the same bytes and the same hash, whoever packs
/// them and when. A folder may hold files and one level of subfolders; anything deeper, and
/// links or devices, are refused.
///
/// Files are streamed in 1 MiB pieces both ways; nothing holds a whole file.
public enum ArtifactArchive {
    /// What an unpack accepts, so an archive from elsewhere cannot fill the disk.
    public struct Limits: Sendable {
        /// The sum of the entries' sizes (the headers' sizes are checked before any data is
        /// written).
        public var maximumTotalBytes: Int64
        public var maximumEntries: Int

        public init(maximumTotalBytes: Int64 = 16 << 30, maximumEntries: Int = 10_000) {
            self.maximumTotalBytes = maximumTotalBytes
            self.maximumEntries = maximumEntries
        }
    }

    /// Packs the files of `folder` into a new archive at `archive` (written beside it as
    /// `.<name>.packing`, flushed, renamed over `archive`, the parent folder flushed) and
    /// returns its hash and size, computed while writing.
    @discardableResult
    public static func pack(folder: URL, to archive: URL) throws -> PackedArtifact {
        let archivePath = archive.path
        func refuse(_ entry: String?, _ problem: ArtifactArchiveError.Problem) -> ArtifactArchiveError {
            ArtifactArchiveError(archive: archivePath, entry: entry, problem: problem)
        }
        let entries = try listEntries(of: folder.path, refuse: refuse)
        let parent = PosixFileSystem.parentPath(of: archivePath)
        let temporary = parent + "/." + archive.lastPathComponent + ".packing"
        let file = try PosixFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            let writer = HashingFileWriter(file)
            try withChunkBuffer { buffer in
                for entry in entries {
                    let source: PosixFile? = entry.kind == .file ? try PosixFile.openForReading(folder.path + "/" + entry.path) : nil
                    var header = entry
                    if let source { header.size = try source.size() }
                    if header.size > UstarHeader.maximumSize { throw refuse(entry.path, .tooLarge(size: header.size, limit: UstarHeader.maximumSize)) }
                    do { try writer.append(try header.encoded()) } catch let problem as ArtifactArchiveError.Problem { throw refuse(entry.path, problem) }
                    guard let source else { continue }
                    var copied: Int64 = 0
                    while true {
                        let got = try source.read(into: buffer, at: copied)
                        if got == 0 { break }
                        guard copied + Int64(got) <= header.size else { throw refuse(entry.path, .sourceChanged) }
                        try writer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
                        copied += Int64(got)
                    }
                    guard copied == header.size else { throw refuse(entry.path, .sourceChanged) }
                    try source.close()
                    try writer.appendZeros(paddingAfter(header.size))
                }
            }
            try writer.appendZeros(2 * UstarHeader.blockSize)
            let (hash, size) = try writer.finish()
            try file.syncData()
            try file.close()
            try PosixFileSystem.rename(temporary, to: archivePath)
            try PosixFileSystem.syncFolder(parent)
            return PackedArtifact(hash: hash, size: size)
        } catch {
            try? PosixFileSystem.removeFile(temporary)
            throw error
        }
    }

    /// Unpacks `archive` into the folder `destination`, which must not exist: entries are written
    /// into `.<name>.unpacking` beside it, each file flushed, then that folder is renamed to
    /// `destination` and the parent flushed, so a crash never leaves a half-unpacked folder
    /// under the destination's name. Anything unsafe or malformed — an absolute or `..` name, a
    /// link or device, a bad header checksum, a truncated archive, sizes past `limits` — stops
    /// the unpack with an `ArtifactArchiveError` naming the archive, the entry and its offset,
    /// and the temporary folder is removed.
    public static func unpack(_ archive: URL, into destination: URL, limits: Limits = Limits()) throws {
        let archivePath = archive.path
        guard try PosixFileSystem.kind(of: destination.path) == .missing else {
            throw ArtifactArchiveError(archive: archivePath, problem: .destinationExists)
        }
        let parent = PosixFileSystem.parentPath(of: destination.path)
        let temporary = parent + "/." + destination.lastPathComponent + ".unpacking"
        try PosixFileSystem.removeTree(temporary)
        let source = try PosixFile.openForReading(archivePath)
        defer { try? source.close() }
        do {
            try PosixFileSystem.makeFolder(temporary)
            try unpackEntries(from: SequentialFileReader(source), archive: archivePath, into: temporary, limits: limits)
            try PosixFileSystem.rename(temporary, to: destination.path)
            try PosixFileSystem.syncFolder(parent)
        } catch {
            try? PosixFileSystem.removeTree(temporary)
            throw error
        }
    }

    private static func unpackEntries(from reader: SequentialFileReader, archive: String, into folder: String, limits: Limits) throws {
        var kinds: [String: UstarHeader.Kind] = [:]
        var total: Int64 = 0
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: UstarHeader.blockSize, alignment: 64)
        defer { block.deallocate() }
        while true {
            let headerOffset = reader.offset
            func refuse(_ entry: String?, _ problem: ArtifactArchiveError.Problem) -> ArtifactArchiveError {
                ArtifactArchiveError(archive: archive, entry: entry, offset: headerOffset, problem: problem)
            }
            guard try reader.read(exactly: UstarHeader.blockSize, into: block) else { throw refuse(nil, .truncated) }
            let decoded: UstarHeader?
            do { decoded = try UstarHeader.decode(UnsafeRawBufferPointer(block)) } catch { throw refuse(nil, error) }
            guard let header = decoded else {
                // The first of the two closing zero blocks; the second must follow.
                guard try reader.read(exactly: UstarHeader.blockSize, into: block) else { throw refuse(nil, .truncated) }
                guard block.allSatisfy({ $0 == 0 }) else {
                    throw refuse(nil, .unsafeName(reason: "a single zero block inside the archive"))
                }
                break
            }
            do { try UstarHeader.validate(path: header.path, kind: header.kind) } catch { throw refuse(header.path, error) }
            guard kinds[header.path] == nil else { throw refuse(header.path, .duplicateEntry) }
            guard kinds.count < limits.maximumEntries else { throw refuse(header.path, .tooManyEntries(limit: limits.maximumEntries)) }
            total += header.size
            guard total <= limits.maximumTotalBytes else { throw refuse(header.path, .tooLarge(size: total, limit: limits.maximumTotalBytes)) }
            let components = header.path.split(separator: "/").map(String.init)
            if components.count == 2 {
                switch kinds[components[0]] {
                case .file: throw refuse(header.path, .unsafeName(reason: "\"\(components[0])\" is a file in this archive"))
                case .folder: break
                case nil:
                    // A file whose folder had no entry of its own (other tar writers): make it.
                    try PosixFileSystem.makeFolder(folder + "/" + components[0])
                    kinds[components[0]] = .folder
                }
            }
            kinds[header.path] = header.kind
            let path = folder + "/" + header.path
            if header.kind == .folder {
                try PosixFileSystem.makeFolder(path)
                continue
            }
            let output = try PosixFile.create(path)
            var written: Int64 = 0
            let complete = try reader.stream(header.size) { bytes in
                try output.write(bytes, at: written)
                written += Int64(bytes.count)
            }
            guard complete else { throw refuse(header.path, .truncated) }
            try output.syncData()
            try output.close()
            let padding = paddingAfter(header.size)
            guard try reader.read(exactly: padding, into: block) else { throw refuse(header.path, .truncated) }
        }
        // The files' own entries in their folders, then the folders' in the top folder.
        for (path, kind) in kinds where kind == .folder { try PosixFileSystem.syncFolder(folder + "/" + path) }
        try PosixFileSystem.syncFolder(folder)
    }

    /// The folder's entries as headers (sizes filled in when each file is opened), sorted by the
    /// bytes of their archive paths: "a/" sorts before "a/b", so a folder precedes its files.
    private static func listEntries(of folder: String, refuse: (String?, ArtifactArchiveError.Problem) -> ArtifactArchiveError) throws -> [UstarHeader] {
        var entries: [UstarHeader] = []
        func add(_ path: String, depth: Int) throws {
            let full = folder + "/" + path
            switch try PosixFileSystem.kind(of: full) {
            case .regularFile:
                entries.append(UstarHeader(path: path, kind: .file, size: 0))
            case .folder:
                guard depth == 0 else { throw refuse(path, .tooDeep) }
                entries.append(UstarHeader(path: path, kind: .folder, size: 0))
                for name in try PosixFileSystem.names(in: full) { try add(path + "/" + name, depth: depth + 1) }
            case .other, .missing:
                throw refuse(path, .unsupportedFile)
            }
        }
        for name in try PosixFileSystem.names(in: folder) { try add(name, depth: 0) }
        for entry in entries {
            do {
                try UstarHeader.validate(path: entry.path, kind: entry.kind)
                _ = try entry.encoded()
            } catch { throw refuse(entry.path, error) }
        }
        func key(_ entry: UstarHeader) -> [UInt8] { Array((entry.kind == .folder ? entry.path + "/" : entry.path).utf8) }
        return entries.sorted { key($0).lexicographicallyPrecedes(key($1)) }
    }

    /// Zero bytes that round an entry's data up to whole 512-byte blocks.
    private static func paddingAfter(_ size: Int64) -> Int {
        Int((Int64(UstarHeader.blockSize) - size % Int64(UstarHeader.blockSize)) % Int64(UstarHeader.blockSize))
    }
}
