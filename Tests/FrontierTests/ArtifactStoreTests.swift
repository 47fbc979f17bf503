import Foundation
import Testing
@testable import FrontierArtifacts

/// The coordinator's store: chunked uploads at exact offsets, verified completion, reads for
/// downloads, and resuming after a crash.
@Suite struct ArtifactStoreTests {
    /// Sends `bytes` from `start` in chunks, declaring `declaredSize` (by default their count).
    private static func upload(_ bytes: [UInt8], to store: ArtifactStore, as hash: ArtifactHash, chunk: Int, from start: Int = 0,
                               declaredSize: Int? = nil) throws {
        let declared = Int64(declaredSize ?? bytes.count)
        var offset = start
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            let length = try store.append(hash, offset: Int64(offset), bytes: Array(bytes[offset..<end]), declaredSize: declared)
            #expect(length == Int64(end))
            offset = end
        }
    }

    @Test func theHashMustBe64LowercaseHexDigits() throws {
        let good = String(repeating: "0123456789abcdef", count: 4)
        #expect(try ArtifactHash(hex: good).hex == good)
        for bad in [good.uppercased(), String(good.dropLast()), good + "0", "../" + good.dropFirst(3), String(good.dropLast()) + "g", "", "/etc/passwd"] {
            #expect(throws: ArtifactError.invalidHash(bad)) { try ArtifactHash(hex: bad) }
        }
    }

    @Test func aChunkedUploadCompletesAndReadsBackInChunks() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"))
        let bytes = ArtifactFixtures.bytes(300_001, seed: 7)
        let hash = ArtifactFixtures.hash(bytes)
        #expect(try store.resumeOffset(for: hash) == 0)
        #expect(!store.contains(hash))
        try Self.upload(bytes, to: store, as: hash, chunk: 65_536)
        #expect(try store.partialUploads() == [hash])
        #expect(!store.contains(hash))

        let url = try store.complete(hash, declaredSize: Int64(bytes.count))
        #expect(url.path == temp("artifacts/" + hash.hex).path)
        #expect(store.contains(hash) && store.url(of: hash) == url)
        #expect(try store.size(of: hash) == 300_001)
        #expect(try store.partialUploads().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp("artifacts/partial").path).isEmpty)

        var read = Data()
        while true {
            let chunk = try store.readChunk(hash, offset: Int64(read.count), maxBytes: 100_000)
            if chunk.isEmpty { break }
            #expect(chunk.count <= 100_000)
            read += chunk
        }
        #expect([UInt8](read) == bytes)
        // A repeated completion (a lost reply) answers the same.
        #expect(try store.complete(hash, declaredSize: Int64(bytes.count)) == url)
    }

    @Test func aChunkAtAnyOtherOffsetIsRefusedWithTheOffsetToResumeFrom() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"))
        let bytes = ArtifactFixtures.bytes(10_000, seed: 8)
        let hash = ArtifactFixtures.hash(bytes)
        try store.append(hash, offset: 0, bytes: Array(bytes[0..<4000]), declaredSize: 10_000)
        #expect(throws: ArtifactError.offsetMismatch(hash, expected: 4000, received: 3000)) {
            try store.append(hash, offset: 3000, bytes: Array(bytes[3000..<4000]), declaredSize: 10_000)
        }
        #expect(throws: ArtifactError.offsetMismatch(hash, expected: 4000, received: 5000)) {
            try store.append(hash, offset: 5000, bytes: Array(bytes[5000..<6000]), declaredSize: 10_000)
        }
        #expect(try store.resumeOffset(for: hash) == 4000)
        try Self.upload(bytes, to: store, as: hash, chunk: 3000, from: 4000)
        try store.complete(hash, declaredSize: 10_000)
        #expect(store.contains(hash))
    }

    @Test func chunksPastTheDeclaredOrMaximumSizeAreRefused() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"), settings: .init(maximumArtifactSize: 5000))
        let hash = ArtifactFixtures.hash([1, 2, 3])
        #expect(throws: ArtifactError.exceedsMaximumSize(hash, size: 5001, maximum: 5000)) {
            try store.append(hash, offset: 0, bytes: [1, 2, 3], declaredSize: 5001)
        }
        try store.append(hash, offset: 0, bytes: [1, 2], declaredSize: 3)
        #expect(throws: ArtifactError.exceedsDeclaredSize(hash, declaredSize: 3, attemptedSize: 4)) {
            try store.append(hash, offset: 2, bytes: [3, 4], declaredSize: 3)
        }
        #expect(throws: ArtifactError.incomplete(hash, received: 2, declaredSize: 3)) {
            try store.complete(hash, declaredSize: 3)
        }
        // The refusals kept what was good.
        try store.append(hash, offset: 2, bytes: [3], declaredSize: 3)
        try store.complete(hash, declaredSize: 3)
        #expect(try store.readChunk(hash, offset: 0, maxBytes: 10) == Data([1, 2, 3]))
    }

    @Test func bytesThatDoNotMatchTheirHashAreDeletedSoTheUploadStartsAgain() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"))
        let bytes = ArtifactFixtures.bytes(20_000, seed: 9)
        let hash = ArtifactFixtures.hash(bytes)
        var corrupted = bytes
        corrupted[12_345] ^= 1
        try Self.upload(corrupted, to: store, as: hash, chunk: 7000)
        #expect(throws: ArtifactError.hashMismatch(expected: hash, actual: ArtifactFixtures.hash(corrupted))) {
            try store.complete(hash, declaredSize: 20_000)
        }
        #expect(!store.contains(hash))
        #expect(try store.partialUploads().isEmpty)
        #expect(try store.resumeOffset(for: hash) == 0)
        try Self.upload(bytes, to: store, as: hash, chunk: 7000)
        try store.complete(hash, declaredSize: 20_000)
        #expect(store.contains(hash))
    }

    @Test func readsPastTheEndOrOfMissingArtifactsAreTypedErrors() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"), settings: .init(maximumReadChunk: 1000))
        let bytes = ArtifactFixtures.bytes(5000, seed: 10)
        let hash = ArtifactFixtures.hash(bytes)
        #expect(throws: ArtifactError.notFound(hash)) { try store.readChunk(hash, offset: 0, maxBytes: 10) }
        #expect(throws: ArtifactError.notFound(hash)) { try store.size(of: hash) }
        try Self.upload(bytes, to: store, as: hash, chunk: 5000)
        try store.complete(hash, declaredSize: 5000)
        #expect(try store.readChunk(hash, offset: 0, maxBytes: 1 << 20).count == 1000)
        #expect(try store.readChunk(hash, offset: 4500, maxBytes: 1 << 20) == Data(bytes[4500...]))
        #expect(try store.readChunk(hash, offset: 5000, maxBytes: 10).isEmpty)
        #expect(throws: ArtifactError.offsetBeyondEnd(hash, offset: 5001, size: 5000)) { try store.readChunk(hash, offset: 5001, maxBytes: 10) }
    }

    @Test func anEmptyArtifactAndTwoInterleavedUploadsComplete() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"))
        let empty = ArtifactFixtures.hash([])
        try store.complete(empty, declaredSize: 0)
        #expect(try store.size(of: empty) == 0)

        let first = ArtifactFixtures.bytes(3000, seed: 11), second = ArtifactFixtures.bytes(3000, seed: 12)
        let (a, b) = (ArtifactFixtures.hash(first), ArtifactFixtures.hash(second))
        for offset in stride(from: 0, to: 3000, by: 1000) {
            try store.append(a, offset: Int64(offset), bytes: Array(first[offset..<(offset + 1000)]), declaredSize: 3000)
            try store.append(b, offset: Int64(offset), bytes: Array(second[offset..<(offset + 1000)]), declaredSize: 3000)
        }
        try store.complete(b, declaredSize: 3000)
        try store.complete(a, declaredSize: 3000)
        #expect(try store.readChunk(a, offset: 0, maxBytes: 3000) == Data(first))
        #expect(try store.readChunk(b, offset: 0, maxBytes: 3000) == Data(second))
    }

    // MARK: Crashes

    @Test func afterARestartTheUploadResumesFromTheLastCheckpoint() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let settings = ArtifactStore.Settings(checkpointInterval: 4096)
        let bytes = ArtifactFixtures.bytes(20_000, seed: 13)
        let hash = ArtifactFixtures.hash(bytes)
        do {
            let store = try ArtifactStore(root: temp("artifacts"), settings: settings)
            // Checkpoints at 5000 and 10000 (each 4096 or more past the last); 10500 is not one.
            try Self.upload(Array(bytes[0..<10_500]), to: store, as: hash, chunk: 1000, declaredSize: 20_000)
            _ = store  // the process dies here: the store is dropped without completing
        }
        let partial = temp("artifacts/partial/\(hash.hex).part")
        // Whatever reached the file past the checkpoint is not trusted.
        let reopened = try ArtifactStore(root: temp("artifacts"), settings: settings)
        #expect(try reopened.resumeOffset(for: hash) == 10_000)
        #expect(try FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int == 10_000)
        #expect(throws: ArtifactError.offsetMismatch(hash, expected: 10_000, received: 10_500)) {
            try reopened.append(hash, offset: 10_500, bytes: Array(bytes[10_500..<11_000]), declaredSize: 20_000)
        }
        try Self.upload(bytes, to: reopened, as: hash, chunk: 3000, from: 10_000)
        try reopened.complete(hash, declaredSize: 20_000)
        #expect(try reopened.readChunk(hash, offset: 0, maxBytes: 20_000) == Data(bytes))
    }

    @Test func aPartialLeftWithGarbageOrWithoutItsCheckpointIsCutBack() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let settings = ArtifactStore.Settings(checkpointInterval: 4096)
        let bytes = ArtifactFixtures.bytes(12_000, seed: 14)
        let hash = ArtifactFixtures.hash(bytes)
        let partial = temp("artifacts/partial/\(hash.hex).part")
        let checkpoint = temp("artifacts/partial/\(hash.hex).durable")

        try Self.upload(Array(bytes[0..<5000]), to: ArtifactStore(root: temp("artifacts"), settings: settings), as: hash, chunk: 5000, declaredSize: 12_000)
        // A power cut kept holes after the checkpoint: the file is longer, the tail is zeros.
        let handle = try FileHandle(forWritingTo: partial)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 3000))
        try handle.close()
        let store = try ArtifactStore(root: temp("artifacts"), settings: settings)
        #expect(try store.resumeOffset(for: hash) == 5000)

        // The checkpoint was lost (or torn): nothing is trusted.
        try Data("00000000000000005000 00000000000000009000\n".utf8).write(to: checkpoint)
        #expect(try ArtifactStore(root: temp("artifacts"), settings: settings).resumeOffset(for: hash) == 0)
        try Self.upload(Array(bytes[0..<5000]), to: ArtifactStore(root: temp("artifacts"), settings: settings), as: hash, chunk: 5000, declaredSize: 12_000)
        try FileManager.default.removeItem(at: checkpoint)
        #expect(try ArtifactStore(root: temp("artifacts"), settings: settings).resumeOffset(for: hash) == 0)

        // The partial was lost but its checkpoint survived: the checkpoint is lowered to 0
        // before any new byte is accepted.
        try Self.upload(Array(bytes[0..<5000]), to: ArtifactStore(root: temp("artifacts"), settings: settings), as: hash, chunk: 5000, declaredSize: 12_000)
        try FileManager.default.removeItem(at: partial)
        let fresh = try ArtifactStore(root: temp("artifacts"), settings: settings)
        #expect(try fresh.resumeOffset(for: hash) == 0)
        try Self.upload(Array(bytes[0..<3000]), to: fresh, as: hash, chunk: 3000, declaredSize: 12_000)
        #expect(try ArtifactStore(root: temp("artifacts"), settings: settings).resumeOffset(for: hash) == 0)

        let last = try ArtifactStore(root: temp("artifacts"), settings: settings)
        try Self.upload(bytes, to: last, as: hash, chunk: 4000)
        try last.complete(hash, declaredSize: 12_000)
        #expect(last.contains(hash))
    }

    @Test func discardingAPartialRemovesItsFiles() throws {
        let temp = try ArtifactTestFolder("store")
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp("artifacts"), settings: .init(checkpointInterval: 10))
        let hash = ArtifactFixtures.hash([9])
        try store.append(hash, offset: 0, bytes: [UInt8](repeating: 7, count: 20), declaredSize: 100)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp("artifacts/partial").path).count == 2)
        try store.discardPartial(hash)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp("artifacts/partial").path).isEmpty)
        #expect(try store.resumeOffset(for: hash) == 0)
    }
}
