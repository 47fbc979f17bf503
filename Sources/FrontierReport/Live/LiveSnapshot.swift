import Foundation
import FrontierAnalysis

/// What the live view shows at one moment, handed to `LiveViewServer` by the coordinator on each
/// request and served as `GET /api/status` (JSON in Frontier's snake_case dialect).
public struct LiveSnapshot: Codable, Sendable, Equatable {
    public struct AgentState: Codable, Sendable, Equatable {
        public var id: String
        public var deviceClass: String
        /// "idle", "running" or "lost".
        public var state: String
        public var trialId: String?
        public var lastSeenAgoS: Double
        public var completed: Int

        public init(id: String, deviceClass: String, state: String, trialId: String? = nil, lastSeenAgoS: Double,
                    completed: Int = 0) {
            self.id = id
            self.deviceClass = deviceClass
            self.state = state
            self.trialId = trialId
            self.lastSeenAgoS = lastSeenAgoS
            self.completed = completed
        }
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var trialId: String
        /// The trial's human label (technique, device class).
        public var label: String
        public var reason: String
        /// When it failed (ISO 8601, or whatever the coordinator writes).
        public var at: String

        public init(trialId: String, label: String, reason: String, at: String) {
            self.trialId = trialId
            self.label = label
            self.reason = reason
            self.at = at
        }
    }

    public var gridName: String
    public var total: Int
    public var done: Int
    public var failed: Int
    public var running: Int
    public var pending: Int
    /// Estimated seconds to the end; nil when unknown.
    public var etaS: Double?
    public var startedAt: String
    public var agents: [AgentState]
    /// Most recent first.
    public var recentFailures: [Failure]
    /// The trials so far, for the frontier plots.
    public var records: [TrialRecord]

    public init(gridName: String, total: Int = 0, done: Int = 0, failed: Int = 0, running: Int = 0, pending: Int = 0,
                etaS: Double? = nil, startedAt: String = "", agents: [AgentState] = [], recentFailures: [Failure] = [],
                records: [TrialRecord] = []) {
        self.gridName = gridName
        self.total = total
        self.done = done
        self.failed = failed
        self.running = running
        self.pending = pending
        self.etaS = etaS
        self.startedAt = startedAt
        self.agents = agents
        self.recentFailures = recentFailures
        self.records = records
    }
}
