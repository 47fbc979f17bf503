import Foundation
import FrontierSupport
#if canImport(Glibc)
import Glibc
#endif

/// The CURVE key a peer authenticated with, as the scheduler needs it: which agent ids it may
/// use, and a short fingerprint stored beside every attempt and result it delivers.
///
/// Why ids are bound to keys: without it a welcomed agent could say Hello under another
/// agent's name and its results would be stored as that agent's, with no trace of the key
/// that sent them — a stolen per-machine key would be as good as every machine's.
public struct AgentKey: Sendable, Equatable {
    /// Z85, 40 characters.
    public var publicKey: String
    /// The authorised file's name without `.pub` (`node7` for `authorized/node7.pub`).
    public var name: String
    /// `fnmatch(3)` globs of the agent ids this key may use.
    public var agentIds: [String]

    public init(publicKey: String, name: String, agentIds: [String]) {
        self.publicKey = publicKey
        self.name = name
        self.agentIds = agentIds
    }

    /// `sha256:` and the first 16 hex digits of SHA-256 over the Z85 text: short enough for a
    /// log line, long enough that two keys of one fleet never share it.
    public var fingerprint: String { Self.fingerprint(publicKey) }

    public static func fingerprint(_ publicKey: String) -> String {
        "sha256:" + SHA256.hex(publicKey).prefix(16)
    }

    public func admits(_ agentId: String) -> Bool {
        agentIds.contains { fnmatch($0, agentId, 0) == 0 }
    }
}
