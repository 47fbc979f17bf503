import Foundation
import FrontierSupport
@testable import FrontierArtifacts

/// A fresh folder under the system's temporary folder for one test, removed by `remove()`.
struct ArtifactTestFolder {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func callAsFunction(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum ArtifactFixtures {
    /// `count` reproducible pseudo-random bytes.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    /// A folder shaped like a fine-tuned checkpoint, with small files.
    static func checkpointFolder(at url: URL, seed: UInt64 = 1) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data(#"{"model_type": "bert", "hidden_size": 32}"#.utf8).write(to: url.appendingPathComponent("config.json"))
        try Data("[PAD]\n[UNK]\nhello\n".utf8).write(to: url.appendingPathComponent("vocab.txt"))
        try Data(bytes(70_001, seed: seed)).write(to: url.appendingPathComponent("model.safetensors"))
        try Data(bytes(512, seed: seed + 1)).write(to: url.appendingPathComponent("mask.safetensors"))
        try Data().write(to: url.appendingPathComponent("empty.txt"))
        try Data(#"{"epochs": 3}"#.utf8).write(to: url.appendingPathComponent("training.json"))
    }

    /// Every file under `url` (one level of subfolders) as relative path → contents; folders
    /// as path + "/" → empty.
    static func contents(of url: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            let child = url.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: child.path, isDirectory: &isFolder)
            if isFolder.boolValue {
                result[name + "/"] = Data()
                for inner in try FileManager.default.contentsOfDirectory(atPath: child.path) {
                    result[name + "/" + inner] = try Data(contentsOf: child.appendingPathComponent(inner))
                }
            } else {
                result[name] = try Data(contentsOf: child)
            }
        }
        return result
    }

    /// The SHA-256 of `bytes` as an artifact hash.
    static func hash(_ bytes: [UInt8]) -> ArtifactHash {
        var hasher = FrontierSupport.SHA256()
        hasher.update(bytes)
        return ArtifactHash(finishing: &hasher)
    }
}
