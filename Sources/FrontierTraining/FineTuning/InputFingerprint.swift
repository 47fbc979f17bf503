import Foundation

/// A file a run reads (the base's weights and config, the train file, a mask file) as its
/// size and modification time: cheap to take, and enough to notice that a saved state was
/// made from other inputs than the ones a resumed run would read.
public struct InputFingerprint: Codable, Sendable, Equatable {
    public var path: String
    public var bytes: Int
    /// Seconds since 1970, as the file system reports it.
    public var modified: Double

    public init(path: String, bytes: Int, modified: Double) {
        self.path = path
        self.bytes = bytes
        self.modified = modified
    }

    /// The file as it is now.
    public init(url: URL) throws {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        } catch {
            throw TrainingError.invalidSettings("\(url.path): cannot read the file's attributes (\(error.localizedDescription))")
        }
        path = url.standardizedFileURL.path
        bytes = (attributes[.size] as? NSNumber)?.intValue ?? 0
        modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    }

    /// One line per input that changed or is not the same set, naming the file.
    public static func differences(saved: [InputFingerprint], now: [InputFingerprint]) -> [String] {
        let before = Dictionary(saved.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(now.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        for path in Set(before.keys).union(after.keys).sorted() {
            switch (before[path], after[path]) {
            case let (old?, new?) where old != new:
                lines.append("\(path) changed since the state was saved (\(old.bytes) bytes → \(new.bytes) bytes, modified \(Date(timeIntervalSince1970: old.modified)) → \(Date(timeIntervalSince1970: new.modified)))")
            case (nil, _?): lines.append("\(path) is read now but was not when the state was saved")
            case (_?, nil): lines.append("\(path) was read when the state was saved but is not now")
            default: break
            }
        }
        return lines
    }
}
