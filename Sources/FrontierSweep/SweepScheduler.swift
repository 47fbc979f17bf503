import Foundation
import FrontierGrid
import FrontierMeasurement
import FrontierSupport
import FrontierWire

/// The coordinator's logic as a pure state machine: events in (a decoded message from a peer,
/// a malformed frame, the clock), directives out (messages to send, changes to make durable).
/// No sockets, no database, no clock of its own — so every failure story (an agent that dies
/// mid-trial, a result that arrives twice, a restart on an old store) is a unit test.
///
/// Exactly once: a trial moves to `done` on its first accepted result and never leaves it;
/// every later result for it is acknowledged (so the agent drops it from its spool) and
/// refused. Leases follow zguide's Paranoid Pirate: an agent heartbeats while it works; a
/// lease not extended for `leaseSeconds` puts the trial back with attempt + 1, and after
/// `maxAttempts` ended attempts the trial is `failed` with every attempt's reason — or after
/// the first, when the failure is deterministic (`FailureKind`).
///
/// Trusts nothing an agent says. A result or failure counts only from the agent holding the
/// live lease on that trial and attempt (or, while the trial waits unleased, from the holder
/// of the attempt that just expired: its measurement is real, only late); everything else is
/// refused with its reason and recorded. A result is validated (`TrialResultValidator`)
/// before it is stored, and an invalid one ends the attempt instead of counting as done.
/// Under CURVE an agent id is bound to the key it authenticated with (`AgentKey`), and an
/// agent is handed only trials its `Capabilities` cover.
public struct SweepScheduler: Sendable {
    public struct Settings: Sendable, Equatable {
        public var leaseSeconds: Double = 30
        public var heartbeatSeconds: Double = 2
        public var maxAttempts: Int = 3
        public var gridName: String = ""
        public var coordinatorId: String = "frontier"
        public init(leaseSeconds: Double = 30, heartbeatSeconds: Double = 2, maxAttempts: Int = 3,
                    gridName: String = "", coordinatorId: String = "frontier") {
            self.leaseSeconds = leaseSeconds
            self.heartbeatSeconds = heartbeatSeconds
            self.maxAttempts = maxAttempts
            self.gridName = gridName
            self.coordinatorId = coordinatorId
        }
    }

    public enum Event: Sendable {
        /// `key`: the CURVE key the peer authenticated with, when there is one. The shell must
        /// pass it with every Hello; later messages of that connection inherit the Hello's.
        /// `frame`: the bytes the envelope was decoded from, when the shell has them (a
        /// result is then stored as sent, not re-encoded).
        case received(peer: Data, envelope: WireEnvelope, key: AgentKey?, at: Double, frame: Data? = nil)
        case malformed(peer: Data, error: WireError, at: Double)
        /// A frame over `WireProtocol.maxMessageBytes` (read, not parsed).
        case oversized(peer: Data, bytes: Int, at: Double)
        case tick(at: Double)
    }

    public enum Directive: Sendable, Equatable {
        case send(peer: Data, WireEnvelope)
        case store(SweepStoreChange)
        case log(String)
    }

    /// Whether a failed attempt is worth another one. A deterministic failure — a missing file,
    /// a head that does not fit the task, a configuration the engine refuses — fails the same way
    /// on every attempt, so retrying it only delays the error by `maxAttempts` trials; it ends
    /// the trial at once. A transient one — a worker crash, a timeout, a lost agent — may not
    /// happen again and is retried.
    public enum FailureKind: Sendable, Equatable {
        case deterministic
        case transient
    }

    /// The kind of a FAILED result, from what the result carries today (the wire has no field
    /// for it yet):
    /// - `bad assignment: …` — the agent could not decode, expand or validate the spec: deterministic;
    /// - the worker exited with status 1 on its own after writing its error — the trial's own
    ///   code threw (a checkpoint file, task data, a head, a technique): deterministic;
    /// - anything else — a signal, a kill (timeout, memory limit, lease gone), another exit
    ///   status, no worker at all (the agent's own setup failed): transient.
    public static func failureKind(of result: WireTrialResult) -> FailureKind {
        if result.failureReason.hasPrefix("bad assignment:") { return .deterministic }
        guard result.hasWorker else { return .transient }
        let w = result.worker
        // Exit 1 without an outcome file reads "the worker exited with status 1" (WorkerExit.reason):
        // the worker said nothing about why, so it counts as a crash.
        if w.hasExitCode, w.exitCode == 1, !w.hasSignal, !w.hasKilledBecause,
           !result.failureReason.hasPrefix("the worker exited") { return .deterministic }
        return .transient
    }

    public struct Progress: Sendable, Equatable, Codable {
        public var total = 0
        public var done = 0
        public var failed = 0
        public var running = 0
        public var pending = 0
        public var deviceClasses: [String] = []
        /// Training stages (their trials are among the totals above): all, done, running now;
        /// and trials waiting for a stage's checkpoint (counted in `pending`).
        public var stages = 0
        public var stagesDone = 0
        public var training = 0
        public var waitingOnTraining = 0
        public var finished: Bool { total > 0 && done + failed == total }
        public init() {}
    }

    public struct Agent: Sendable, Equatable {
        public enum State: String, Sendable, Codable { case idle, running, lost }
        public var id: String
        public var deviceClass: String
        public var peer: Data
        public var lastSeen: Double
        public var trialId: String?
        public var state: State
        public var completed = 0
        public var failedAttempts = 0
        public var key: AgentKey?
        public var capabilities = WireCapabilities()
        /// Requirement groups (indices into `requirementGroups`) this agent can run.
        var runnable: [Int32] = []
    }

    struct Trial: Sendable {
        var point: Int32
        var deviceClass: Int32
        var state: SweepTrialRow.State
        var attempt: Int32
        /// The lease holder while leased; the agent whose result counted once done.
        var agent: String?
        var leaseExpiry: Double
        var reasons: [String]
        /// Requirement group (index into `requirementGroups`).
        var group: Int32 = 0
        /// Who held the attempt that ended last (attempt − 1), so that its late result can
        /// still count while nobody else holds the trial.
        var lastHolder: String?
        /// That attempt ended because its lease expired (a slow agent, whose result may still
        /// come), not because its holder reported a failure or an invalid result.
        var lateAllowed = false
        /// Pending, but waiting for a training stage's checkpoint (in `blocked`, not a queue).
        var blocked = false
    }

    public private(set) var settings: Settings
    public let placement: SweepPlacement
    let points: [SweepPoint]
    var pointIndex: [String: Int32] = [:]
    var classes: [String] = []
    var classIndex: [String: Int32] = [:]
    var trials: [Trial] = []
    var trialIndex: [String: Int32] = [:]
    /// Distinct requirements of the grid's points: a handful, whatever the grid's size.
    public private(set) var requirementGroups: [TrialRequirements] = []
    var groupOfPoint: [Int32] = []
    /// Per device class and requirement group, pending trials in grid order (a cursor over an
    /// append-only queue).
    var queues: [[[Int32]]] = []
    var queueHeads: [[Int]] = []
    var leased: Set<Int32> = []
    /// Per device class and group, trials still pending or leased: "is there anything left
    /// this agent could run" in O(groups).
    var openCount: [[Int]] = []
    /// Trials per state (pending, leased, done, failed), kept by `append` and `setState`.
    var stateCounts = [0, 0, 0, 0]
    var startupChanges: [SweepStoreChange] = []
    public private(set) var agents: [String: Agent] = [:]
    var agentByPeer: [Data: String] = [:]
    public private(set) var malformedFrames = 0
    public private(set) var counters: [String: Int] = [:]
    /// Points measured on device classes (every point but the training stages').
    var measurementPoints: [Int32] = []
    /// Training stage key → its trial.
    var stageTrial: [String: Int32] = [:]
    /// Training stage key → pending trials waiting for it (checked again when it ends).
    var blocked: [String: [Int32]] = [:]
    var blockedCount = 0
    /// Training stage key → the checkpoint it made (from its accepted result).
    public private(set) var stageArtifacts: [String: WireArtifactRef] = [:]
    /// Artifacts stored complete and verified: SHA-256 → size.
    var uploaded: [String: Int64] = [:]
    /// Changes made while adding trials (a trial whose stage already failed), for the caller.
    var deferredChanges: [SweepStoreChange] = []
    /// The time of the latest event, for changes made where no event's time is at hand.
    var lastNow = 0.0

    public init(points: [SweepPoint], placement: SweepPlacement, settings: Settings,
                restored: [SweepTrialRow] = [], now: Double = 0, artifacts: [SweepArtifactRow] = [],
                stageArtifacts: [String: WireArtifactRef] = [:]) {
        self.points = points
        self.placement = placement
        self.settings = settings
        var groupIndex: [TrialRequirements: Int32] = [:]
        groupOfPoint.reserveCapacity(points.count)
        for (i, point) in points.enumerated() {
            pointIndex[point.key] = Int32(i)
            if let g = groupIndex[point.requirements] {
                groupOfPoint.append(g)
            } else {
                let g = Int32(requirementGroups.count)
                requirementGroups.append(point.requirements)
                groupIndex[point.requirements] = g
                groupOfPoint.append(g)
            }
        }
        lastNow = now
        for row in artifacts { uploaded[row.sha256] = row.size }
        self.stageArtifacts = stageArtifacts
        measurementPoints = points.indices.filter { !points[$0].isTrainingStage }.map(Int32.init)
        if placement == .any { _ = classId(SweepPlacement.anyClass) }
        var restoredTrials: [(Int32, SweepTrialRow)] = []
        for row in restored {
            guard let p = pointIndex[row.pointKey] else { continue }
            restoredTrials.append((p, row))
        }
        // Stages first, so that every trial that needs one finds it when it is added.
        restoredTrials.sort { (points[Int($0.0)].isTrainingStage ? 0 : 1) < (points[Int($1.0)].isTrainingStage ? 0 : 1) }
        var stagesAdded = false
        var stageRows: [SweepTrialRow] = []
        for (p, row) in restoredTrials {
            if !stagesAdded, !points[Int(p)].isTrainingStage {
                addStageTrials(rows: &stageRows)
                stagesAdded = true
            }
            let c = classId(row.deviceClass)
            var trial = Trial(point: p, deviceClass: c, state: row.state, attempt: Int32(max(1, row.attempt)),
                              agent: row.agentId, leaseExpiry: 0, reasons: row.reasons, group: groupOfPoint[Int(p)])
            if trial.state == .leased {
                // Running when the coordinator stopped: its agent may still finish it and say
                // so after reconnecting; if it does not within one lease, it runs again.
                trial.leaseExpiry = now + settings.leaseSeconds
            } else if trial.state == .pending, trial.attempt > 1 {
                // The store keeps the last holder in agent_id: its late result may still count
                // if its lease only expired.
                trial.lastHolder = row.agentId
                trial.lateAllowed = row.reasons.last?.contains("lease expired") == true
                trial.agent = nil
            }
            append(trial)
        }
        if !stagesAdded { addStageTrials(rows: &stageRows) }
        if !stageRows.isEmpty { startupChanges.append(.trialsAdded(stageRows)) }
        if placement == .any {
            var rows: [SweepTrialRow] = []
            addTrials(forClass: SweepPlacement.anyClass, rows: &rows)
            if !rows.isEmpty { startupChanges.append(.trialsAdded(rows)) }
        }
        startupChanges += deferredChanges
        deferredChanges = []
    }

    /// One trial per training stage, on the class its `train_on` names, skipping any the store had.
    mutating func addStageTrials(rows: inout [SweepTrialRow]) {
        for p in points.indices where points[p].isTrainingStage {
            let cls = SweepPlacement.trainingClass(trainOn: points[p].trainOn ?? SweepPlacement.anyClass)
            let c = classId(cls)
            let id = points[p].trialId(deviceClass: cls)
            guard trialIndex[id] == nil else { continue }
            append(Trial(point: Int32(p), deviceClass: c, state: .pending, attempt: 1, agent: nil, leaseExpiry: 0,
                         reasons: [], group: groupOfPoint[p]))
            rows.append(SweepTrialRow(trialId: id, pointKey: points[p].key, deviceClass: cls, state: .pending, attempt: 1))
        }
    }

    /// Changes made while starting (trials of an `any` grid), for the shell to store first.
    public mutating func takeStartupChanges() -> [SweepStoreChange] {
        defer { startupChanges = [] }
        return startupChanges
    }

    // MARK: - Queries

    /// O(1): the coordinator reads it every turn of its loop, with 10⁵ trials.
    public var progress: Progress {
        var p = Progress()
        p.total = trials.count
        p.pending = stateCounts[0]
        p.running = stateCounts[1]
        p.done = stateCounts[2]
        p.failed = stateCounts[3]
        p.deviceClasses = classes.filter { !SweepPlacement.isTrainingClass($0) }
        p.stages = stageTrial.count
        for i in stageTrial.values {
            switch trials[Int(i)].state {
            case .done: p.stagesDone += 1
            case .leased: p.training += 1
            default: break
            }
        }
        p.waitingOnTraining = blockedCount
        return p
    }

    static func slot(_ state: SweepTrialRow.State) -> Int {
        switch state {
        case .pending: return 0
        case .leased: return 1
        case .done: return 2
        case .failed: return 3
        }
    }

    public func trialState(_ id: String) -> SweepTrialRow? {
        guard let i = trialIndex[id] else { return nil }
        return row(Int(i))
    }

    public var allTrials: [SweepTrialRow] { trials.indices.map(row) }

    func row(_ i: Int) -> SweepTrialRow {
        let t = trials[i]
        let point = points[Int(t.point)]
        let cls = classes[Int(t.deviceClass)]
        return SweepTrialRow(trialId: point.trialId(deviceClass: cls), pointKey: point.key, deviceClass: cls,
                             state: t.state, attempt: Int(t.attempt), agentId: t.agent, reasons: t.reasons)
    }

    /// Trials that wait for an agent that can run them: per device class and requirement
    /// group with open trials, when no live agent of that class covers the group, with what
    /// the closest agent lacks. O(classes × groups × agents): the shell asks once a second.
    public var waiting: [SweepWaitingRow] {
        var out: [SweepWaitingRow] = []
        let live = agents.values.filter { $0.state != .lost }.sorted { $0.id < $1.id }
        for c in classes.indices {
            for g in requirementGroups.indices {
                let open = openCount[c][g] - leasedCount(class: c, group: g) - blockedCount(class: c, group: g)
                guard open > 0 else { continue }
                let cls = classes[c]
                let candidates = live.filter { mayRun(class: Int32(c), $0) }
                if candidates.contains(where: { $0.runnable.contains(Int32(g)) }) { continue }
                let reason: String
                if candidates.isEmpty {
                    reason = placement == .any || cls == "train" ? "no agent connected"
                        : "no agent of device class \(cls.hasPrefix("train:") ? String(cls.dropFirst(6)) : cls) connected"
                } else {
                    let gaps = candidates.map { ($0.id, requirementGroups[g].missing(in: $0.capabilities)) }
                        .min { $0.1.count < $1.1.count }!
                    reason = "no connected agent can run them: \(gaps.0) lacks \(gaps.1.joined(separator: ", "))"
                }
                out.append(SweepWaitingRow(deviceClass: cls, trials: open, reason: reason))
            }
        }
        return out
    }

    /// Trials waiting for a stage are not waiting for an agent. O(blocked), asked once a second.
    func blockedCount(class c: Int, group g: Int) -> Int {
        guard blockedCount > 0 else { return 0 }
        var n = 0
        for list in blocked.values {
            for i in list where trials[Int(i)].blocked && trials[Int(i)].deviceClass == Int32(c) && trials[Int(i)].group == Int32(g) { n += 1 }
        }
        return n
    }

    /// Whether `agent` may take trials of class `c`: its own device class (or `any`), and the
    /// training stages for any class or for its own.
    func mayRun(class c: Int32, _ agent: Agent) -> Bool {
        let cls = classes[Int(c)]
        if cls == "train" { return true }
        if cls.hasPrefix("train:") { return cls.dropFirst(6) == agent.deviceClass }
        return placement == .any || cls == agent.deviceClass
    }

    /// The classes an agent takes work from, training stages first (they unlock the rest).
    func classesFor(_ agent: Agent) -> [Int32] {
        var out: [Int32] = []
        if let c = classIndex["train"] { out.append(c) }
        if let c = classIndex["train:\(agent.deviceClass)"] { out.append(c) }
        if let c = classIndex[placement == .any ? SweepPlacement.anyClass : agent.deviceClass] { out.append(c) }
        return out
    }

    func leasedCount(class c: Int, group g: Int) -> Int {
        var n = 0
        for i in leased where trials[Int(i)].deviceClass == Int32(c) && trials[Int(i)].group == Int32(g) { n += 1 }
        return n
    }

    // MARK: - Events

    public mutating func handle(_ event: Event) -> [Directive] {
        var out: [Directive] = []
        handle(event, into: &out)
        return out
    }

    public mutating func handle(_ event: Event, into out: inout [Directive]) {
        switch event {
        case let .tick(now), let .malformed(_, _, now), let .oversized(_, _, now), let .received(_, _, _, now, _):
            lastNow = now
        }
        switch event {
        case let .tick(now):
            expireLeases(now: now, into: &out)
        case let .malformed(peer, error, now):
            malformedFrames += 1
            count("malformed")
            switch error {
            case let .versionMismatch(theirs, ours):
                out.append(.send(peer: peer, reject(.versionMismatch, WireError.versionMismatch(peer: theirs, ours: ours)
                                                                            .description)))
            case .empty:
                out.append(.send(peer: peer, reject(.emptyFrame, error.description)))
                refused(nil, attempt: nil, agentId: agentByPeer[peer], reason: .emptyFrame, detail: error.description,
                        now: now, into: &out, store: false)
            case .malformed:
                // Dropped: answering garbage only feeds whoever sent it (the shell logs it).
                break
            }
        case let .oversized(peer, bytes, now):
            malformedFrames += 1
            count("oversized")
            let detail = "a frame of \(bytes) bytes exceeds the protocol's limit of \(WireProtocol.maxMessageBytes) bytes (4 MiB)"
            out.append(.send(peer: peer, reject(.frameTooLarge, detail)))
            refused(nil, attempt: nil, agentId: agentByPeer[peer], reason: .frameTooLarge, detail: detail, now: now, into: &out)
        case let .received(peer, envelope, key, now, frame):
            count(envelope.kind)
            receive(peer: peer, envelope: envelope, key: key, now: now, frame: frame, into: &out)
        }
    }

    mutating func receive(peer: Data, envelope: WireEnvelope, key: AgentKey?, now: Double, frame: Data? = nil,
                          into out: inout [Directive]) {
        if case let .hello(hello) = envelope.body {
            welcome(peer: peer, hello: hello, key: key, now: now, into: &out)
            return
        }
        guard let agentId = agentByPeer[peer], var agent = agents[agentId] else {
            // A peer we don't know: typically an agent that was connected before the
            // coordinator restarted. It says Hello again and carries on.
            switch envelope.body {
            case .workRequest, .heartbeat, .result:
                out.append(.send(peer: peer, reject(.notWelcomed, "say Hello first (the coordinator may have restarted)")))
            default:
                break
            }
            return
        }
        agent.lastSeen = now
        if agent.state == .lost { agent.state = agent.trialId == nil ? .idle : .running }
        agents[agentId] = agent

        switch envelope.body {
        case .workRequest:
            assign(agentId: agentId, now: now, into: &out)
        case let .heartbeat(beat):
            heartbeat(beat, agentId: agentId, peer: peer, now: now, into: &out)
        case let .result(result):
            accept(result: result, agentId: agentId, now: now, frame: frame, into: &out)
        default:
            out.append(.send(peer: peer, reject(.malformed, "an agent may not send \(envelope.kind)")))
        }
    }

    /// Agent ids: what `frontier.proto` promises under Limits.
    static func validAgentId(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 200 else { return false }
        return id.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == ":" || c == "-"
        }
    }

    /// The process instance in a Frontier agent's routing id `AGENT_ID/INSTANCE:CONNECTION`
    /// (`SweepAgent`), or nil for a routing id of another shape (another client, an older agent):
    /// those are never refused as duplicates.
    static func routingInstance(_ peer: Data) -> Substring? {
        guard let text = String(data: peer, encoding: .utf8), let slash = text.lastIndex(of: "/") else { return nil }
        let tail = text[text.index(after: slash)...]
        guard let colon = tail.firstIndex(of: ":"), colon != tail.startIndex else { return nil }
        return tail[..<colon]
    }

    static func validDeviceClass(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains("@"), !SweepPlacement.isTrainingClass(name) else { return false }
        return !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    mutating func welcome(peer: Data, hello: WireHello, key: AgentKey?, now: Double, into out: inout [Directive]) {
        let agentId = hello.agentID
        let deviceClass = hello.deviceClass.trimmingCharacters(in: .whitespaces)
        guard Self.validAgentId(agentId), Self.validDeviceClass(deviceClass) else {
            let detail = "Hello needs an agent_id of 1–200 characters from [A-Za-z0-9._:-] (got \"\(agentId.prefix(220))\") "
                + "and a device_class of 1–200 characters without '@', not `train` or `train:…` (reserved for training stages) "
                + "(got \"\(deviceClass.prefix(220))\")"
            out.append(.send(peer: peer, reject(.badHello, detail)))
            refused(nil, attempt: nil, agentId: nil, key: key, reason: .badHello, detail: detail, now: now, into: &out)
            return
        }
        // Identity: a key admits only the ids it names, and a live agent keeps its key.
        if let key {
            if !key.admits(agentId) {
                let detail = "key \(key.name).pub (\(key.fingerprint)) admits agent ids \(key.agentIds.joined(separator: ", ")), "
                    + "not \(agentId): run the agent with --agent-id matching one of them, or list it on a "
                    + "'# agent-ids:' line in the coordinator's authorized/\(key.name).pub"
                out.append(.send(peer: peer, reject(.identityRefused, detail)))
                refused(nil, attempt: nil, agentId: agentId, key: key, reason: .identityRefused, detail: detail, now: now, into: &out)
                return
            }
            if let existing = agents[agentId], existing.state != .lost, let held = existing.key, held.publicKey != key.publicKey {
                let detail = "agent id \(agentId) is connected with key \(held.name).pub (\(held.fingerprint)); "
                    + "key \(key.name).pub may not take it over while that agent is alive"
                out.append(.send(peer: peer, reject(.identityRefused, detail)))
                refused(nil, attempt: nil, agentId: agentId, key: key, reason: .identityRefused, detail: detail, now: now, into: &out)
                return
            }
        }
        // One live process per agent id. Frontier's agents connect with routing ids
        // `AGENT_ID/INSTANCE:CONNECTION`: a new connection of the same instance is a reconnect
        // and takes the id over; another instance's Hello while the holder is live (not yet
        // `.lost`: heard from within a lease) would knock it off, so it is refused until then.
        if let old = agents[agentId], old.peer != peer, old.state != .lost,
           let held = Self.routingInstance(old.peer), let claimed = Self.routingInstance(peer), held != claimed {
            let detail = "agent id \(agentId) is held by another live process (instance \(held), last heard "
                + "\(String(format: "%.0f", max(0, now - old.lastSeen))) s ago): give every agent its own --agent-id; "
                + "if that process is gone, the id is free once its lease (\(String(format: "%.0f", settings.leaseSeconds)) s) runs out"
            out.append(.send(peer: peer, reject(.agentIDInUse, detail)))
            refused(nil, attempt: nil, agentId: agentId, key: key, reason: .agentIDInUse, detail: detail, now: now, into: &out)
            return
        }
        if let old = agents[agentId], old.peer != peer { agentByPeer[old.peer] = nil }
        agentByPeer[peer] = agentId
        var agent = agents[agentId] ?? Agent(id: agentId, deviceClass: deviceClass, peer: peer, lastSeen: now, trialId: nil,
                                             state: .idle)
        agent.peer = peer
        agent.deviceClass = deviceClass
        agent.lastSeen = now
        agent.trialId = nil
        agent.state = .idle
        agent.key = key
        agent.capabilities = hello.capabilities
        agent.runnable = requirementGroups.indices.compactMap {
            requirementGroups[$0].missing(in: hello.capabilities).isEmpty ? Int32($0) : nil
        }
        // Trials it is still running (a reconnect, or a coordinator restart): keep their leases.
        // Only its own: a lease belongs to the agent that holds it until it expires or is given
        // back, so a Hello naming another agent's trial (a copied agent folder, a stale spool,
        // a forgery) does not move it.
        var refusedClaims: [(String, WireReject.Reason, String)] = []
        for id in hello.runningTrialIds {
            guard let i = trialIndex[id] else {
                refusedClaims.append((id, .unknownTrial, "\(id) is not a trial of this coordinator's grid"))
                continue
            }
            let t = trials[Int(i)]
            if t.state == .leased, t.agent == agentId {
                trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
                agent.trialId = id
                agent.state = .running
            } else if t.state == .pending, t.lateAllowed, t.lastHolder == agentId {
                // Its lease expired while it was away, and nobody took the trial yet: its
                // result may still count (see `accept`), so it is not told to stop.
                continue
            } else {
                let mine = t.lastHolder == agentId
                refusedClaims.append((id, mine ? .leaseExpired : .notLeaseHolder,
                                      mine ? "your lease on \(id) expired; it was handed on"
                                           : "\(id) is not leased to \(agentId)"))
            }
        }
        agents[agentId] = agent
        out.append(.store(.agentSeen(SweepAgentRow(agentId: agentId, deviceClass: deviceClass,
                                                   fingerprintJSON: Self.fingerprintJSON(hello), publicKey: key?.publicKey,
                                                   threads: Int(hello.threads), engineVersion: hello.engineVersion,
                                                   keyName: key?.name, keyFingerprint: key?.fingerprint,
                                                   capabilitiesJSON: hello.capabilities.jsonText,
                                                   at: now))))
        if placement == .everyDeviceClass, classIndex[deviceClass] == nil
            || !hasTrials(forClass: classIndex[deviceClass]!) {
            addTrials(forClass: deviceClass, emitInto: &out)
            out.append(.log("device class \(deviceClass) joined with agent \(agentId): \(measurementPoints.count) trials added"))
        }
        if agent.runnable.count < requirementGroups.count {
            let cannot = requirementGroups.indices.filter { !agent.runnable.contains(Int32($0)) }
            let example = requirementGroups[cannot[0]].missing(in: hello.capabilities).joined(separator: ", ")
            out.append(.log("agent \(agentId) cannot run \(cannot.count) of \(requirementGroups.count) kinds of trial "
                + "(e.g. it lacks \(example)); it gets only the others"))
        }
        var w = WireWelcome()
        w.coordinatorID = settings.coordinatorId
        w.gridName = settings.gridName
        w.heartbeatIntervalMs = UInt32(settings.heartbeatSeconds * 1000)
        w.leaseMs = UInt32(settings.leaseSeconds * 1000)
        w.keyName = key?.name ?? ""
        w.keyFingerprint = key?.fingerprint ?? ""
        out.append(.send(peer: peer, WireEnvelope(.welcome(w))))
        for (id, reason, detail) in refusedClaims {
            out.append(.send(peer: peer, reject(reason, detail, trialId: id)))
            refused(id, attempt: nil, agentId: agentId, reason: reason, detail: "Hello claimed a running trial: \(detail)",
                    now: now, into: &out)
        }
    }

    /// The Hello's fingerprint as the store's agents row keeps it: the measurement layer's JSON,
    /// as reports read it.
    static func fingerprintJSON(_ hello: WireHello) -> String {
        guard hello.hasFingerprint,
              let data = try? JSONCoding.encoder.encode(DeviceFingerprint(wire: hello.fingerprint)) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    mutating func heartbeat(_ beat: WireHeartbeat, agentId: String, peer: Data, now: Double, into out: inout [Directive]) {
        if !beat.trialID.isEmpty {
            guard let i = trialIndex[beat.trialID] else {
                out.append(.send(peer: peer, reject(.unknownTrial, "\(beat.trialID) is not a trial of this grid",
                                                    trialId: beat.trialID)))
                count("heartbeat_unknown_trial")
                return
            }
            let t = trials[Int(i)]
            if t.state == .leased, t.agent == agentId, t.attempt == Int32(beat.attempt) {
                trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
            } else if !(t.state == .pending && t.lateAllowed && t.lastHolder == agentId && t.attempt == Int32(beat.attempt) + 1) {
                // The lease is gone (expired and handed on, ended, or never this agent's): say
                // so, so the agent stops working for nothing. An expired attempt that nobody
                // took over yet may still finish and count, so it is left alone.
                let mine = Self.held(t, attempt: beat.attempt, by: agentId)
                let reason: WireReject.Reason = mine ? .leaseExpired : .notLeaseHolder
                let detail = mine ? "your lease on \(beat.trialID) attempt \(beat.attempt) is gone (the trial is "
                    + "\(t.state.rawValue), attempt \(t.attempt)): stop it"
                    : "\(beat.trialID) attempt \(beat.attempt) is not leased to \(agentId)"
                if var agent = agents[agentId], agent.trialId == beat.trialID {
                    agent.trialId = nil
                    agent.state = .idle
                    agents[agentId] = agent
                }
                out.append(.send(peer: peer, reject(reason, detail, trialId: beat.trialID)))
                count("heartbeat_lease_gone")
                return
            }
        }
        var echo = WireHeartbeat()
        echo.trialID = beat.trialID
        echo.attempt = beat.attempt
        out.append(.send(peer: peer, WireEnvelope(.heartbeat(echo))))
    }

    mutating func assign(agentId: String, now: Double, into out: inout [Directive]) {
        guard var agent = agents[agentId] else { return }
        let cls = placement == .any ? SweepPlacement.anyClass : agent.deviceClass
        // An agent asks again when an answer is slow; it runs one trial at a time, so a
        // second lease would only sit unrenewed until it expired. Repeat the first instead.
        if let current = agent.trialId, let i = trialIndex[current], trials[Int(i)].state == .leased,
           trials[Int(i)].agent == agentId {
            out.append(.send(peer: agent.peer, WireEnvelope(.assignment(assignment(Int(i), trialId: current)))))
            return
        }
        var popped: (Int32, Int32)?
        for c in classesFor(agent) {
            if let i = popPending(Int(c), groups: agent.runnable, agentId: agentId) {
                popped = (c, i)
                break
            }
        }
        guard let (c, i) = popped else {
            var none = WireNoWork()
            none.retryAfterMs = UInt32(min(5.0, settings.heartbeatSeconds) * 1000)
            none.sweepFinished = classesFor(agent).allSatisfy { finished(forClass: classes[Int($0)], groups: agent.runnable) }
                && classIndex[cls] != nil
            out.append(.send(peer: agent.peer, WireEnvelope(.noWork(none))))
            return
        }
        setState(Int(i), .leased)
        trials[Int(i)].agent = agentId
        trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
        leased.insert(i)
        let point = points[Int(trials[Int(i)].point)]
        let trialId = point.trialId(deviceClass: classes[Int(c)])
        agent.trialId = trialId
        agent.state = .running
        agents[agentId] = agent
        out.append(.store(.trialLeased(trialId: trialId, attempt: Int(trials[Int(i)].attempt), agentId: agentId,
                                       keyFingerprint: agent.key?.fingerprint, at: now)))
        out.append(.send(peer: agent.peer, WireEnvelope(.assignment(assignment(Int(i), trialId: trialId)))))
    }

    func assignment(_ i: Int, trialId: String) -> WireAssignment {
        let point = points[Int(trials[i].point)]
        var a = WireAssignment()
        a.trialID = trialId
        a.attempt = UInt32(trials[i].attempt)
        a.specJson = String(decoding: point.specJSON, as: UTF8.self)
        a.leaseMs = UInt32(settings.leaseSeconds * 1000)
        a.pointKey = point.key
        a.label = point.label
        a.training = point.isTrainingStage
        a.inputs = point.inputs.compactMap { input in
            guard var ref = stageArtifacts[input.stage] else { return nil }
            ref.role = input.role
            ref.stageKey = input.stage
            return ref
        }
        return a
    }

    /// Whose result this is allowed to be: the live lease holder's, or the late one of the
    /// holder of the attempt that just expired while nobody else holds the trial.
    enum Standing { case holder, lateHolder, refused(WireReject.Reason, String) }

    func standing(_ i: Int, agentId: String, attempt: UInt32, failed: Bool) -> Standing {
        let t = trials[i]
        let id = points[Int(t.point)].trialId(deviceClass: classes[Int(t.deviceClass)])
        switch t.state {
        case .done:
            return .refused(.duplicate, "duplicate: \(id) already has an accepted result")
        case .leased where t.agent == agentId && t.attempt == Int32(attempt):
            return .holder
        case .pending where !failed && t.lateAllowed && t.lastHolder == agentId && t.attempt == Int32(attempt) + 1:
            return .lateHolder
        default:
            if Self.held(t, attempt: attempt, by: agentId) {
                return .refused(.leaseExpired, "your lease on \(id) attempt \(attempt) expired; the trial is \(t.state.rawValue) "
                    + "at attempt \(t.attempt)")
            }
            return .refused(.notLeaseHolder, "\(id) attempt \(attempt) was not leased to \(agentId)")
        }
    }

    /// Whether `agentId` held `attempt` of the trial at some point: its lease on it expired
    /// (LEASE_EXPIRED), as against never having been its (NOT_LEASE_HOLDER).
    static func held(_ t: Trial, attempt: UInt32, by agentId: String) -> Bool {
        (t.agent == agentId && t.attempt == Int32(attempt)) || (t.lastHolder == agentId && t.attempt == Int32(attempt) + 1)
            || (t.state == .done && t.agent == agentId)
    }

    mutating func accept(result: WireResult, agentId: String, now: Double, frame: Data? = nil, into out: inout [Directive]) {
        guard var agent = agents[agentId] else { return }
        var ack = WireAck()
        ack.trialID = result.trialID
        ack.attempt = result.attempt
        if agent.trialId == result.trialID {
            agent.trialId = nil
            agent.state = .idle
        }
        defer {
            agents[agentId] = agent
            out.append(.send(peer: agent.peer, WireEnvelope(.ack(ack))))
        }
        func refuse(_ reason: WireReject.Reason, _ note: String) {
            ack.accepted = false
            ack.reason = reason
            ack.note = note
            refused(result.trialID, attempt: Int(result.attempt), agentId: agentId, key: agent.key, reason: reason,
                    detail: note, now: now, into: &out)
        }
        guard let i = trialIndex[result.trialID] else {
            return refuse(.unknownTrial, "unknown trial \(result.trialID): not in this coordinator's grid")
        }
        let failed = result.result.status == .failed
        let standing = standing(Int(i), agentId: agentId, attempt: result.attempt, failed: failed)
        if case let .refused(reason, note) = standing { return refuse(reason, note) }
        let t = trials[Int(i)]
        let cls = classes[Int(t.deviceClass)]
        // A result counts only for the hardware it was measured on.
        if !mayRun(class: t.deviceClass, agent) {
            return refuse(.wrongDeviceClass, "\(result.trialID) belongs to device class \(cls), not this agent's \(agent.deviceClass)")
        }
        let point = points[Int(t.point)]
        // Validation only: the rules guarantee the message converts, and converting (or
        // encoding JSON) here would cost the loop more than everything else a result needs.
        var problem: TrialResultProblem?
        if !result.hasResult {
            problem = TrialResultProblem(field: "", problem: "Result.result is missing (it is required)")
        } else if let stage = point.stageKey {
            problem = TrainingResultValidator.validate(result.result, task: point.task, stageKey: stage, uploaded: uploaded)
        } else if result.result.hasTraining {
            problem = TrialResultProblem(field: "training", problem: "is only for training stages; this trial measures")
        } else {
            problem = TrialResultValidator.validate(result.result, task: point.task)
        }
        if case .holder = standing {
            if let problem {
                agent.failedAttempts += 1
                endAttempt(Int(i), reason: "attempt \(t.attempt) on \(agentId): invalid result: \(problem)", now: now, into: &out)
                return refuse(.invalidResult, "invalid result, the trial runs again: \(problem)")
            }
            if failed {
                agent.failedAttempts += 1
                let kind = Self.failureKind(of: result.result)
                endAttempt(Int(i), reason: "attempt \(t.attempt) on \(agentId): \(result.result.failureReason)",
                           final: kind == .deterministic, now: now, into: &out)
                ack.accepted = true
                ack.note = "failure recorded"
                count("result_failure")
                return
            }
        } else if let problem {
            return refuse(.invalidResult, "invalid result: \(problem)")
        }
        setState(Int(i), .done)
        trials[Int(i)].agent = agentId
        leased.remove(i)
        agent.completed += 1
        out.append(.store(.resultAccepted(SweepResultRow(trialId: result.trialID, attempt: Int(result.attempt),
                                                         agentId: agentId, deviceClass: cls, result: result.result,
                                                         keyName: agent.key?.name, keyFingerprint: agent.key?.fingerprint,
                                                         encoded: frame.flatMap(WireFrameScanner.trialResultBytes),
                                                         at: now))))
        ack.accepted = true
        if case .lateHolder = standing { ack.note = "accepted late: the lease had expired but nobody else took the trial" }
        count("result_accepted")
        if let stage = point.stageKey {
            stageArtifacts[stage] = result.result.training.artifact
            let waiting = blocked.removeValue(forKey: stage) ?? []
            for w in waiting { release(w, now: now) }
            out.append(.log("training stage \(stage) done (\(point.label)): checkpoint \(result.result.training.artifact.sha256.prefix(16))…, "
                + "\(waiting.count) trial(s) may run now"))
            flushDeferred(into: &out)
        }
    }

    // MARK: - Training stages

    /// Puts a pending trial where it belongs: its queue when every stage it needs is done, the
    /// waiting list of the first that is not, or failed when one failed (the change goes to
    /// `deferredChanges`, which the caller hands on).
    mutating func release(_ i: Int32, now: Double) {
        let t = trials[Int(i)]
        guard t.state == .pending else { return }
        if t.blocked {
            trials[Int(i)].blocked = false
            blockedCount -= 1
        }
        for input in points[Int(t.point)].inputs {
            guard let s = stageTrial[input.stage] else {
                return failWithoutAttempt(i, reason: "needs training stage \(input.stage), which this grid does not have", now: now)
            }
            switch trials[Int(s)].state {
            case .done:
                if stageArtifacts[input.stage] == nil {
                    return failWithoutAttempt(i, reason: "training stage \(input.stage) is done but its checkpoint is not recorded", now: now)
                }
            case .failed:
                let stagePoint = points[Int(trials[Int(s)].point)]
                let why = trials[Int(s)].reasons.last ?? "it failed"
                return failWithoutAttempt(i, reason: "dependency \(stagePoint.label) (stage \(input.stage)) failed: \(why)", now: now)
            case .pending, .leased:
                trials[Int(i)].blocked = true
                blockedCount += 1
                blocked[input.stage, default: []].append(i)
                return
            }
        }
        queues[Int(t.deviceClass)][Int(t.group)].append(i)
    }

    /// A trial that cannot run because a stage it needs failed; a stage failing this way fails
    /// the trials waiting for it in turn.
    mutating func failWithoutAttempt(_ i: Int32, reason: String, now: Double) {
        setState(Int(i), .failed)
        trials[Int(i)].reasons.append(reason)
        let point = points[Int(trials[Int(i)].point)]
        deferredChanges.append(.trialFailed(trialId: point.trialId(deviceClass: classes[Int(trials[Int(i)].deviceClass)]),
                                            reason: reason, at: now))
        count("failed_dependency")
        if let stage = point.stageKey { stageFailed(stage, now: now) }
    }

    mutating func stageFailed(_ stage: String, now: Double) {
        for w in blocked.removeValue(forKey: stage) ?? [] { release(w, now: now) }
    }

    mutating func flushDeferred(into out: inout [Directive]) {
        guard !deferredChanges.isEmpty else { return }
        let failed = deferredChanges.count
        for change in deferredChanges { out.append(.store(change)) }
        deferredChanges = []
        out.append(.log("\(failed) trial(s) failed because a training stage they need failed"))
    }

    /// Records an artifact stored complete, verified and fsync'd (`ArtifactExchange`): a stage's
    /// result naming it may now count. Returns the row to store.
    public mutating func artifactStored(sha256: String, size: Int64, trialId: String, agentId: String, at now: Double) -> SweepStoreChange {
        uploaded[sha256] = size
        return .artifactStored(SweepArtifactRow(sha256: sha256, size: size, trialId: trialId, agentId: agentId, at: now))
    }

    /// Whether `peer` may upload the output of training trial `trialId` attempt `attempt`: only
    /// the holder of its live lease.
    public func artifactUploadPermission(peer: Data, trialId: String, attempt: UInt32) -> ArtifactPermission {
        guard let agentId = agentByPeer[peer], agents[agentId] != nil else {
            return .refused(.notWelcomed, "say Hello first (the coordinator may have restarted)")
        }
        guard let i = trialIndex[trialId] else { return .refused(.unknownTrial, "\(trialId) is not a trial of this grid") }
        let t = trials[Int(i)]
        guard points[Int(t.point)].isTrainingStage else {
            return .refused(.unknownArtifact, "\(trialId) is not a training stage: only stages upload checkpoints")
        }
        guard t.state == .leased, t.agent == agentId, t.attempt == Int32(attempt) else {
            return .refused(Self.held(t, attempt: attempt, by: agentId) ? .leaseExpired : .notLeaseHolder,
                            "\(trialId) attempt \(attempt) is not leased to \(agentId) (the trial is \(t.state.rawValue), attempt \(t.attempt))")
        }
        return .allowed(agentId: agentId)
    }

    /// Whether `peer` may fetch artifact `sha256` for trial `trialId` attempt `attempt`: the holder
    /// of its live lease, for an artifact among the trial's inputs.
    public func artifactFetchPermission(peer: Data, trialId: String, attempt: UInt32, sha256: String) -> ArtifactPermission {
        guard let agentId = agentByPeer[peer], agents[agentId] != nil else {
            return .refused(.notWelcomed, "say Hello first (the coordinator may have restarted)")
        }
        guard let i = trialIndex[trialId] else { return .refused(.unknownTrial, "\(trialId) is not a trial of this grid") }
        let t = trials[Int(i)]
        guard t.state == .leased, t.agent == agentId, t.attempt == Int32(attempt) else {
            return .refused(Self.held(t, attempt: attempt, by: agentId) ? .leaseExpired : .notLeaseHolder,
                            "\(trialId) attempt \(attempt) is not leased to \(agentId)")
        }
        guard points[Int(t.point)].inputs.contains(where: { stageArtifacts[$0.stage]?.sha256 == sha256 }) else {
            return .refused(.unknownArtifact, "\(sha256.prefix(16))… is not an input of \(trialId)")
        }
        return .allowed(agentId: agentId)
    }

    /// Records a refusal: counted, logged (the first few of each kind, then every 1000th),
    /// and stored for `frontier status`.
    mutating func refused(_ trialId: String?, attempt: Int?, agentId: String?, key: AgentKey? = nil,
                          reason: WireReject.Reason, detail: String, now: Double, into out: inout [Directive],
                          store: Bool = true) {
        let name = Self.reasonName(reason)
        count("refused_\(name.lowercased())")
        let n = counters["refused_\(name.lowercased())", default: 0]
        if n <= 20 || n % 1000 == 0 {
            let who = agentId.map { "agent \($0)" } ?? "a peer"
            let keyText = key.map { " (key \($0.name).pub \($0.fingerprint))" } ?? ""
            out.append(.log("refused \(name) from \(who)\(keyText)\(trialId.map { " for \($0)" } ?? ""): \(detail)"
                + (n == 20 ? " (further \(name) refusals are logged every 1000th)" : "")))
        }
        guard store else { return }
        let fingerprint = key?.fingerprint ?? agentId.flatMap { agents[$0]?.key?.fingerprint }
        out.append(.store(.refused(SweepRefusalRow(trialId: trialId, attempt: attempt, agentId: agentId,
                                                   keyFingerprint: fingerprint, reason: name, detail: detail, at: now))))
    }

    /// The `Reject.Reason` as `frontier.proto` spells it.
    public static func reasonName(_ reason: WireReject.Reason) -> String {
        switch reason {
        case .unspecified: return "REASON_UNSPECIFIED"
        case .versionMismatch: return "VERSION_MISMATCH"
        case .malformed: return "MALFORMED"
        case .notWelcomed: return "NOT_WELCOMED"
        case .unknownTrial: return "UNKNOWN_TRIAL"
        case .badHello: return "BAD_HELLO"
        case .notLeaseHolder: return "NOT_LEASE_HOLDER"
        case .leaseExpired: return "LEASE_EXPIRED"
        case .invalidResult: return "INVALID_RESULT"
        case .identityRefused: return "IDENTITY_REFUSED"
        case .frameTooLarge: return "FRAME_TOO_LARGE"
        case .emptyFrame: return "EMPTY_FRAME"
        case .duplicate: return "DUPLICATE"
        case .wrongDeviceClass: return "WRONG_DEVICE_CLASS"
        case .agentIDInUse: return "AGENT_ID_IN_USE"
        case .artifactTooLarge: return "ARTIFACT_TOO_LARGE"
        case .artifactHashMismatch: return "ARTIFACT_HASH_MISMATCH"
        case .unknownArtifact: return "UNKNOWN_ARTIFACT"
        case let .UNRECOGNIZED(n): return "REASON_\(n)"
        }
    }

    mutating func expireLeases(now: Double, into out: inout [Directive]) {
        var expired: [Int32] = []
        for i in leased where trials[Int(i)].leaseExpiry < now { expired.append(i) }
        for i in expired.sorted() {
            let t = trials[Int(i)]
            let who = t.agent ?? "an agent"
            endAttempt(Int(i), reason: "attempt \(t.attempt) on \(who): lease expired (no heartbeat for "
                + "\(Int(settings.leaseSeconds)) s)", expired: true, now: now, into: &out)
            if let agentId = t.agent, var agent = agents[agentId] {
                agent.state = .lost
                agent.trialId = nil
                agents[agentId] = agent
            }
            count("lease_expired")
        }
        for (id, agent) in agents where agent.state != .lost && now - agent.lastSeen > settings.leaseSeconds {
            agents[id]?.state = .lost
        }
    }

    /// Ends the current attempt without a result: back to the queue, or failed for good (after
    /// `maxAttempts`, or at once when `final`: a deterministic failure).
    mutating func endAttempt(_ i: Int, reason: String, expired: Bool = false, final: Bool = false, now: Double,
                             into out: inout [Directive]) {
        let t = trials[i]
        trials[i].reasons.append(reason)
        trials[i].lastHolder = t.agent
        trials[i].lateAllowed = expired
        trials[i].agent = nil
        leased.remove(Int32(i))
        let failed = final || Int(t.attempt) >= settings.maxAttempts
        let point = points[Int(t.point)]
        let trialId = point.trialId(deviceClass: classes[Int(t.deviceClass)])
        if failed {
            setState(i, .failed)
            if final, Int(t.attempt) < settings.maxAttempts {
                out.append(.log("\(trialId) failed, not retried (the same error would recur): \(reason)"))
            } else {
                out.append(.log("\(trialId) failed after \(t.attempt) attempts: \(reason)"))
            }
        } else {
            setState(i, .pending)
            trials[i].attempt += 1
            // To the front: a trial that was already started should not wait behind the
            // whole untouched rest of the grid (and its first agent may still be finishing it).
            let c = Int(t.deviceClass), g = Int(t.group)
            if queueHeads[c][g] > 0 {
                queueHeads[c][g] -= 1
                queues[c][g][queueHeads[c][g]] = Int32(i)
            } else {
                queues[c][g].insert(Int32(i), at: 0)
            }
        }
        trials[i].leaseExpiry = 0
        out.append(.store(.attemptEnded(trialId: trialId, attempt: Int(t.attempt), agentId: t.agent, reason: reason,
                                        nextAttempt: Int(trials[i].attempt), failed: failed, at: now)))
        if failed, let stage = point.stageKey {
            stageFailed(stage, now: now)
            flushDeferred(into: &out)
        }
    }

    // MARK: - Bookkeeping

    mutating func classId(_ name: String) -> Int32 {
        if let c = classIndex[name] { return c }
        let c = Int32(classes.count)
        classes.append(name)
        classIndex[name] = c
        queues.append(Array(repeating: [], count: requirementGroups.count))
        queueHeads.append(Array(repeating: 0, count: requirementGroups.count))
        openCount.append(Array(repeating: 0, count: requirementGroups.count))
        return c
    }

    mutating func append(_ trial: Trial) {
        let i = Int32(trials.count)
        let id = points[Int(trial.point)].trialId(deviceClass: classes[Int(trial.deviceClass)])
        guard trialIndex[id] == nil else { return }
        trials.append(trial)
        trialIndex[id] = i
        stateCounts[Self.slot(trial.state)] += 1
        let c = Int(trial.deviceClass), g = Int(trial.group)
        if let key = points[Int(trial.point)].stageKey { stageTrial[key] = i }
        switch trial.state {
        case .pending:
            openCount[c][g] += 1
            release(i, now: lastNow)
        case .leased:
            leased.insert(i)
            openCount[c][g] += 1
        case .done, .failed: break
        }
    }

    func hasTrials(forClass c: Int32) -> Bool {
        // Trials of a class are added all at once, so one is enough to tell.
        guard let first = measurementPoints.first else { return true }
        return trialIndex[points[Int(first)].trialId(deviceClass: classes[Int(c)])] != nil
    }

    /// Adds the grid's trials for a device class, skipping any the store already had.
    mutating func addTrials(forClass cls: String, emitInto out: inout [Directive]) {
        var rows: [SweepTrialRow] = []
        addTrials(forClass: cls, rows: &rows)
        if !rows.isEmpty { out.append(.store(.trialsAdded(rows))) }
        for change in deferredChanges { out.append(.store(change)) }
        deferredChanges = []
    }

    mutating func addTrials(forClass cls: String, rows: inout [SweepTrialRow]) {
        let c = classId(cls)
        for p32 in measurementPoints {
            let p = Int(p32)
            let id = points[p].trialId(deviceClass: cls)
            guard trialIndex[id] == nil else { continue }
            append(Trial(point: Int32(p), deviceClass: c, state: .pending, attempt: 1, agent: nil, leaseExpiry: 0,
                         reasons: [], group: groupOfPoint[p]))
            rows.append(SweepTrialRow(trialId: id, pointKey: points[p].key, deviceClass: cls, state: .pending, attempt: 1))
        }
    }

    /// The next pending trial of class `c` among the groups an agent can run: of the groups'
    /// queue heads (a re-queued trial heads its group's queue), the one earliest in the grid.
    mutating func popPending(_ c: Int, groups: [Int32], agentId: String? = nil) -> Int32? {
        var best: (group: Int, trial: Int32)?
        for g32 in groups {
            let g = Int(g32)
            // Skip entries that are no longer pending (taken, done) at the head.
            while queueHeads[c][g] < queues[c][g].count, trials[Int(queues[c][g][queueHeads[c][g]])].state != .pending {
                queueHeads[c][g] += 1
            }
            guard queueHeads[c][g] < queues[c][g].count else { continue }
            if let agentId { preferOthers(c, g, over: agentId) }
            let i = queues[c][g][queueHeads[c][g]]
            if best == nil || i < best!.trial { best = (g, i) }
        }
        guard let (g, i) = best else { return nil }
        queueHeads[c][g] += 1
        if queueHeads[c][g] > 4096, queueHeads[c][g] * 2 > queues[c][g].count {
            queues[c][g].removeFirst(queueHeads[c][g])
            queueHeads[c][g] = 0
        }
        return i
    }

    /// A trial whose last attempt this agent just ended (a failure, an invalid result) goes to
    /// another agent when one asks: the head of the queue swaps with the first of the next few
    /// pending trials that someone else ended or nobody ran. So one agent cannot burn a
    /// trial's attempts in a row while others could run it; alone, it still gets it.
    mutating func preferOthers(_ c: Int, _ g: Int, over agentId: String) {
        let head = queueHeads[c][g]
        guard trials[Int(queues[c][g][head])].lastHolder == agentId else { return }
        var k = head + 1
        while k < queues[c][g].count, k <= head + 16 {
            let j = queues[c][g][k]
            if trials[Int(j)].state == .pending, trials[Int(j)].lastHolder != agentId {
                queues[c][g].swapAt(head, k)
                return
            }
            k += 1
        }
    }

    /// Every trial of `cls` that an agent able to run `groups` could run has ended.
    func finished(forClass cls: String, groups: [Int32]) -> Bool {
        guard let c = classIndex[cls] else { return false }
        return groups.allSatisfy { openCount[Int(c)][Int($0)] == 0 }
    }

    /// Every state change goes through here so that the open counts stay right.
    mutating func setState(_ i: Int, _ state: SweepTrialRow.State) {
        let old = trials[i].state
        let wasOpen = old == .pending || old == .leased
        let isOpen = state == .pending || state == .leased
        if wasOpen != isOpen { openCount[Int(trials[i].deviceClass)][Int(trials[i].group)] += isOpen ? 1 : -1 }
        stateCounts[Self.slot(old)] -= 1
        stateCounts[Self.slot(state)] += 1
        trials[i].state = state
    }

    func reject(_ reason: WireReject.Reason, _ detail: String, trialId: String = "") -> WireEnvelope {
        var r = WireReject()
        r.reason = reason
        r.detail = detail
        r.trialID = trialId
        return WireEnvelope(.reject(r))
    }

    mutating func count(_ key: String) { counters[key, default: 0] += 1 }
}
