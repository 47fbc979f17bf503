import Foundation
import SwiftProtobuf

/// The wire types under the names the rest of Frontier uses, and the one place that turns
/// frames into messages. Everything that arrives on a socket passes through `decode`, so a
/// malformed frame is one typed error here, never a crash further in.
public typealias WireEnvelope = Frontier_V1_Envelope
public typealias WireHello = Frontier_V1_Hello
public typealias WireWelcome = Frontier_V1_Welcome
public typealias WireAssignment = Frontier_V1_Assignment
public typealias WireNoWork = Frontier_V1_NoWork
public typealias WireHeartbeat = Frontier_V1_Heartbeat
public typealias WireResult = Frontier_V1_Result
public typealias WireAck = Frontier_V1_Ack
public typealias WireReject = Frontier_V1_Reject
public typealias WireShutdown = Frontier_V1_Shutdown

public enum WireProtocol {
    /// Bumped on any change to proto/frontier.proto that an older peer would misread. Peers
    /// with different versions refuse each other with a message naming both.
    public static let version: UInt32 = 1

    /// Largest frame either side accepts (ZMQ_MAXMSGSIZE): a TrialResult with a full device
    /// fingerprint is ~10 KB; 4 MiB leaves room for big per-layer reports without letting a
    /// bad peer make the coordinator allocate gigabytes.
    public static let maxMessageBytes = 4 << 20
}

public enum WireError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case empty
    case versionMismatch(peer: UInt32, ours: UInt32)

    public var description: String {
        switch self {
        case let .malformed(detail): return "malformed frame: \(detail)"
        case .empty: return "malformed frame: an Envelope with no message in it"
        case let .versionMismatch(peer, ours):
            return "protocol version mismatch: the peer speaks frontier.v1 protocol \(peer), this side \(ours); "
                + "run the same Frontier release on the coordinator and the agents"
        }
    }
}

extension WireEnvelope {
    public init(_ body: OneOf_Body) {
        self.init()
        protocolVersion = WireProtocol.version
        self.body = body
    }

    /// Parses one frame, checking the version before anything else reads the body.
    public static func decode(_ frame: Data) throws -> WireEnvelope {
        let envelope: WireEnvelope
        do {
            envelope = try WireEnvelope(serializedBytes: frame)
        } catch {
            throw WireError.malformed("\(frame.count) bytes that are not a frontier.v1.Envelope (\(error))")
        }
        if envelope.protocolVersion != WireProtocol.version {
            throw WireError.versionMismatch(peer: envelope.protocolVersion, ours: WireProtocol.version)
        }
        guard envelope.body != nil else { throw WireError.empty }
        return envelope
    }

    public func encoded() -> Data {
        // Serialising a message we built ourselves cannot fail (no required fields in proto3).
        (try? serializedData()) ?? Data()
    }

    /// A short name for logs and counters.
    public var kind: String {
        switch body {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .workRequest: return "work_request"
        case .assignment: return "assignment"
        case .noWork: return "no_work"
        case .heartbeat: return "heartbeat"
        case .result: return "result"
        case .ack: return "ack"
        case .reject: return "reject"
        case .shutdown: return "shutdown"
        case nil: return "empty"
        }
    }
}
