#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The agent's artifacts: verified archives under `root`, within a byte budget, the least
/// recently used evicted first — except those pinned by a measurement in progress.
///
/// Layout: `root/<hex>` per artifact, `root/recency.json` (the order of use, see
/// `ArtifactCacheRecency`), `root/incoming/` for downloads in progress (the caller's; never
/// cleaned here, so a download can resume) and the marker `root/frontier-artifact-cache`.
///
/// Trust. An artifact enters only through `insert`, which hashes it first; after a restart each
/// file is hashed again on its first use (`path`, `pin`), and one that does not match its name is
/// deleted and reported missing, so the caller downloads it again. Anything else found in the
/// folder (foreign names, leftovers of an interrupted write) is deleted when the cache opens. So
/// that a mistyped path cannot empty a folder of someone else's files, a non-empty folder is only
/// opened as a cache when it has the marker file.
///
/// Pins are counts held in memory: a restart ends the agent's measurements, and with them
/// their pins. All calls are serialised by one lock (a first-use hash of 90 MB holds it).
public final class ArtifactCache: Sendable {
    public struct Entry: Equatable, Sendable {
        public let hash: ArtifactHash
        public let size: Int64
        /// The recency counter's value at the last use: larger is more recent.
        public let lastUse: UInt64
        public let pins: Int
    }

    public static let markerName = "frontier-artifact-cache"
    static let incomingName = "incoming"

    public let root: URL
    public let budgetBytes: Int64

    private struct Record {
        var size: Int64
        var lastUse: UInt64
        var pins = 0
        /// Hashed by this process (at insert or first use).
        var verified = false
    }

    private struct State {
        var records: [ArtifactHash: Record] = [:]
        var clock: UInt64 = 0
    }

    private let state: Mutex<State>

    /// Opens the cache in `root` (making it if missing), deletes what it does not recognise and
    /// evicts down to `budgetBytes`.
    public init(root: URL, budgetBytes: Int64) throws {
        self.root = root
        self.budgetBytes = budgetBytes
        let path = root.path
        try PosixFileSystem.makeFolders(path)
        var names = try PosixFileSystem.names(in: path)
        if !names.isEmpty && !names.contains(Self.markerName) { throw ArtifactError.notACacheFolder(path: path) }
        if !names.contains(Self.markerName) {
            let marker = try PosixFile.open(path + "/" + Self.markerName, O_WRONLY | O_CREAT)
            try marker.syncData()
            try marker.close()
            names.append(Self.markerName)
        }
        try PosixFileSystem.makeFolder(path + "/" + Self.incomingName)

        let recency = ArtifactCacheRecency.load(from: path)
        var initial = State(clock: recency.clock)
        for name in names {
            if [Self.markerName, Self.incomingName, ArtifactCacheRecency.fileName].contains(name) { continue }
            let entryPath = path + "/" + name
            if let hash = try? ArtifactHash(hex: name), let info = try PosixFileSystem.status(of: entryPath), info.st_mode & S_IFMT == S_IFREG {
                let lastUse = recency.lastUse[name] ?? 0
                initial.records[hash] = Record(size: Int64(info.st_size), lastUse: lastUse)
                initial.clock = max(initial.clock, lastUse)
            } else {
                try PosixFileSystem.removeTree(entryPath)
            }
        }
        try PosixFileSystem.syncFolder(path)
        state = Mutex(initial)
        try state.withLock { state in
            try evict(&state, toFree: 0)
            try save(state)
        }
    }

    // MARK: Using artifacts

    /// The artifact's file, marked as just used; nil when it is not cached (or was found corrupt
    /// on its first use since the cache opened, and deleted).
    public func path(for hash: ArtifactHash) throws -> URL? {
        try state.withLock { state in try use(&state, hash, pin: false) }
    }

    /// As `path(for:)`, and pins the artifact: it is not evicted until as many `unpin` calls.
    public func pin(_ hash: ArtifactHash) throws -> URL? {
        try state.withLock { state in try use(&state, hash, pin: true) }
    }

    /// Releases one pin (a no-op for an artifact not pinned).
    public func unpin(_ hash: ArtifactHash) {
        state.withLock { state in
            if let pins = state.records[hash]?.pins, pins > 0 { state.records[hash]!.pins = pins - 1 }
        }
    }

    /// Whether the artifact is cached, without marking a use or hashing it.
    public func contains(_ hash: ArtifactHash) -> Bool {
        state.withLock { $0.records[hash] != nil }
    }

    /// The cached artifacts, least recently used first.
    public var entries: [Entry] {
        state.withLock { state in
            state.records.map { Entry(hash: $0.key, size: $0.value.size, lastUse: $0.value.lastUse, pins: $0.value.pins) }
                .sorted { ($0.lastUse, $0.hash) < ($1.lastUse, $1.hash) }
        }
    }

    public var usedBytes: Int64 {
        state.withLock { $0.records.values.reduce(0) { $0 + $1.size } }
    }

    // MARK: Adding artifacts

    /// Where to download `hash` so that `insert` can move it in by a rename (same file system).
    public func incomingURL(for hash: ArtifactHash) -> URL {
        URL(fileURLWithPath: root.path + "/" + Self.incomingName + "/" + hash.hex + ".download")
    }

    /// Takes a completed download into the cache: hashes `file`, flushes it, evicts the least
    /// recently used unpinned artifacts to make room, and renames it to `root/<hex>` (copying
    /// first when it is on another file system). Returns the artifact's file, marked as just
    /// used. A file that does not hash to `hash` is deleted and `hashMismatch` thrown; one that
    /// cannot fit (`doesNotFit`) is left where it is and nothing is evicted. Inserting an
    /// artifact already cached deletes `file` and marks a use.
    @discardableResult
    public func insert(_ hash: ArtifactHash, from file: URL, hashedAs computed: ArtifactHash? = nil) throws -> URL {
        let source = try PosixFile.open(file.path, O_RDONLY)
        // `computed`: the caller hashed the bytes as it wrote them (a fetch does); no second read.
        let (actual, size) = try computed.map { ($0, try source.size()) } ?? ArtifactHash.ofFile(source)
        try source.syncData()
        try source.close()
        guard actual == hash else {
            try PosixFileSystem.removeFile(file.path)
            throw ArtifactError.hashMismatch(expected: hash, actual: actual)
        }
        let destination = artifactPath(hash)
        return try state.withLock { state in
            if state.records[hash] != nil {
                try PosixFileSystem.removeFile(file.path)
                return try use(&state, hash, pin: false)!
            }
            try evict(&state, toFree: size, for: hash)
            do {
                try PosixFileSystem.rename(file.path, to: destination)
            } catch let error as FileSystemError where error.errno == EXDEV {
                try copyIn(file.path, to: destination, hash)
                try PosixFileSystem.removeFile(file.path)
            }
            try PosixFileSystem.syncFolder(root.path)
            state.clock += 1
            state.records[hash] = Record(size: size, lastUse: state.clock, verified: true)
            try save(state)
            return URL(fileURLWithPath: destination)
        }
    }

    // MARK: Inside the lock

    private func artifactPath(_ hash: ArtifactHash) -> String { root.path + "/" + hash.hex }

    private func use(_ state: inout State, _ hash: ArtifactHash, pin: Bool) throws -> URL? {
        guard var record = state.records[hash] else { return nil }
        let path = artifactPath(hash)
        if !record.verified {
            let matches: Bool
            do {
                let file = try PosixFile.openForReading(path)
                defer { try? file.close() }
                let (actual, size) = try ArtifactHash.ofFile(file)
                matches = actual == hash && size == record.size
            } catch let error as FileSystemError where error.errno == ENOENT {
                matches = false
            }
            guard matches else {
                try PosixFileSystem.removeFile(path)
                state.records[hash] = nil
                try save(state)
                return nil
            }
            record.verified = true
        }
        state.clock += 1
        record.lastUse = state.clock
        if pin { record.pins += 1 }
        state.records[hash] = record
        try save(state)
        return URL(fileURLWithPath: path)
    }

    /// Deletes the least recently used unpinned artifacts until `toFree` more bytes fit the
    /// budget; throws `doesNotFit` (deleting nothing) when even evicting all of them would not do.
    private func evict(_ state: inout State, toFree needed: Int64, for hash: ArtifactHash? = nil) throws {
        var used = state.records.values.reduce(0) { $0 + $1.size }
        guard used + needed > budgetBytes else { return }
        let candidates = state.records.filter { $0.value.pins == 0 }
            .sorted { ($0.value.lastUse, $0.key) < ($1.value.lastUse, $1.key) }
        let pinned = state.records.values.filter { $0.pins > 0 }.reduce(0) { $0 + $1.size }
        if let hash, pinned + needed > budgetBytes {
            throw ArtifactError.doesNotFit(hash, size: needed, budget: budgetBytes, pinnedBytes: pinned)
        }
        for (victim, record) in candidates where used + needed > budgetBytes {
            try PosixFileSystem.removeFile(artifactPath(victim))
            state.records[victim] = nil
            used -= record.size
        }
        try PosixFileSystem.syncFolder(root.path)
    }

    private func save(_ state: State) throws {
        var recency = ArtifactCacheRecency(clock: state.clock)
        for (hash, record) in state.records { recency.lastUse[hash.hex] = record.lastUse }
        try recency.save(to: root.path)
    }

    /// A download on another file system: copied beside the destination, flushed, renamed.
    private func copyIn(_ source: String, to destination: String, _ hash: ArtifactHash) throws {
        let temporary = root.path + "/." + hash.hex + ".inserting"
        let input = try PosixFile.openForReading(source)
        defer { try? input.close() }
        let output = try PosixFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            var offset: Int64 = 0
            try withChunkBuffer { buffer in
                while true {
                    let got = try input.read(into: buffer, at: offset)
                    if got == 0 { break }
                    try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: offset)
                    offset += Int64(got)
                }
            }
            try output.syncData()
            try output.close()
            try PosixFileSystem.rename(temporary, to: destination)
        } catch {
            try? PosixFileSystem.removeFile(temporary)
            throw error
        }
    }
}
