import Foundation

/// What the scheduler wants made durable. The coordinator's shell writes a batch of these in
/// one transaction *before* it sends the messages of the same batch, so an agent is never told
/// "accepted" about a result that a crash could still lose.
public enum SweepStoreChange: Sendable, Equatable {
    case agentSeen(SweepAgentRow)
    case trialsAdded([SweepTrialRow])
    case trialLeased(trialId: String, attempt: Int, agentId: String, at: Double)
    /// An attempt ended without a result (lease expired, worker failed): the trial goes back
    /// to pending as `attempt`, or to failed when `failed`.
    case attemptEnded(trialId: String, attempt: Int, agentId: String?, reason: String, nextAttempt: Int, failed: Bool,
                      at: Double)
    case resultAccepted(SweepResultRow)
}

public struct SweepAgentRow: Sendable, Equatable {
    public var agentId: String
    public var deviceClass: String
    public var fingerprintJSON: String
    public var publicKey: String?
    public var threads: Int
    public var engineVersion: String
    public var at: Double

    public init(agentId: String, deviceClass: String, fingerprintJSON: String, publicKey: String?, threads: Int,
                engineVersion: String, at: Double) {
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
    public var resultJSON: String
    public var at: Double

    public init(trialId: String, attempt: Int, agentId: String, deviceClass: String, resultJSON: String, at: Double) {
        self.trialId = trialId
        self.attempt = attempt
        self.agentId = agentId
        self.deviceClass = deviceClass
        self.resultJSON = resultJSON
        self.at = at
    }
}
