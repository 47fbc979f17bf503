import Foundation
import Testing
@testable import FrontierArtifacts

/// A checkpoint folder ⇄ one deterministic ustar file, and every malformed archive refused with
/// where it went wrong.
@Suite struct ArtifactArchiveTests {
    // MARK: Round trip and determinism

    @Test func unpackingThePackedFolderGivesBackEveryFileAndSubfolder() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        try ArtifactFixtures.checkpointFolder(at: temp("checkpoint"))
        try FileManager.default.createDirectory(at: temp("checkpoint/tickets"), withIntermediateDirectories: true)
        try Data("{\"step\": 1}\n".utf8).write(to: temp("checkpoint/tickets/steps.jsonl"))
        try FileManager.default.createDirectory(at: temp("checkpoint/empty"), withIntermediateDirectories: true)

        let packed = try ArtifactArchive.pack(folder: temp("checkpoint"), to: temp("checkpoint.tar"))
        let bytes = try Data(contentsOf: temp("checkpoint.tar"))
        #expect(packed.size == Int64(bytes.count))
        #expect(packed.hash == ArtifactFixtures.hash(Array(bytes)))
        #expect(packed.size % 512 == 0)

        try ArtifactArchive.unpack(temp("checkpoint.tar"), into: temp("restored"))
        #expect(try ArtifactFixtures.contents(of: temp("restored")) == ArtifactFixtures.contents(of: temp("checkpoint")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp.url.path).sorted() == ["checkpoint", "checkpoint.tar", "restored"])
    }

    @Test func theSameContentsGiveTheSameBytesWhateverTheOrderTimesAndModes() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        try ArtifactFixtures.checkpointFolder(at: temp("a"))
        // The same files written in another order, with other times and permissions.
        try FileManager.default.createDirectory(at: temp("b"), withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: temp("a").path).sorted().reversed() {
            try Data(contentsOf: temp("a/" + name)).write(to: temp("b/" + name))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000),
                                                   .posixPermissions: 0o600], ofItemAtPath: temp("b/" + name).path)
        }
        let first = try ArtifactArchive.pack(folder: temp("a"), to: temp("a.tar"))
        let second = try ArtifactArchive.pack(folder: temp("b"), to: temp("b.tar"))
        #expect(first == second)
        #expect(try Data(contentsOf: temp("a.tar")) == Data(contentsOf: temp("b.tar")))

        // One byte different is another artifact.
        try Data("[PAD]\n[UNK]\nhellO\n".utf8).write(to: temp("b/vocab.txt"))
        #expect(try ArtifactArchive.pack(folder: temp("b"), to: temp("b.tar")).hash != first.hash)
    }

    @Test func theHeadersCarryFixedOwnerModeAndTimeAndTheEntriesAreSorted() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        try ArtifactFixtures.checkpointFolder(at: temp("checkpoint"))
        try ArtifactArchive.pack(folder: temp("checkpoint"), to: temp("checkpoint.tar"))
        let bytes = [UInt8](try Data(contentsOf: temp("checkpoint.tar")))
        var names: [String] = []
        var offset = 0
        while bytes[offset..<(offset + 512)].contains(where: { $0 != 0 }) {
            let block = Array(bytes[offset..<(offset + 512)])
            func text(_ start: Int, _ width: Int) -> String {
                String(decoding: block[start..<(start + width)].prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            names.append(text(0, 100))
            #expect(text(100, 8) == "0000644")
            #expect(text(108, 8) == "0000000" && text(116, 8) == "0000000")
            #expect(text(136, 12) == "00000000000")
            #expect(Array(block[257..<265]) == Array("ustar\u{0}00".utf8))
            #expect(text(265, 32).isEmpty && text(297, 32).isEmpty)
            let size = Int(text(124, 12), radix: 8)!
            offset += 512 + (size + 511) / 512 * 512
        }
        #expect(names == ["config.json", "empty.txt", "mask.safetensors", "model.safetensors", "training.json", "vocab.txt"])
        // Two zero blocks close it, and nothing follows.
        #expect(bytes.count == offset + 1024)
        #expect(bytes[offset...].allSatisfy { $0 == 0 })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tar"), "needs /usr/bin/tar to check interchange"))
    func systemTarReadsOurArchivesAndWeReadItsUstarArchives() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        try ArtifactFixtures.checkpointFolder(at: temp("checkpoint"))
        try FileManager.default.createDirectory(at: temp("checkpoint/sub"), withIntermediateDirectories: true)
        try Data("inner".utf8).write(to: temp("checkpoint/sub/inner.txt"))
        try ArtifactArchive.pack(folder: temp("checkpoint"), to: temp("ours.tar"))

        try FileManager.default.createDirectory(at: temp("by-tar"), withIntermediateDirectories: true)
        #expect(try Self.tar(["-xf", temp("ours.tar").path, "-C", temp("by-tar").path]) == 0)
        #expect(try ArtifactFixtures.contents(of: temp("by-tar")) == ArtifactFixtures.contents(of: temp("checkpoint")))

        // GNU tar names entries "./x"; ours refuses "." components, so pack by name instead.
        let names = try FileManager.default.contentsOfDirectory(atPath: temp("checkpoint").path).sorted()
        #expect(try Self.tar(["--format=ustar", "-cf", temp("theirs.tar").path, "-C", temp("checkpoint").path] + names) == 0)
        try ArtifactArchive.unpack(temp("theirs.tar"), into: temp("from-tar"))
        #expect(try ArtifactFixtures.contents(of: temp("from-tar")) == ArtifactFixtures.contents(of: temp("checkpoint")))
    }

    private static func tar(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    // MARK: Packing refusals

    @Test func packingRefusesLinksDeepFoldersAndOverlongNames() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        try ArtifactFixtures.checkpointFolder(at: temp("linked"))
        try FileManager.default.createSymbolicLink(atPath: temp("linked/link").path, withDestinationPath: "/etc/passwd")
        let link = #expect(throws: ArtifactArchiveError.self) { try ArtifactArchive.pack(folder: temp("linked"), to: temp("out.tar")) }
        #expect(link?.problem == .unsupportedFile && link?.entry == "link" && link?.archive == temp("out.tar").path)

        try FileManager.default.createDirectory(at: temp("deep/a/b"), withIntermediateDirectories: true)
        let deep = #expect(throws: ArtifactArchiveError.self) { try ArtifactArchive.pack(folder: temp("deep"), to: temp("out.tar")) }
        #expect(deep?.problem == .tooDeep && deep?.entry == "a/b")

        try FileManager.default.createDirectory(at: temp("long"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: temp("long/" + String(repeating: "n", count: 101)))
        let long = #expect(throws: ArtifactArchiveError.self) { try ArtifactArchive.pack(folder: temp("long"), to: temp("out.tar")) }
        #expect(long?.problem == .nameTooLong(bytes: 101))

        // Nothing was left behind: no archive, no temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp.url.path).sorted() == ["deep", "linked", "long"])
    }

    @Test func aSubfolderPathLongerThan100BytesUsesThePrefixField() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        // The folder's own entry, "fff…/", just fits the 100-byte name field; its file's path
        // (190 bytes) is split into prefix and name.
        let folder = String(repeating: "f", count: 99), file = String(repeating: "g", count: 90)
        try FileManager.default.createDirectory(at: temp("long/" + folder), withIntermediateDirectories: true)
        try Data("deep".utf8).write(to: temp("long/\(folder)/\(file)"))
        try ArtifactArchive.pack(folder: temp("long"), to: temp("long.tar"))
        try ArtifactArchive.unpack(temp("long.tar"), into: temp("back"))
        #expect(try Data(contentsOf: temp("back/\(folder)/\(file)")) == Data("deep".utf8))
    }

    // MARK: Unpacking refusals

    /// An archive of three small files: "a" (600 bytes), "b" (10), "c" (0); headers at 0,
    /// 512 + 1024 = 1536 and 2048 + 512 = 2560.
    private static func threeFiles(in temp: ArtifactTestFolder) throws -> [UInt8] {
        try FileManager.default.createDirectory(at: temp("three"), withIntermediateDirectories: true)
        try Data(ArtifactFixtures.bytes(600, seed: 3)).write(to: temp("three/a"))
        try Data(ArtifactFixtures.bytes(10, seed: 4)).write(to: temp("three/b"))
        try Data().write(to: temp("three/c"))
        try ArtifactArchive.pack(folder: temp("three"), to: temp("three.tar"))
        return [UInt8](try Data(contentsOf: temp("three.tar")))
    }

    /// Unpacks `bytes` written as an archive and returns the refusal, checking that neither the
    /// destination nor the temporary folder was left.
    private static func refusal(_ bytes: [UInt8], in temp: ArtifactTestFolder, limits: ArtifactArchive.Limits = .init()) throws -> ArtifactArchiveError? {
        try Data(bytes).write(to: temp("bad.tar"))
        let error = #expect(throws: ArtifactArchiveError.self) {
            try ArtifactArchive.unpack(temp("bad.tar"), into: temp("out"), limits: limits)
        }
        #expect(error?.archive == temp("bad.tar").path)
        #expect(!FileManager.default.fileExists(atPath: temp("out").path))
        #expect(!FileManager.default.fileExists(atPath: temp(".out.unpacking").path))
        return error
    }

    /// A header block for `path` with the type flag `type` and a correct checksum.
    private static func header(_ path: String, type: UInt8 = UInt8(ascii: "0"), size: Int64 = 0) throws -> [UInt8] {
        var block = try UstarHeader(path: path, kind: .file, size: size).encoded()
        block[156] = type
        return rechecksummed(block)
    }

    private static func rechecksummed(_ block: [UInt8]) -> [UInt8] {
        var block = block
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let digits = Array(String(block.reduce(0) { $0 + Int($1) }, radix: 8).utf8)
        block.replaceSubrange(148..<155, with: [UInt8](repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0])
        return block
    }

    private static let end = [UInt8](repeating: 0, count: 1024)

    @Test func aTruncatedArchiveIsRefusedWhereverItIsCut() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        let bytes = try Self.threeFiles(in: temp)
        // Inside "a"'s data.
        let inData = try Self.refusal(Array(bytes.prefix(700)), in: temp)
        #expect(inData?.problem == .truncated && inData?.entry == "a" && inData?.offset == 0)
        // Inside "b"'s header.
        let inHeader = try Self.refusal(Array(bytes.prefix(1600)), in: temp)
        #expect(inHeader?.problem == .truncated && inHeader?.entry == nil && inHeader?.offset == 1536)
        // Exactly after the last entry: the closing zero blocks are missing.
        let atBoundary = try Self.refusal(Array(bytes.prefix(3072)), in: temp)
        #expect(atBoundary?.problem == .truncated && atBoundary?.offset == 3072)
        // One closing block of two.
        let oneBlock = try Self.refusal(Array(bytes.prefix(3584)), in: temp)
        #expect(oneBlock?.problem == .truncated && oneBlock?.offset == 3072)
        // Empty file.
        #expect(try Self.refusal([], in: temp)?.problem == .truncated)
    }

    @Test func aHeaderChecksumMismatchNamesTheOffset() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        var bytes = try Self.threeFiles(in: temp)
        bytes[1536] = UInt8(ascii: "x")  // "b" → "x" in the second header, checksum left as it was
        let error = try Self.refusal(bytes, in: temp)
        guard case let .checksumMismatch(stored, computed)? = error?.problem else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(computed - stored == Int(UInt8(ascii: "x")) - Int(UInt8(ascii: "b")))
        #expect(error?.offset == 1536)
        #expect(error?.description.contains("at offset 1536") == true)
    }

    @Test(arguments: [
        ("../evil", ArtifactArchiveError.Problem.unsafeName(reason: "\"..\" component")),
        ("/etc/passwd", .unsafeName(reason: "absolute path")),
        ("a/../../b", .unsafeName(reason: "\"..\" component")),
        ("./x", .unsafeName(reason: "\".\" component")),
        ("a//b", .unsafeName(reason: "empty path component (a trailing or doubled \"/\")")),
        ("a/b/c", .tooDeep),
    ])
    func namesThatCouldEscapeOrNestAreRefused(name: String, problem: ArtifactArchiveError.Problem) throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        let bytes = try Self.header(name, size: 3) + [1, 2, 3] + [UInt8](repeating: 0, count: 509) + Self.end
        let error = try Self.refusal(bytes, in: temp)
        #expect(error?.problem == problem)
        #expect(error?.entry == name && error?.offset == 0)
        #expect(!FileManager.default.fileExists(atPath: temp("evil").path))
    }

    @Test(arguments: ["1", "2", "3", "4", "6", "x", "g", "L"])
    func linksDevicesAndExtensionHeadersAreRefused(type: String) throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        let bytes = try Self.header("ok.txt", size: 0) + Self.header("special", type: UInt8(ascii: Unicode.Scalar(type)!)) + Self.end
        let error = try Self.refusal(bytes, in: temp)
        #expect(error?.problem == .unsupportedType(flag: UInt8(ascii: Unicode.Scalar(type)!)))
        #expect(error?.offset == 512)
    }

    @Test func sizesPastTheLimitAndTooManyEntriesAreRefusedBeforeWriting() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        let bytes = try Self.threeFiles(in: temp)
        let tooLarge = try Self.refusal(bytes, in: temp, limits: .init(maximumTotalBytes: 609))
        #expect(tooLarge?.problem == .tooLarge(size: 610, limit: 609) && tooLarge?.entry == "b" && tooLarge?.offset == 1536)
        // A header claiming 8 GiB in a tiny file fails on the limit, not by writing.
        let huge = try Self.header("huge", size: UstarHeader.maximumSize) + Self.end
        #expect(try Self.refusal(huge, in: temp, limits: .init(maximumTotalBytes: 1 << 30))?.problem == .tooLarge(size: UstarHeader.maximumSize, limit: 1 << 30))
        let tooMany = try Self.refusal(bytes, in: temp, limits: .init(maximumEntries: 2))
        #expect(tooMany?.problem == .tooManyEntries(limit: 2) && tooMany?.entry == "c")
    }

    @Test func duplicatesForeignHeadersAndAnExistingDestinationAreRefused() throws {
        let temp = try ArtifactTestFolder("archive")
        defer { temp.remove() }
        let twice = try Self.header("same") + Self.header("same") + Self.end
        #expect(try Self.refusal(twice, in: temp)?.problem == .duplicateEntry)

        var notUstar = try Self.header("old")
        notUstar.replaceSubrange(257..<265, with: [UInt8](repeating: 0, count: 8))
        #expect(try Self.refusal(Self.rechecksummed(notUstar) + Self.end, in: temp)?.problem == .notUstar)

        var badSize = try Self.header("size")
        badSize.replaceSubrange(124..<136, with: Array("12x45678901\u{0}".utf8))
        #expect(try Self.refusal(Self.rechecksummed(badSize) + Self.end, in: temp)?.problem == .badNumber(field: "size"))

        let fileThenInside = try Self.header("dir") + Self.header("dir/inner") + Self.end
        #expect(try Self.refusal(fileThenInside, in: temp)?.problem == .unsafeName(reason: "\"dir\" is a file in this archive"))

        let good = try Self.threeFiles(in: temp)
        try Data(good).write(to: temp("good.tar"))
        try FileManager.default.createDirectory(at: temp("existing"), withIntermediateDirectories: true)
        let exists = #expect(throws: ArtifactArchiveError.self) { try ArtifactArchive.unpack(temp("good.tar"), into: temp("existing")) }
        #expect(exists?.problem == .destinationExists)
    }
}
