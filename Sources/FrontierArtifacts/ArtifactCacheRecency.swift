#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The cache's order of use, kept across restarts in `recency.json`: a counter that ticks on
/// every use and, per artifact, the tick of its last use. A counter rather than file times:
/// two uses within the file system's timestamp granularity (milliseconds) would tie, and the
/// order would then depend on timing.
///
/// Written whole to `.recency.json.next`, flushed and renamed over the old one, so a crash
/// leaves the old order or the new one. It is advice, not truth: an unreadable file is
/// replaced, artifacts missing from it count as the least recently used, and entries for
/// artifacts no longer there are dropped.
struct ArtifactCacheRecency: Codable, Equatable {
    var clock: UInt64 = 0
    var lastUse: [String: UInt64] = [:]

    static let fileName = "recency.json"
    static let temporaryName = ".recency.json.next"

    private enum CodingKeys: String, CodingKey {
        case clock
        case lastUse = "last_use"
    }

    /// The saved order in `folder`, or an empty one when there is none or it does not parse.
    static func load(from folder: String) -> ArtifactCacheRecency {
        guard let data = FileManager.default.contents(atPath: folder + "/" + fileName),
              let recency = try? JSONDecoder().decode(ArtifactCacheRecency.self, from: data) else { return ArtifactCacheRecency() }
        return recency
    }

    func save(to folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(self) + Data("\n".utf8)
        let temporary = folder + "/" + Self.temporaryName
        let file = try PosixFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        try data.withUnsafeBytes { try file.write($0, at: 0) }
        try file.syncData()
        try file.close()
        try PosixFileSystem.rename(temporary, to: folder + "/" + Self.fileName)
    }
}
