import Foundation
import FrontierSupport

/// A file a run reads (the base's weights and config, the train file, a mask file) as its
/// size, modification time and SHA-256: enough to notice that a saved state was made from other
/// inputs than the ones a resumed run would read.
///
/// The hash decides when both sides have one: a data folder laid anew (a copied `shared/`, a
/// fresh checkout) has new modification times and the same bytes, and refusing to resume over
/// that lost hours of a lottery-ticket search. States saved before the hash was taken compare
/// by size and time.
public struct InputFingerprint: Codable, Sendable, Equatable {
    public var path: String
    public var bytes: Int
    /// Seconds since 1970, as the file system reports it.
    public var modified: Double
    /// Hex SHA-256 of the contents; nil in states saved before it was recorded.
    public var sha256: String?

    public init(path: String, bytes: Int, modified: Double, sha256: String? = nil) {
        self.path = path
        self.bytes = bytes
        self.modified = modified
        self.sha256 = sha256
    }

    /// Whether `other` is the same file contents as far as both fingerprints can tell.
    public func matches(_ other: InputFingerprint) -> Bool {
        guard bytes == other.bytes else { return false }
        if let sha256, let theirs = other.sha256 { return sha256 == theirs }
        return modified == other.modified
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
        do {
            sha256 = try SHA256.hex(ofFileAt: url.path)
        } catch {
            throw TrainingError.invalidSettings("\(url.path): cannot read the file (\(error.localizedDescription))")
        }
    }

    /// One line per input that changed or is not the same set, naming the file.
    public static func differences(saved: [InputFingerprint], now: [InputFingerprint]) -> [String] {
        let before = Dictionary(saved.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(now.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        for path in Set(before.keys).union(after.keys).sorted() {
            switch (before[path], after[path]) {
            case let (old?, new?) where !old.matches(new):
                let contents = old.sha256 != nil && new.sha256 != nil ? ", contents differ (SHA-256)" : ""
                lines.append("\(path) changed since the state was saved (\(old.bytes) bytes → \(new.bytes) bytes, modified \(Date(timeIntervalSince1970: old.modified)) → \(Date(timeIntervalSince1970: new.modified))\(contents))")
            case (nil, _?): lines.append("\(path) is read now but was not when the state was saved")
            case (_?, nil): lines.append("\(path) was read when the state was saved but is not now")
            default: break
            }
        }
        return lines
    }
}
