import Foundation

/// Locates `../shared` (the read-only models and GLUE/SQuAD files beside the checkout), or the
/// folder named by `FRONTIER_SHARED`. Tests that need it carry `.needsShared(…)` and are
/// reported skipped, with the missing paths, when it is absent.
enum SharedData {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["FRONTIER_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    static func path(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The base MiniLM-L6 model as `scripts/fetch-base-model.sh` leaves it (git-ignored cache).
    static let baseModel = packageRoot.appendingPathComponent("cache/models/all-minilm-l6-v2")

    static func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: path(relative).path)
    }
}

enum Golden {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden")

    static func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return object
    }

    static func floats(_ value: Any?) -> [Float] {
        (value as? [Any] ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? .nan) }
    }

    static func matrix(_ value: Any?) -> [[Float]] {
        (value as? [Any] ?? []).map { floats($0) }
    }

    static func ints(_ value: Any?) -> [Int32] {
        (value as? [Any] ?? []).map { Int32(($0 as? NSNumber)?.intValue ?? -1) }
    }
}
