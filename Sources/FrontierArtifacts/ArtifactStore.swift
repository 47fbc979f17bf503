#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The coordinator's artifacts: uploads received in chunks, checked against their content
/// address, kept under `root`.
///
/// Layout: a finished artifact is `root/<hex>`; an upload in progress is
/// `root/partial/<hex>.part` with its checkpoint `root/partial/<hex>.durable` (the partial's
/// length known to be on the disk, written twice as 20 decimal digits: "<n> <n>\n").
///
/// Crash safety. `root/<hex>` only ever appears by `rename` of a partial that was flushed and
/// whose size and SHA-256 were checked, so a crash leaves no artifact, a partial, or a verified
/// artifact — never a corrupt file under an artifact's name. A partial is flushed (`fdatasync`)
/// and its checkpoint rewritten every `checkpointInterval` bytes and at its declared end. After a
/// restart the first call for a hash cuts the partial back to its checkpoint: bytes past it were
/// never flushed and, after a power cut, may be holes or stale blocks on some file systems, so
/// they are sent again (at most one interval). The checkpoint is only raised after the data below
/// it was flushed, and is lowered (flushed) before anything else when the file turns out shorter;
/// a lost checkpoint counts as 0. Flushing every interval rather than every chunk: on the
/// measured disk a flush per 1 MiB chunk halved the write rate (see docs/artifacts.md).
///
/// Calls for different hashes run concurrently; calls for one hash are serialised.
public final class ArtifactStore: Sendable {
    /// The store's limits and flush policy, one place with defaults.
    public struct Settings: Sendable {
        /// The largest artifact accepted: a declared size above it is refused at the first chunk.
        public var maximumArtifactSize: Int64
        /// Bytes appended between two flushes of a partial (and rewrites of its checkpoint);
        /// also the most a resume after a crash sends again.
        public var checkpointInterval: Int64
        /// The most bytes one `readChunk` returns, whatever the caller asks.
        public var maximumReadChunk: Int

        public init(maximumArtifactSize: Int64 = 4 << 30, checkpointInterval: Int64 = 32 << 20, maximumReadChunk: Int = 8 << 20) {
            self.maximumArtifactSize = maximumArtifactSize
            self.checkpointInterval = checkpointInterval
            self.maximumReadChunk = maximumReadChunk
        }
    }

    public let root: URL
    public let settings: Settings
    private let partialFolder: String
    private let uploads = Mutex<[ArtifactHash: PartialUpload]>([:])

    /// Opens (making if needed) the store under `root`.
    public init(root: URL, settings: Settings = Settings()) throws {
        self.root = root
        self.settings = settings
        partialFolder = root.path + "/partial"
        try PosixFileSystem.makeFolders(partialFolder)
        try PosixFileSystem.syncFolder(root.path)
    }

    // MARK: Finished artifacts

    public func contains(_ hash: ArtifactHash) -> Bool {
        (try? PosixFileSystem.kind(of: artifactPath(hash))) == .regularFile
    }

    /// The artifact's file, or nil when it is not stored.
    public func url(of hash: ArtifactHash) -> URL? {
        contains(hash) ? URL(fileURLWithPath: artifactPath(hash)) : nil
    }

    public func size(of hash: ArtifactHash) throws -> Int64 {
        guard let info = try PosixFileSystem.status(of: artifactPath(hash)) else { throw ArtifactError.notFound(hash) }
        return Int64(info.st_size)
    }

    /// Up to `maxBytes` (and at most `settings.maximumReadChunk`) bytes from `offset`; empty at
    /// the end. Reads only what it returns.
    public func readChunk(_ hash: ArtifactHash, offset: Int64, maxBytes: Int) throws -> Data {
        let file: PosixFile
        do { file = try PosixFile.openForReading(artifactPath(hash)) } catch let error as FileSystemError where error.errno == ENOENT {
            throw ArtifactError.notFound(hash)
        }
        defer { try? file.close() }
        let size = try file.size()
        guard offset >= 0, offset <= size else { throw ArtifactError.offsetBeyondEnd(hash, offset: offset, size: size) }
        let count = Int(min(Int64(max(0, min(maxBytes, settings.maximumReadChunk))), size - offset))
        var data = Data(count: count)
        let got = try data.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
        data.count = got
        return data
    }

    // MARK: Uploads

    /// Where the next chunk of `hash` must start: the bytes the partial holds (0 when there is
    /// none). After a restart, the length flushed at the last checkpoint.
    public func resumeOffset(for hash: ArtifactHash) throws -> Int64 {
        try withUpload(hash) { state in state.length }
    }

    /// Writes `bytes` at `offset` of the upload of `hash`, whose full size is `declaredSize`, and
    /// returns the new length. Refuses a chunk not at exactly the current length
    /// (`offsetMismatch` carries it, so the sender re-syncs), one that would pass the declared
    /// size, and a declared size above `settings.maximumArtifactSize`.
    @discardableResult
    public func append<Bytes: ContiguousBytes>(_ hash: ArtifactHash, offset: Int64, bytes: Bytes, declaredSize: Int64) throws -> Int64 {
        guard declaredSize <= settings.maximumArtifactSize else {
            throw ArtifactError.exceedsMaximumSize(hash, size: declaredSize, maximum: settings.maximumArtifactSize)
        }
        return try withUpload(hash) { state in
            guard offset == state.length else { throw ArtifactError.offsetMismatch(hash, expected: state.length, received: offset) }
            let end = try bytes.withUnsafeBytes { buffer in
                let end = offset + Int64(buffer.count)
                guard end <= declaredSize else { throw ArtifactError.exceedsDeclaredSize(hash, declaredSize: declaredSize, attemptedSize: end) }
                let file = try openPartial(&state, hash)
                if offset == 0 { state.hasher = BackgroundHasher() }
                do {
                    try file.write(buffer, at: offset)
                } catch {
                    // A short write past the length would otherwise stay behind as stray bytes.
                    try? file.truncate(to: state.length)
                    throw error
                }
                // Hashed as it arrives, on another thread: the hash overlaps the next writes.
                state.hasher?.update(buffer)
                return end
            }
            state.length = end
            if end - state.durable >= settings.checkpointInterval || end == declaredSize {
                try checkpoint(&state, hash)
            }
            return end
        }
    }

    /// Finishes the upload of `hash`: checks that the partial holds `declaredSize` bytes, flushes
    /// it, checks its SHA-256 (hashed as the chunks arrived, or read back after a restart),
    /// renames it to `root/<hex>` and flushes both folders. Only after this returns is the
    /// artifact stored, and may the caller record it. On a hash mismatch the
    /// partial is deleted and `hashMismatch` thrown: the sender starts again from 0. Completing an
    /// artifact already stored with that size (a repeated request) returns its file.
    @discardableResult
    public func complete(_ hash: ArtifactHash, declaredSize: Int64) throws -> URL {
        let destination = URL(fileURLWithPath: artifactPath(hash))
        return try withUpload(hash) { state in
            if state.file == nil, state.length == 0, contains(hash) {
                let size = try size(of: hash)
                guard size == declaredSize else { throw ArtifactError.sizeMismatch(hash, declaredSize: declaredSize, actualSize: size) }
                return destination
            }
            guard state.length <= declaredSize else {
                // Chunks were sent under a larger declared size: these bytes cannot be this artifact.
                try discard(&state, hash)
                throw ArtifactError.sizeMismatch(hash, declaredSize: declaredSize, actualSize: state.length)
            }
            guard state.length == declaredSize else { throw ArtifactError.incomplete(hash, received: state.length, declaredSize: declaredSize) }
            let file = try openPartial(&state, hash)
            try file.syncData()
            let (actual, size): (ArtifactHash, Int64)
            if let hasher = state.hasher {
                (actual, size) = (hasher.finalize(), try file.size())
            } else {
                (actual, size) = try ArtifactHash.ofFile(file)
            }
            guard size == declaredSize, actual == hash else {
                try discard(&state, hash)
                if size != declaredSize { throw ArtifactError.sizeMismatch(hash, declaredSize: declaredSize, actualSize: size) }
                throw ArtifactError.hashMismatch(expected: hash, actual: actual)
            }
            try PosixFileSystem.rename(partialPath(hash), to: destination.path)
            try PosixFileSystem.syncFolder(root.path)
            try PosixFileSystem.syncFolder(partialFolder)
            try close(&state, hash)
            return destination
        }
    }

    /// Deletes the partial upload of `hash`, if any.
    public func discardPartial(_ hash: ArtifactHash) throws {
        try withUpload(hash) { state in try discard(&state, hash) }
    }

    /// The hashes with a partial upload on disk (for a clean-up of abandoned uploads).
    public func partialUploads() throws -> [ArtifactHash] {
        try PosixFileSystem.names(in: partialFolder).compactMap { name in
            guard name.hasSuffix(".part") else { return nil }
            return try? ArtifactHash(hex: String(name.dropLast(5)))
        }.sorted()
    }

    // MARK: Partial files

    private func artifactPath(_ hash: ArtifactHash) -> String { root.path + "/" + hash.hex }
    private func partialPath(_ hash: ArtifactHash) -> String { partialFolder + "/" + hash.hex + ".part" }
    private func checkpointPath(_ hash: ArtifactHash) -> String { partialFolder + "/" + hash.hex + ".durable" }

    /// Runs `body` on the upload of `hash` under its lock, adopting the partial left on disk on
    /// the first call. A call that finds the upload just completed or discarded retries on a
    /// fresh one.
    private func withUpload<R>(_ hash: ArtifactHash, _ body: (inout PartialUpload.State) throws -> R) throws -> R {
        while true {
            let upload = uploads.withLock { uploads in
                if let upload = uploads[hash] { return upload }
                let upload = PartialUpload()
                uploads[hash] = upload
                return upload
            }
            let result: R? = try upload.state.withLock { state in
                if state.closed { return nil }
                if !state.adopted { try adopt(&state, hash) }
                return try body(&state)
            }
            if let result { return result }
        }
    }

    /// The partial as a crash left it: cut back to its checkpoint (bytes past it were never
    /// flushed), and the checkpoint lowered to the file's length when the file is shorter (or
    /// was lost), so the checkpoint never claims bytes the file lacks.
    private func adopt(_ state: inout PartialUpload.State, _ hash: ArtifactHash) throws {
        let recorded = try readCheckpoint(hash)
        var length: Int64 = 0
        if try PosixFileSystem.kind(of: partialPath(hash)) == .regularFile {
            let file = try PosixFile.open(partialPath(hash), O_RDWR)
            length = try file.size()
            state.file = file
        }
        let durable = min(recorded, length)
        if durable < recorded { try writeCheckpoint(durable, hash) }
        if durable < length {
            try state.file?.truncate(to: durable)
            try state.file?.syncData()
        }
        state.length = durable
        state.durable = durable
        state.hasher = nil
        state.adopted = true
    }

    private func openPartial(_ state: inout PartialUpload.State, _ hash: ArtifactHash) throws -> PosixFile {
        if let file = state.file { return file }
        let file = try PosixFile.open(partialPath(hash), O_RDWR | O_CREAT)
        state.file = file
        return file
    }

    /// Flushes the partial's data, then records its length as durable.
    private func checkpoint(_ state: inout PartialUpload.State, _ hash: ArtifactHash) throws {
        try state.file?.syncData()
        try writeCheckpoint(state.length, hash)
        state.durable = state.length
    }

    /// The recorded durable length; 0 when the checkpoint is missing or unreadable, which only
    /// costs a resend. The number is written twice: a torn write (old digits beside new ones)
    /// shows as two different copies instead of a plausible wrong length.
    private func readCheckpoint(_ hash: ArtifactHash) throws -> Int64 {
        guard try PosixFileSystem.kind(of: checkpointPath(hash)) == .regularFile else { return 0 }
        let file = try PosixFile.openForReading(checkpointPath(hash))
        defer { try? file.close() }
        var bytes = [UInt8](repeating: 0, count: 64)
        let got = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        guard got == 42, let text = String(validating: bytes[0..<42], as: UTF8.self) else { return 0 }
        let copies = text.dropLast().split(separator: " ", omittingEmptySubsequences: false)
        guard text.hasSuffix("\n"), copies.count == 2, copies[0] == copies[1], copies[0].count == 20,
              let value = Int64(copies[0]), value >= 0 else { return 0 }
        return value
    }

    /// Overwrites the checkpoint in place (42 bytes, within one disk sector) and flushes it.
    private func writeCheckpoint(_ length: Int64, _ hash: ArtifactHash) throws {
        let digits = String(length)
        let number = String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        let text = number + " " + number + "\n"
        let file = try PosixFile.open(checkpointPath(hash), O_WRONLY | O_CREAT)
        try Array(text.utf8).withUnsafeBytes { try file.write($0, at: 0) }
        try file.syncData()
        try file.close()
    }

    /// Deletes the checkpoint first, then the data: a crash between leaves a partial counted as
    /// holding 0 bytes.
    private func discard(_ state: inout PartialUpload.State, _ hash: ArtifactHash) throws {
        try PosixFileSystem.removeFile(checkpointPath(hash))
        try PosixFileSystem.removeFile(partialPath(hash))
        try close(&state, hash)
    }

    private func close(_ state: inout PartialUpload.State, _ hash: ArtifactHash) throws {
        let file = state.file
        state.file = nil
        state.closed = true
        _ = uploads.withLock { $0.removeValue(forKey: hash) }
        try PosixFileSystem.removeFile(checkpointPath(hash))
        try file?.close()
    }
}
