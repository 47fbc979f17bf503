import FrontierSupport

/// An artifact's content address: the SHA-256 of its bytes as 64 lowercase hex digits.
///
/// It is also the artifact's file name in the store and the cache, so it is only made from text
/// that passed the check below: a name that came over the wire can never be `..`, hold a `/` or
/// differ from another only in letter case.
public struct ArtifactHash: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) throws {
        guard Self.isValid(hex) else { throw ArtifactError.invalidHash(String(hex.prefix(80))) }
        self.hex = hex
    }

    /// From a finished hasher, whose output is lowercase hex by construction.
    init(finishing hasher: inout SHA256) {
        hex = hasher.finalize()
    }

    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    public static func < (a: ArtifactHash, b: ArtifactHash) -> Bool { a.hex < b.hex }

    public var description: String { hex }
}
