import Foundation
import FrontierWire

/// What the scheduler wants made durable. The coordinator's shell writes a batch of these in
/// one transaction *before* it sends the messages of the same batch, so an agent is never told
/// "accepted" about a result that a crash could still lose.
public enum SweepStoreChange: Sendable, Equatable {
    case agentSeen(SweepAgentRow)
    case trialsAdded([SweepTrialRow])
    /// `keyFingerprint`: the CURVE key the holder authenticated with (nil without CURVE).
    case trialLeased(trialId: String, attempt: Int, agentId: String, keyFingerprint: String?, at: Double)
    /// An attempt ended without a result (lease expired, worker failed): the trial goes back
    /// to pending as `attempt`, or to failed when `failed`.
    case attemptEnded(trialId: String, attempt: Int, agentId: String?, reason: String, nextAttempt: Int, failed: Bool,
                      at: Double)
    case resultAccepted(SweepResultRow)
    /// A trial that cannot run because a training stage it needs failed: failed without an attempt.
    case trialFailed(trialId: String, reason: String, at: Double)
    /// An uploaded artifact, complete, verified and fsync'd (written only after all three).
    case artifactStored(SweepArtifactRow)
    /// A message the coordinator refused (a result or failure from an agent without the live
    /// lease, an invalid result, a Hello claiming another key's name): kept so that `frontier
    /// status` can count them and an operator can see who sent what.
    case refused(SweepRefusalRow)
    /// Trials that no connected agent can run, and why; replaces the previous list.
    case waiting([SweepWaitingRow])
}

public struct SweepRefusalRow: Sendable, Equatable {
    public var trialId: String?
    public var attempt: Int?
    public var agentId: String?
    public var keyFingerprint: String?
    /// The `Reject.Reason` name, e.g. `NOT_LEASE_HOLDER`.
    public var reason: String
    public var detail: String
    public var at: Double

    public init(trialId: String?, attempt: Int?, agentId: String?, keyFingerprint: String?, reason: String, detail: String,
                at: Double) {
        self.trialId = trialId
        self.attempt = attempt
        self.agentId = agentId
        self.keyFingerprint = keyFingerprint
        self.reason = reason
        self.detail = detail
        self.at = at
    }
}

public struct SweepWaitingRow: Sendable, Equatable, Codable {
    public var deviceClass: String
    public var trials: Int
    public var reason: String

    public init(deviceClass: String, trials: Int, reason: String) {
        self.deviceClass = deviceClass
        self.trials = trials
        self.reason = reason
    }
}

public struct SweepAgentRow: Sendable, Equatable {
    public var agentId: String
    public var deviceClass: String
    public var fingerprintJSON: String
    public var publicKey: String?
    public var threads: Int
    public var engineVersion: String
    public var keyName: String?
    public var keyFingerprint: String?
    /// The Hello's `Capabilities` as JSON, for `frontier status`.
    public var capabilitiesJSON: String
    public var at: Double

    public init(agentId: String, deviceClass: String, fingerprintJSON: String, publicKey: String?, threads: Int,
                engineVersion: String, keyName: String? = nil, keyFingerprint: String? = nil, capabilitiesJSON: String = "{}",
                at: Double) {
        self.keyName = keyName
        self.keyFingerprint = keyFingerprint
        self.capabilitiesJSON = capabilitiesJSON
        self.agentId = agentId
        self.deviceClass = deviceClass
        self.fingerprintJSON = fingerprintJSON
        self.publicKey = publicKey
        self.threads = threads
        self.engineVersion = engineVersion
        self.at = at
    }
}

public struct SweepTrialRow: Sendable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable { case pending, leased, done, failed }
    public var trialId: String
    public var pointKey: String
    public var deviceClass: String
    public var state: State
    /// The attempt now running or next to run, from 1.
    public var attempt: Int
    public var agentId: String?
    public var reasons: [String]

    public init(trialId: String, pointKey: String, deviceClass: String, state: State, attempt: Int,
                agentId: String? = nil, reasons: [String] = []) {
        self.trialId = trialId
        self.pointKey = pointKey
        self.deviceClass = deviceClass
        self.state = state
        self.attempt = attempt
        self.agentId = agentId
        self.reasons = reasons
    }
}

public struct SweepResultRow: Sendable, Equatable {
    public var trialId: String
    public var attempt: Int
    public var agentId: String
    public var deviceClass: String
    /// Validated before it got here (`TrialResultValidator`); the store keeps the message.
    public var result: WireTrialResult
    public var keyName: String?
    public var keyFingerprint: String?
    /// `result`'s bytes as the agent sent them, when the shell could cut them from the frame.
    public var encoded: Data?
    public var at: Double

    public init(trialId: String, attempt: Int, agentId: String, deviceClass: String, result: WireTrialResult,
                keyName: String? = nil, keyFingerprint: String? = nil, encoded: Data? = nil, at: Double) {
        self.encoded = encoded
        self.trialId = trialId
        self.attempt = attempt
        self.agentId = agentId
        self.deviceClass = deviceClass
        self.result = result
        self.keyName = keyName
        self.keyFingerprint = keyFingerprint
        self.at = at
    }
}

/// An artifact the coordinator holds under `STORE/artifacts/<sha256>`.
public struct SweepArtifactRow: Sendable, Equatable {
    public var sha256: String
    public var size: Int64
    /// The training stage's trial that uploaded it first.
    public var trialId: String
    public var agentId: String
    public var at: Double
    public init(sha256: String, size: Int64, trialId: String, agentId: String, at: Double) {
        self.sha256 = sha256
        self.size = size
        self.trialId = trialId
        self.agentId = agentId
        self.at = at
    }
}
