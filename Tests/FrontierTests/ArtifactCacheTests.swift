import Foundation
import Testing
@testable import FrontierArtifacts

/// The agent's cache: verified inserts, least-recently-used eviction within a budget, pins,
/// recency across restarts, and files it does not trust.
@Suite struct ArtifactCacheTests {
    /// A 1000-byte artifact per seed, downloaded into the cache's incoming folder.
    private static func download(_ seed: UInt64, into cache: ArtifactCache) throws -> ArtifactHash {
        let bytes = ArtifactFixtures.bytes(1000, seed: seed)
        let hash = ArtifactFixtures.hash(bytes)
        try Data(bytes).write(to: cache.incomingURL(for: hash))
        return hash
    }

    private static func insert(_ seed: UInt64, into cache: ArtifactCache) throws -> ArtifactHash {
        let hash = try download(seed, into: cache)
        try cache.insert(hash, from: cache.incomingURL(for: hash))
        return hash
    }

    @Test func anInsertedDownloadIsMovedInAfterItsHashIsChecked() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 10_000)
        let hash = try Self.download(1, into: cache)
        let url = try cache.insert(hash, from: cache.incomingURL(for: hash))
        #expect(url.path == temp("cache/" + hash.hex).path)
        #expect(!FileManager.default.fileExists(atPath: cache.incomingURL(for: hash).path))
        #expect(try cache.path(for: hash) == url)
        #expect(cache.usedBytes == 1000)
        #expect(try ArtifactHash.ofFile(at: url.path) == hash)

        // A download that is not what it claims is deleted, not cached.
        let other = ArtifactFixtures.hash([1, 2, 3])
        try Data(ArtifactFixtures.bytes(1000, seed: 2)).write(to: cache.incomingURL(for: other))
        #expect(throws: ArtifactError.hashMismatch(expected: other, actual: ArtifactFixtures.hash(ArtifactFixtures.bytes(1000, seed: 2)))) {
            try cache.insert(other, from: cache.incomingURL(for: other))
        }
        #expect(!FileManager.default.fileExists(atPath: cache.incomingURL(for: other).path))
        #expect(!cache.contains(other))

        // Inserting what is already there keeps one copy.
        let again = try Self.download(1, into: cache)
        #expect(try cache.insert(again, from: cache.incomingURL(for: again)) == url)
        #expect(cache.usedBytes == 1000)
    }

    @Test func theLeastRecentlyUsedAreEvictedToFitTheBudget() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 3000)
        let a = try Self.insert(1, into: cache), b = try Self.insert(2, into: cache), c = try Self.insert(3, into: cache)
        #expect(cache.entries.map(\.hash) == [a, b, c])
        _ = try cache.path(for: a)
        #expect(cache.entries.map(\.hash) == [b, c, a])
        let d = try Self.insert(4, into: cache)
        #expect(cache.entries.map(\.hash) == [c, a, d])
        #expect(!FileManager.default.fileExists(atPath: temp("cache/" + b.hex).path))
        #expect(try cache.path(for: b) == nil)
        #expect(cache.usedBytes == 3000)
    }

    @Test func pinnedArtifactsAreNeverEvicted() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 2000)
        let a = try Self.insert(1, into: cache), b = try Self.insert(2, into: cache)
        #expect(try cache.pin(a) != nil)
        _ = try cache.path(for: b)  // b is now the most recent; a is still pinned
        let c = try Self.insert(3, into: cache)
        #expect(cache.contains(a) && !cache.contains(b) && cache.contains(c))

        // Everything pinned and no room: the download stays where it is, nothing is evicted.
        #expect(try cache.pin(c) != nil)
        let d = try Self.download(4, into: cache)
        #expect(throws: ArtifactError.doesNotFit(d, size: 1000, budget: 2000, pinnedBytes: 2000)) {
            try cache.insert(d, from: cache.incomingURL(for: d))
        }
        #expect(FileManager.default.fileExists(atPath: cache.incomingURL(for: d).path))
        #expect(cache.contains(a) && cache.contains(c))

        // Two pins need two unpins.
        _ = try cache.pin(a)
        cache.unpin(a)
        cache.unpin(c)
        try cache.insert(d, from: cache.incomingURL(for: d))
        #expect(cache.contains(a) && !cache.contains(c) && cache.contains(d))
        #expect(cache.entries.first { $0.hash == a }?.pins == 1)
    }

    @Test func theOrderOfUseSurvivesARestart() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        var (a, b, c) = (ArtifactFixtures.hash([]), ArtifactFixtures.hash([]), ArtifactFixtures.hash([]))
        do {
            let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 3000)
            a = try Self.insert(1, into: cache)
            b = try Self.insert(2, into: cache)
            c = try Self.insert(3, into: cache)
            _ = try cache.path(for: a)
            _ = try cache.path(for: b)
        }
        let reopened = try ArtifactCache(root: temp("cache"), budgetBytes: 3000)
        #expect(reopened.entries.map(\.hash) == [c, a, b])
        _ = try Self.insert(4, into: reopened)
        #expect(!reopened.contains(c) && reopened.contains(a) && reopened.contains(b))

        // A smaller budget on reopening evicts down to it, oldest first.
        let smaller = try ArtifactCache(root: temp("cache"), budgetBytes: 1500)
        #expect(smaller.entries.count == 1 && smaller.usedBytes == 1000)
        #expect(smaller.entries.first?.hash == ArtifactFixtures.hash(ArtifactFixtures.bytes(1000, seed: 4)))

        // An unreadable order is replaced; the artifacts stay.
        try Data("{not json".utf8).write(to: temp("cache/recency.json"))
        #expect(try ArtifactCache(root: temp("cache"), budgetBytes: 1500).entries.count == 1)
    }

    @Test func corruptAndForeignFilesAreRemovedNotTrusted() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        var (a, b) = (ArtifactFixtures.hash([]), ArtifactFixtures.hash([]))
        do {
            let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 10_000)
            a = try Self.insert(1, into: cache)
            b = try Self.insert(2, into: cache)
        }
        // One byte of b flipped on disk; stray files of several kinds.
        var bytes = [UInt8](try Data(contentsOf: temp("cache/" + b.hex)))
        bytes[500] ^= 0x40
        try Data(bytes).write(to: temp("cache/" + b.hex))
        try Data("notes".utf8).write(to: temp("cache/notes.txt"))
        try Data("x".utf8).write(to: temp("cache/" + b.hex.uppercased()))
        try Data("x".utf8).write(to: temp("cache/.recency.json.next"))
        try FileManager.default.createDirectory(at: temp("cache/stray/inner"), withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: temp("cache/incoming/download.part"))

        let cache = try ArtifactCache(root: temp("cache"), budgetBytes: 10_000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp("cache").path).sorted()
                == [a.hex, b.hex, ArtifactCache.markerName, "incoming", "recency.json"].sorted())
        // Downloads in progress are the caller's.
        #expect(FileManager.default.fileExists(atPath: temp("cache/incoming/download.part").path))
        #expect(try cache.path(for: b) == nil)
        #expect(!FileManager.default.fileExists(atPath: temp("cache/" + b.hex).path))
        #expect(try cache.path(for: a) != nil)
        #expect(cache.usedBytes == 1000)
    }

    @Test func aFolderWithoutTheMarkerIsNotTakenOver() throws {
        let temp = try ArtifactTestFolder("cache")
        defer { temp.remove() }
        try FileManager.default.createDirectory(at: temp("home"), withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: temp("home/thesis.tex"))
        #expect(throws: ArtifactError.notACacheFolder(path: temp("home").path)) {
            try ArtifactCache(root: temp("home"), budgetBytes: 1000)
        }
        #expect(FileManager.default.fileExists(atPath: temp("home/thesis.tex").path))
    }
}
