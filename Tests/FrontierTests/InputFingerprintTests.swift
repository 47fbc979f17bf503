import Foundation
import Testing
import FrontierSupport
@testable import FrontierTraining

/// A saved fine-tuning state names the files it was made from; a resume compares them.
@Suite struct InputFingerprintTests {
    @Test func theBulkHashEqualsTheByteWiseHashAndTheStandardVectors() throws {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Lengths around the 64-byte block and a partial block carried into the bulk path.
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var byteWise = SHA256(), bulk = SHA256()
            byteWise.update(bytes)
            bulk.update(bytes.prefix(3))
            bytes.dropFirst(min(3, length)).withUnsafeBytes { bulk.update(bytes: $0) }
            #expect(byteWise.finalize() == bulk.finalize(), "length \(length)")
        }
    }

    @Test func aCopyWithANewModificationTimeStillMatchesAndOtherContentsDoNot() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("train.tsv")
        try Data("sentence\tlabel\nhello\t1\n".utf8).write(to: file)
        let saved = try InputFingerprint(url: file)
        #expect(saved.sha256 == (try SHA256.hex(ofFileAt: file.path)))

        // Laid anew: same bytes, a later modification time.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: file.path)
        let relaid = try InputFingerprint(url: file)
        #expect(relaid.modified != saved.modified)
        #expect(InputFingerprint.differences(saved: [saved], now: [relaid]).isEmpty)

        // Same size, other contents.
        try Data("sentence\tlabel\nhello\t0\n".utf8).write(to: file)
        let changed = try InputFingerprint(url: file)
        let lines = InputFingerprint.differences(saved: [saved], now: [changed])
        #expect(lines.count == 1)
        #expect(lines.first?.contains("contents differ") == true)

        // A state saved before hashes were recorded compares by size and time.
        var old = saved
        old.sha256 = nil
        #expect(!InputFingerprint.differences(saved: [old], now: [relaid]).isEmpty)
    }
}
