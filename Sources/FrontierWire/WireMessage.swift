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
public typealias WireCapabilities = Frontier_V1_Capabilities
public typealias WireTrialResult = Frontier_V1_TrialResult
public typealias WireTrialConfiguration = Frontier_V1_TrialConfiguration
public typealias WireTechniqueConfiguration = Frontier_V1_TechniqueConfiguration
public typealias WireHeadList = Frontier_V1_HeadList
public typealias WireMeasurementConfiguration = Frontier_V1_MeasurementConfiguration
public typealias WireEnergyConfiguration = Frontier_V1_EnergyConfiguration
public typealias WireEnergyEstimateParameters = Frontier_V1_EnergyEstimateParameters
public typealias WireEnergySource = Frontier_V1_EnergySource
public typealias WireEnergyDomainKind = Frontier_V1_EnergyDomainKind
public typealias WireEnergyReport = Frontier_V1_EnergyReport
public typealias WireInterval = Frontier_V1_Interval
public typealias WireAppliedTechniques = Frontier_V1_AppliedTechniques
public typealias WireOfflineResult = Frontier_V1_OfflineResult
public typealias WireSingleStreamResult = Frontier_V1_SingleStreamResult
public typealias WireIdleBaseline = Frontier_V1_IdleBaseline
public typealias WireTrialTimings = Frontier_V1_TrialTimings
public typealias WireWorkerTimings = Frontier_V1_WorkerTimings
public typealias WireWorkerExit = Frontier_V1_WorkerExit
public typealias WireGpuDescription = Frontier_V1_GpuDescription
public typealias WireDeviceFingerprint = Frontier_V1_DeviceFingerprint
public typealias WireInterferenceConfiguration = Frontier_V1_InterferenceConfiguration
public typealias WirePairedBaselineConfiguration = Frontier_V1_PairedBaselineConfiguration
public typealias WireWindowInterference = Frontier_V1_WindowInterference
public typealias WireChanceLevel = Frontier_V1_ChanceLevel
public typealias WireEnergyBasis = Frontier_V1_EnergyBasis
public typealias WirePairedBaselineMeasurement = Frontier_V1_PairedBaselineMeasurement
public typealias WirePairedBaselinePlan = Frontier_V1_PairedBaselinePlan
public typealias WireArtifactRef = Frontier_V1_ArtifactRef
public typealias WireArtifactOffer = Frontier_V1_ArtifactOffer
public typealias WireArtifactResume = Frontier_V1_ArtifactResume
public typealias WireArtifactChunk = Frontier_V1_ArtifactChunk
public typealias WireArtifactChunkAck = Frontier_V1_ArtifactChunkAck
public typealias WireArtifactFetch = Frontier_V1_ArtifactFetch
public typealias WireArtifactData = Frontier_V1_ArtifactData
public typealias WireTrainingRun = Frontier_V1_TrainingRun

public enum WireProtocol {
    /// Bumped on any change to proto/frontier.proto that an older peer would misread. Peers
    /// with different versions refuse each other with a message naming both. 2: typed
    /// results (`TrialResult` replaces `result_json`), typed capabilities and fingerprint in
    /// Hello, refusal reasons in Ack, lease-bound results.
    public static let version: UInt32 = 2

    /// Largest frame either side accepts (ZMQ_MAXMSGSIZE): a TrialResult with a full device
    /// fingerprint is ~10 KB; 4 MiB leaves room for big per-layer reports without letting a
    /// bad peer make the coordinator allocate gigabytes.
    public static let maxMessageBytes = 4 << 20

    /// What ZeroMQ itself lets through (ZMQ_MAXMSGSIZE on the coordinator's socket): frames
    /// between the two limits are read and answered with a `FRAME_TOO_LARGE` Reject, so a
    /// peer learns why; beyond this one ZeroMQ drops the connection before anyone reads it.
    public static let transportMessageBytes = 64 << 20

    /// Most data bytes in one ArtifactChunk or ArtifactData: well under `maxMessageBytes`.
    public static let maxArtifactChunkBytes = 1 << 20

    /// `Capabilities.features`: runs training stages and uploads their checkpoints.
    public static let featureTraining = "training"
    /// `Capabilities.features`: fetches `Assignment.inputs` and measures what they unpack to.
    public static let featureArtifacts = "artifacts"
}

public enum WireError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case empty
    case versionMismatch(peer: UInt32, ours: UInt32)

    public var description: String {
        switch self {
        case let .malformed(detail): return "malformed frame: \(detail)"
        case .empty: return "empty frame: an Envelope with no message in it (or zero bytes)"
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
        // A zero-length frame parses as an Envelope with every field unset: that is an empty
        // frame, not a peer speaking protocol 0.
        if envelope.protocolVersion == 0, envelope.body == nil { throw WireError.empty }
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
        case .artifactOffer: return "artifact_offer"
        case .artifactResume: return "artifact_resume"
        case .artifactChunk: return "artifact_chunk"
        case .artifactChunkAck: return "artifact_chunk_ack"
        case .artifactFetch: return "artifact_fetch"
        case .artifactData: return "artifact_data"
        case nil: return "empty"
        }
    }
}

extension WireTrialResult {
    /// The stored form: what the coordinator keeps in `results.result_pb`.
    public func encoded() -> Data { (try? serializedData()) ?? Data() }

    public static func decode(_ bytes: Data) throws -> WireTrialResult {
        do {
            return try WireTrialResult(serializedBytes: bytes)
        } catch {
            throw WireError.malformed("\(bytes.count) bytes that are not a frontier.v1.TrialResult (\(error))")
        }
    }
}

extension WireCapabilities {
    /// Protobuf's JSON mapping with the .proto's field names, for the store and `frontier status`.
    public var jsonText: String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return (try? jsonString(options: options)) ?? "{}"
    }
}
