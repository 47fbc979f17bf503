import Foundation
import FrontierGrid
import FrontierWire

/// The coordinator's logic as a pure state machine: events in (a decoded message from a peer,
/// a malformed frame, the clock), directives out (messages to send, changes to make durable).
/// No sockets, no database, no clock of its own — so every failure story (an agent that dies
/// mid-trial, a result that arrives twice, a restart on an old store) is a unit test.
///
/// Exactly once: a trial moves to `done` on its first successful result and never leaves it;
/// every later result for it is acknowledged (so the agent drops it from its spool) and
/// ignored. Leases follow zguide's Paranoid Pirate: an agent heartbeats while it works; a
/// lease not extended for `leaseSeconds` puts the trial back with attempt + 1, and after
/// `maxAttempts` ended attempts the trial is `failed` with every attempt's reason.
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
        /// `publicKey`: the CURVE key the peer authenticated with, when there is one.
        case received(peer: Data, envelope: WireEnvelope, publicKey: String?, at: Double)
        case malformed(peer: Data, error: WireError, at: Double)
        case tick(at: Double)
    }

    public enum Directive: Sendable, Equatable {
        case send(peer: Data, WireEnvelope)
        case store(SweepStoreChange)
        case log(String)
    }

    public struct Progress: Sendable, Equatable, Codable {
        public var total = 0
        public var done = 0
        public var failed = 0
        public var running = 0
        public var pending = 0
        public var deviceClasses: [String] = []
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
    }

    struct Trial: Sendable {
        var point: Int32
        var deviceClass: Int32
        var state: SweepTrialRow.State
        var attempt: Int32
        var agent: String?
        var leaseExpiry: Double
        var reasons: [String]
    }

    public private(set) var settings: Settings
    public let placement: SweepPlacement
    let points: [SweepPoint]
    var pointIndex: [String: Int32] = [:]
    var classes: [String] = []
    var classIndex: [String: Int32] = [:]
    var trials: [Trial] = []
    var trialIndex: [String: Int32] = [:]
    /// Per device class, pending trials in grid order (a cursor over an append-only queue).
    var queues: [[Int32]] = []
    var queueHeads: [Int] = []
    var leased: Set<Int32> = []
    /// Per device class, trials still pending or leased: "is this class finished" in O(1).
    var openCount: [Int] = []
    /// Trials per state (pending, leased, done, failed), kept by `append` and `setState`.
    var stateCounts = [0, 0, 0, 0]
    var startupChanges: [SweepStoreChange] = []
    public private(set) var agents: [String: Agent] = [:]
    var agentByPeer: [Data: String] = [:]
    public private(set) var malformedFrames = 0
    public private(set) var counters: [String: Int] = [:]

    public init(points: [SweepPoint], placement: SweepPlacement, settings: Settings,
                restored: [SweepTrialRow] = [], now: Double = 0) {
        self.points = points
        self.placement = placement
        self.settings = settings
        for (i, point) in points.enumerated() { pointIndex[point.key] = Int32(i) }
        if placement == .any { _ = classId(SweepPlacement.anyClass) }
        var restoredTrials: [(Int32, SweepTrialRow)] = []
        for row in restored {
            guard let p = pointIndex[row.pointKey] else { continue }
            restoredTrials.append((p, row))
        }
        for (p, row) in restoredTrials {
            let c = classId(row.deviceClass)
            var trial = Trial(point: p, deviceClass: c, state: row.state, attempt: Int32(max(1, row.attempt)),
                              agent: row.agentId, leaseExpiry: 0, reasons: row.reasons)
            if trial.state == .leased {
                // Running when the coordinator stopped: its agent may still finish it and say
                // so after reconnecting; if it does not within one lease, it runs again.
                trial.leaseExpiry = now + settings.leaseSeconds
            }
            append(trial)
        }
        if placement == .any {
            var rows: [SweepTrialRow] = []
            addTrials(forClass: SweepPlacement.anyClass, rows: &rows)
            if !rows.isEmpty { startupChanges.append(.trialsAdded(rows)) }
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
        p.deviceClasses = classes
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

    // MARK: - Events

    public mutating func handle(_ event: Event) -> [Directive] {
        var out: [Directive] = []
        handle(event, into: &out)
        return out
    }

    public mutating func handle(_ event: Event, into out: inout [Directive]) {
        switch event {
        case let .tick(now):
            expireLeases(now: now, into: &out)
        case let .malformed(peer, error, _):
            malformedFrames += 1
            count("malformed")
            if case let .versionMismatch(theirs, ours) = error {
                out.append(.send(peer: peer, reject(.versionMismatch, WireError.versionMismatch(peer: theirs, ours: ours)
                                                                            .description)))
            }
            // Anything else is dropped: answering garbage only feeds whoever sent it.
        case let .received(peer, envelope, key, now):
            count(envelope.kind)
            receive(peer: peer, envelope: envelope, key: key, now: now, into: &out)
        }
    }

    mutating func receive(peer: Data, envelope: WireEnvelope, key: String?, now: Double, into out: inout [Directive]) {
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
            if !beat.trialID.isEmpty, let i = trialIndex[beat.trialID], trials[Int(i)].state == .leased,
               trials[Int(i)].agent == agentId, trials[Int(i)].attempt == Int32(beat.attempt) {
                trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
            }
            var echo = WireHeartbeat()
            echo.trialID = beat.trialID
            echo.attempt = beat.attempt
            out.append(.send(peer: peer, WireEnvelope(.heartbeat(echo))))
        case let .result(result):
            accept(result: result, agentId: agentId, now: now, into: &out)
        default:
            out.append(.send(peer: peer, reject(.malformed, "an agent may not send \(envelope.kind)")))
        }
    }

    mutating func welcome(peer: Data, hello: WireHello, key: String?, now: Double, into out: inout [Directive]) {
        let agentId = hello.agentID.trimmingCharacters(in: .whitespaces)
        let deviceClass = hello.deviceClass.trimmingCharacters(in: .whitespaces)
        guard !agentId.isEmpty, !deviceClass.isEmpty, !deviceClass.contains("@"), agentId.count <= 200,
              deviceClass.count <= 200
        else {
            out.append(.send(peer: peer, reject(.badHello, "Hello needs a non-empty agent_id and a device_class without '@'")))
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
        // Trials it is still running (a reconnect, or a coordinator restart): keep their leases.
        // Only its own: a lease belongs to the agent that holds it until it expires or is given
        // back, so a Hello naming another agent's trial (a copied agent folder, a stale spool)
        // must not take it over — the owner's heartbeats would then match nobody.
        for id in hello.runningTrialIds {
            guard let i = trialIndex[id], trials[Int(i)].state == .leased || trials[Int(i)].state == .pending,
                  trials[Int(i)].agent == agentId
            else {
                continue
            }
            if trials[Int(i)].state == .pending { leased.insert(i) }
            setState(Int(i), .leased)
            trials[Int(i)].agent = agentId
            trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
            agent.trialId = id
            agent.state = .running
        }
        agents[agentId] = agent
        out.append(.store(.agentSeen(SweepAgentRow(agentId: agentId, deviceClass: deviceClass,
                                                   fingerprintJSON: hello.fingerprintJson, publicKey: key,
                                                   threads: Int(hello.threads), engineVersion: hello.engineVersion,
                                                   at: now))))
        if placement == .everyDeviceClass, classIndex[deviceClass] == nil
            || !hasTrials(forClass: classIndex[deviceClass]!) {
            addTrials(forClass: deviceClass, emitInto: &out)
            out.append(.log("device class \(deviceClass) joined with agent \(agentId): \(points.count) trials added"))
        }
        var w = WireWelcome()
        w.coordinatorID = settings.coordinatorId
        w.gridName = settings.gridName
        w.heartbeatIntervalMs = UInt32(settings.heartbeatSeconds * 1000)
        w.leaseMs = UInt32(settings.leaseSeconds * 1000)
        out.append(.send(peer: peer, WireEnvelope(.welcome(w))))
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
        guard let c = classIndex[cls], let i = popPending(Int(c)) else {
            var none = WireNoWork()
            none.retryAfterMs = UInt32(min(5.0, settings.heartbeatSeconds) * 1000)
            none.sweepFinished = classFinished(cls)
            out.append(.send(peer: agent.peer, WireEnvelope(.noWork(none))))
            return
        }
        setState(Int(i), .leased)
        trials[Int(i)].agent = agentId
        trials[Int(i)].leaseExpiry = now + settings.leaseSeconds
        leased.insert(i)
        let point = points[Int(trials[Int(i)].point)]
        let trialId = point.trialId(deviceClass: cls)
        agent.trialId = trialId
        agent.state = .running
        agents[agentId] = agent
        out.append(.store(.trialLeased(trialId: trialId, attempt: Int(trials[Int(i)].attempt), agentId: agentId, at: now)))
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
        return a
    }

    mutating func accept(result: WireResult, agentId: String, now: Double, into out: inout [Directive]) {
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
        guard let i = trialIndex[result.trialID] else {
            ack.accepted = false
            ack.note = "unknown trial \(result.trialID): not in this coordinator's grid"
            count("result_unknown")
            return
        }
        let t = trials[Int(i)]
        if t.state == .done {
            ack.accepted = false
            ack.note = "duplicate: \(result.trialID) already has an accepted result"
            count("result_duplicate")
            return
        }
        let cls = classes[Int(t.deviceClass)]
        // A result counts only for the hardware it was measured on.
        if placement == .everyDeviceClass, cls != agent.deviceClass {
            ack.accepted = false
            ack.note = "\(result.trialID) belongs to device class \(cls), not this agent's \(agent.deviceClass)"
            count("result_wrong_class")
            return
        }
        if result.failed {
            // A failure only ends the attempt it belongs to; a stale one changes nothing.
            guard t.state != .failed, Int32(result.attempt) == t.attempt else {
                ack.accepted = false
                ack.note = "late failure of attempt \(result.attempt); trial is at attempt \(t.attempt)"
                count("result_late")
                return
            }
            agent.failedAttempts += 1
            endAttempt(Int(i), reason: "attempt \(t.attempt) on \(agentId): \(result.failureReason)", now: now, into: &out)
            ack.accepted = true
            ack.note = "failure recorded"
            return
        }
        // A success from any attempt that is still wanted counts: the measurement is valid.
        setState(Int(i), .done)
        trials[Int(i)].agent = agentId
        leased.remove(i)
        agent.completed += 1
        out.append(.store(.resultAccepted(SweepResultRow(trialId: result.trialID, attempt: Int(result.attempt),
                                                         agentId: agentId, deviceClass: cls,
                                                         resultJSON: result.resultJson, at: now))))
        ack.accepted = true
        count("result_accepted")
    }

    mutating func expireLeases(now: Double, into out: inout [Directive]) {
        var expired: [Int32] = []
        for i in leased where trials[Int(i)].leaseExpiry < now { expired.append(i) }
        for i in expired.sorted() {
            let t = trials[Int(i)]
            let who = t.agent ?? "an agent"
            endAttempt(Int(i), reason: "attempt \(t.attempt) on \(who): lease expired (no heartbeat for "
                + "\(Int(settings.leaseSeconds)) s)", now: now, into: &out)
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

    /// Ends the current attempt without a result: back to the queue, or failed for good.
    mutating func endAttempt(_ i: Int, reason: String, now: Double, into out: inout [Directive]) {
        let t = trials[i]
        trials[i].reasons.append(reason)
        leased.remove(Int32(i))
        let failed = Int(t.attempt) >= settings.maxAttempts
        let point = points[Int(t.point)]
        let trialId = point.trialId(deviceClass: classes[Int(t.deviceClass)])
        if failed {
            setState(i, .failed)
            out.append(.log("\(trialId) failed after \(t.attempt) attempts: \(reason)"))
        } else {
            setState(i, .pending)
            trials[i].attempt += 1
            // To the front: a trial that was already started should not wait behind the
            // whole untouched rest of the grid (and its first agent may still be finishing it).
            let c = Int(t.deviceClass)
            if queueHeads[c] > 0 {
                queueHeads[c] -= 1
                queues[c][queueHeads[c]] = Int32(i)
            } else {
                queues[c].insert(Int32(i), at: 0)
            }
        }
        trials[i].leaseExpiry = 0
        out.append(.store(.attemptEnded(trialId: trialId, attempt: Int(t.attempt), agentId: t.agent, reason: reason,
                                        nextAttempt: Int(trials[i].attempt), failed: failed, at: now)))
    }

    // MARK: - Bookkeeping

    mutating func classId(_ name: String) -> Int32 {
        if let c = classIndex[name] { return c }
        let c = Int32(classes.count)
        classes.append(name)
        classIndex[name] = c
        queues.append([])
        queueHeads.append(0)
        openCount.append(0)
        return c
    }

    mutating func append(_ trial: Trial) {
        let i = Int32(trials.count)
        let id = points[Int(trial.point)].trialId(deviceClass: classes[Int(trial.deviceClass)])
        guard trialIndex[id] == nil else { return }
        trials.append(trial)
        trialIndex[id] = i
        stateCounts[Self.slot(trial.state)] += 1
        switch trial.state {
        case .pending:
            queues[Int(trial.deviceClass)].append(i)
            openCount[Int(trial.deviceClass)] += 1
        case .leased:
            leased.insert(i)
            openCount[Int(trial.deviceClass)] += 1
        case .done, .failed: break
        }
    }

    func hasTrials(forClass c: Int32) -> Bool {
        // Trials of a class are added all at once, so one is enough to tell.
        guard let first = points.first else { return true }
        return trialIndex[first.trialId(deviceClass: classes[Int(c)])] != nil
    }

    /// Adds the grid's trials for a device class, skipping any the store already had.
    mutating func addTrials(forClass cls: String, emitInto out: inout [Directive]) {
        var rows: [SweepTrialRow] = []
        addTrials(forClass: cls, rows: &rows)
        if !rows.isEmpty { out.append(.store(.trialsAdded(rows))) }
    }

    mutating func addTrials(forClass cls: String, rows: inout [SweepTrialRow]) {
        let c = classId(cls)
        for p in points.indices {
            let id = points[p].trialId(deviceClass: cls)
            guard trialIndex[id] == nil else { continue }
            append(Trial(point: Int32(p), deviceClass: c, state: .pending, attempt: 1, agent: nil, leaseExpiry: 0,
                         reasons: []))
            rows.append(SweepTrialRow(trialId: id, pointKey: points[p].key, deviceClass: cls, state: .pending, attempt: 1))
        }
    }

    mutating func popPending(_ c: Int) -> Int32? {
        while queueHeads[c] < queues[c].count {
            let i = queues[c][queueHeads[c]]
            queueHeads[c] += 1
            if queueHeads[c] > 4096, queueHeads[c] * 2 > queues[c].count {
                queues[c].removeFirst(queueHeads[c])
                queueHeads[c] = 0
            }
            if trials[Int(i)].state == .pending { return i }
        }
        return nil
    }

    func classFinished(_ cls: String) -> Bool {
        guard let c = classIndex[cls] else { return false }
        return openCount[Int(c)] == 0
    }

    /// Every state change goes through here so that the open counts stay right.
    mutating func setState(_ i: Int, _ state: SweepTrialRow.State) {
        let old = trials[i].state
        let wasOpen = old == .pending || old == .leased
        let isOpen = state == .pending || state == .leased
        if wasOpen != isOpen { openCount[Int(trials[i].deviceClass)] += isOpen ? 1 : -1 }
        stateCounts[Self.slot(old)] -= 1
        stateCounts[Self.slot(state)] += 1
        trials[i].state = state
    }

    func reject(_ reason: WireReject.Reason, _ detail: String) -> WireEnvelope {
        var r = WireReject()
        r.reason = reason
        r.detail = detail
        return WireEnvelope(.reject(r))
    }

    mutating func count(_ key: String) { counters[key, default: 0] += 1 }
}
