import Foundation
import FrontierWire

/// The agent's side of the wire as a pure state machine, the twin of `SweepScheduler`: events
/// in (a message, a frame that would not decode, the clock, a trial ending, a stop), directives
/// out (open or drop the connection, send, start a trial, spool or unspool a result, log, exit),
/// and `nextDeadline`, the time by which the shell must come back with a tick even if nothing
/// happens. No sockets, no disk, no clock of its own — so reconnecting, heartbeat timing, spool
/// replay and every way of losing the coordinator are unit tests on a fake time.
///
/// The coordinator going away (silence for `liveness` heartbeats, a Shutdown, a restart that
/// forgot us) is never fatal: the machine drops the connection, waits with exponential backoff
/// and opens a new one, carrying the running trial and every unacknowledged result along. Only
/// what no retry can fix — another protocol version, a refused Hello — ends it with `.refused`.
public struct SweepAgentMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var agentId: String
        public var deviceClass: String
        public var fingerprint: WireDeviceFingerprint?
        public var threads: Int
        /// What this agent can run; the coordinator hands it nothing else.
        public var capabilities: WireCapabilities
        public var engineVersion: String
        /// Named in log lines only; the shell is what connects.
        public var endpoint: String
        /// Exit once the coordinator says the sweep is finished (and every result is acknowledged).
        public var exitWhenFinished: Bool
        /// Missed heartbeats before the coordinator is presumed gone.
        public var liveness: Int
        public var backoffInitialS: Double
        public var backoffMaxS: Double
        /// Deliver the spool and exit: no work requests; `.stopped("spool delivered")` once every
        /// spooled result has its Ack (at once when there is none).
        public var deliverOnly = false

        public init(agentId: String, deviceClass: String, fingerprint: WireDeviceFingerprint? = nil, threads: Int = 1,
                    capabilities: WireCapabilities = WireCapabilities(), engineVersion: String, endpoint: String,
                    exitWhenFinished: Bool = true,
                    liveness: Int = 5, backoffInitialS: Double = 0.5, backoffMaxS: Double = 30) {
            self.agentId = agentId
            self.deviceClass = deviceClass
            self.fingerprint = fingerprint
            self.threads = threads
            self.capabilities = capabilities
            self.engineVersion = engineVersion
            self.endpoint = endpoint
            self.exitWhenFinished = exitWhenFinished
            self.liveness = liveness
            self.backoffInitialS = backoffInitialS
            self.backoffMaxS = backoffMaxS
        }
    }

    public enum Exit: Sendable, Equatable {
        case finished
        case stopped(String)
        /// A coordinator of another protocol version, or one that refused the Hello.
        case refused(String)
    }

    public enum Event: Sendable {
        /// `spooled`: results left on disk by an earlier run, still waiting for an Ack.
        case start(spooled: [WireResult], now: Double)
        case received(WireEnvelope, now: Double)
        case undecodableFrame(WireError, now: Double)
        case tick(now: Double)
        case trialFinished(WireResult, now: Double)
        case stop(reason: String, now: Double)

        var now: Double {
            switch self {
            case let .start(_, now), let .received(_, now), let .undecodableFrame(_, now), let .tick(now),
                 let .trialFinished(_, now), let .stop(_, now):
                return now
            }
        }
    }

    public enum Directive: Sendable, Equatable {
        /// Open a fresh connection (a new socket and routing id), `backoff` s after the last one
        /// was dropped (0 for the first).
        case connect(backoff: Double)
        case disconnect
        case send(WireEnvelope.OneOf_Body)
        case startTrial(WireAssignment)
        /// Stop the running trial and forget it: the coordinator says its lease is gone, so
        /// its result could no longer count.
        case cancelTrial(trialId: String, attempt: UInt32)
        /// Make the result durable; always directed before the result is first sent.
        case spool(WireResult)
        case unspool(trialId: String, attempt: UInt32)
        case log(String)
        case exit(Exit)
    }

    /// One connection, from its Hello until the coordinator is lost.
    struct Session: Sendable {
        /// The coordinator's interval once welcomed; before that it only sizes the silence bound.
        var heartbeat = 2.0
        var welcomed = false
        var heardAnything = false
        var lastHeard: Double
        var lastBeat = -Double.infinity
        /// When the next WorkRequest may go; while one is outstanding, when to give up on its answer.
        var nextRequest = -Double.infinity
        var awaitingWork = false
        var lastSpoolSend = -Double.infinity
        var finishedSweep = false

        /// Silence that means the coordinator is gone: counted in heartbeats once welcomed, a
        /// generous bound before (a Welcome may queue behind a busy coordinator's batch).
        func silenceLimit(liveness: Int) -> Double {
            let beats = Double(liveness) * heartbeat
            return welcomed ? beats : max(10, beats)
        }

        /// How often every unacknowledged result is sent again: an Ack lost with a connection
        /// that stayed up would otherwise leave a result in the spool for good.
        var spoolResendInterval: Double { max(10, heartbeat * 5) }
    }

    enum Phase: Sendable {
        case notStarted
        case connected(Session)
        case backingOff(until: Double, waited: Double)
        /// The connection is closed; waiting only for the running trial, so that its result is
        /// spooled before the exit.
        case draining(then: Exit)
        case exited(Exit)
    }

    /// What a message did to the session beyond updating it.
    enum SessionEnd {
        case lost(String, heardAnything: Bool)
        case sweepFinished
        case refused(String)
    }

    public let settings: Settings
    var phase: Phase = .notStarted
    var backoff: Double
    public private(set) var running: WireAssignment?
    /// Results finished here and not yet acknowledged, oldest first: the spool's contents.
    public private(set) var unacknowledged: [WireResult] = []
    /// Trials finished here, in this run.
    public private(set) var completed = 0

    public init(settings: Settings) {
        self.settings = settings
        backoff = settings.backoffInitialS
    }

    // MARK: - Queries

    public var isConnected: Bool {
        if case .connected = phase { return true }
        return false
    }

    public var isWelcomed: Bool {
        if case let .connected(session) = phase { return session.welcomed }
        return false
    }

    public var exit: Exit? {
        if case let .exited(exit) = phase { return exit }
        return nil
    }

    /// When the shell must hand in a tick at the latest; nil: only an event can change anything
    /// (not started, waiting for the running trial, exited). Always later than the `now` of the
    /// last event, so a shell that waits until it never spins.
    public var nextDeadline: Double? {
        switch phase {
        case let .connected(session):
            var deadline = session.lastHeard + session.silenceLimit(liveness: settings.liveness)
            if session.welcomed {
                deadline = min(deadline, session.lastBeat + session.heartbeat)
                if running == nil, !session.finishedSweep, !settings.deliverOnly {
                    deadline = min(deadline, session.nextRequest)
                }
                deadline = min(deadline, session.lastSpoolSend + session.spoolResendInterval)
            }
            return deadline
        case let .backingOff(until, _):
            return until
        case .notStarted, .draining, .exited:
            return nil
        }
    }

    // MARK: - Events

    public mutating func handle(_ event: Event) -> [Directive] {
        var out: [Directive] = []
        handle(event, into: &out)
        return out
    }

    public mutating func handle(_ event: Event, into out: inout [Directive]) {
        if case .exited = phase { return }
        switch event {
        case let .start(spooled, now):
            guard case .notStarted = phase else { return }
            unacknowledged = spooled
            if settings.deliverOnly, spooled.isEmpty {
                exit(.stopped("nothing spooled to deliver"), into: &out)
                return
            }
            connect(backoff: 0, now: now, into: &out)
        case let .received(envelope, now):
            receive(envelope, now: now, into: &out)
        case let .undecodableFrame(error, _):
            guard isConnected else { return }
            if case .versionMismatch = error {
                refuse(error.description, into: &out)
                return
            }
            out.append(.log("ignored a frame from the coordinator: \(error)"))
        case .tick:
            break
        case let .trialFinished(result, _):
            finishTrial(result, into: &out)
        case let .stop(reason, _):
            stop(reason, into: &out)
        }
        advance(now: event.now, into: &out)
    }

    /// The timers: silence, heartbeat, work requests, spool resends, and the way out once the
    /// sweep is finished; and, between connections, the end of the backoff.
    mutating func advance(now: Double, into out: inout [Directive]) {
        switch phase {
        case .connected(var session):
            let silence = now - session.lastHeard
            if silence >= session.silenceLimit(liveness: settings.liveness) {
                lose("coordinator at \(settings.endpoint) silent for \(String(format: "%.0f", silence)) s",
                     heardAnything: session.heardAnything, now: now, into: &out)
                return
            }
            guard session.welcomed else { return }
            if now - session.lastBeat >= session.heartbeat {
                var beat = WireHeartbeat()
                if let running {
                    beat.trialID = running.trialID
                    beat.attempt = running.attempt
                }
                out.append(.send(.heartbeat(beat)))
                session.lastBeat = now
            }
            // No answer to the last WorkRequest in two heartbeats: it or its answer was lost.
            if session.awaitingWork, now >= session.nextRequest { session.awaitingWork = false }
            if settings.deliverOnly, unacknowledged.isEmpty {
                phase = .connected(session)
                out.append(.disconnect)
                exit(.stopped("spool delivered"), into: &out)
                return
            }
            if !settings.deliverOnly, running == nil, !session.awaitingWork, !session.finishedSweep,
               now >= session.nextRequest {
                out.append(.send(.workRequest(.init())))
                session.awaitingWork = true
                session.nextRequest = now + session.heartbeat * 2
            }
            if now - session.lastSpoolSend >= session.spoolResendInterval { sendSpool(&session, now: now, into: &out) }
            phase = .connected(session)
            if session.finishedSweep, settings.exitWhenFinished, running == nil, unacknowledged.isEmpty {
                finishSweep(into: &out)
            }
        case let .backingOff(until, waited):
            if now >= until { connect(backoff: waited, now: now, into: &out) }
        case .notStarted, .draining, .exited:
            break
        }
    }

    mutating func receive(_ envelope: WireEnvelope, now: Double, into out: inout [Directive]) {
        guard case var .connected(session) = phase else { return }
        session.lastHeard = now
        session.heardAnything = true
        var end: SessionEnd?
        switch envelope.body {
        case let .welcome(welcome):
            session.welcomed = true
            session.heartbeat = max(0.05, Double(welcome.heartbeatIntervalMs) / 1000)
            out.append(.log("connected to \(settings.endpoint) (grid \(welcome.gridName), heartbeat \(session.heartbeat) s, "
                + "lease \(Double(welcome.leaseMs) / 1000) s)"))
            sendSpool(&session, now: now, into: &out)
        case let .assignment(assignment):
            session.awaitingWork = false
            session.nextRequest = -.infinity  // ask again as soon as this trial is done
            if let running {
                out.append(.log("ignored assignment \(assignment.trialID): already running \(running.trialID)"))
            } else {
                start(assignment, into: &out)
            }
        case let .noWork(noWork):
            session.awaitingWork = false
            session.nextRequest = now + max(0.05, Double(noWork.retryAfterMs) / 1000)
            if noWork.sweepFinished, !session.finishedSweep {
                session.finishedSweep = true
                out.append(.log("the coordinator has no more trials for device class \(settings.deviceClass)"))
            }
        case let .ack(ack):
            unacknowledged.removeAll { $0.trialID == ack.trialID && $0.attempt == ack.attempt }
            out.append(.unspool(trialId: ack.trialID, attempt: ack.attempt))
            if !ack.accepted {
                let reason = SweepScheduler.reasonName(ack.reason)
                out.append(.log("result \(ack.trialID) (attempt \(ack.attempt)) refused, \(reason): \(ack.note)"))
            }
        case let .reject(reject):
            switch reject.reason {
            case .versionMismatch, .badHello, .identityRefused:
                end = .refused(reject.detail)
            case .agentIDInUse:
                // Another live process holds this id (a duplicate, or the previous run of this
                // agent that the coordinator has not yet seen go): not fatal, it may be gone by
                // the next try; the backoff grows while it is not.
                end = .lost("coordinator: \(reject.detail)", heardAnything: false)
            case .leaseExpired, .notLeaseHolder, .unknownTrial:
                // The answer to a heartbeat (or a Hello) naming a lease that is gone: whatever
                // the running trial measures now could not count, so stop it.
                if let running, reject.trialID == running.trialID {
                    self.running = nil
                    out.append(.cancelTrial(trialId: running.trialID, attempt: running.attempt))
                    out.append(.log("stopping \(running.trialID): \(reject.detail)"))
                    session.nextRequest = -.infinity
                } else {
                    out.append(.log("coordinator: \(reject.detail)"))
                }
            case .notWelcomed:
                // The coordinator restarted and forgot us: join it again, naming the running trial.
                session.welcomed = false
                out.append(.send(.hello(hello())))
            default:
                out.append(.log("coordinator rejected a message: \(reject.detail)"))
            }
        case let .shutdown(shutdown):
            if shutdown.sweepFinished {
                session.finishedSweep = true
                // The coordinator is going away with nothing left to run: whatever is still
                // here (a redundant attempt, its spooled result) has no one to go to.
                if settings.exitWhenFinished { end = .sweepFinished }
            }
            if end == nil { end = .lost("coordinator: \(shutdown.reason)", heardAnything: true) }
        case .heartbeat, .hello, .workRequest, .result, .artifactOffer, .artifactResume, .artifactChunk, .artifactChunkAck,
             .artifactFetch, .artifactData, nil:
            break
        }
        phase = .connected(session)
        switch end {
        case let .lost(why, heard)?: lose(why, heardAnything: heard, now: now, into: &out)
        case .sweepFinished?: finishSweep(into: &out)
        case let .refused(detail)?: refuse(detail, into: &out)
        case nil: break
        }
    }

    // MARK: - Transitions

    mutating func connect(backoff waited: Double, now: Double, into out: inout [Directive]) {
        phase = .connected(Session(lastHeard: now))
        out.append(.connect(backoff: waited))
        out.append(.send(.hello(hello())))
    }

    /// Drops the connection and schedules the next one: the backoff starts again from its
    /// initial value after a connection that heard anything, and doubles (to a cap) otherwise.
    mutating func lose(_ why: String, heardAnything: Bool, now: Double, into out: inout [Directive]) {
        if heardAnything { backoff = settings.backoffInitialS }
        out.append(.disconnect)
        out.append(.log("\(why); reconnecting in \(String(format: "%.1f", backoff)) s"))
        phase = .backingOff(until: now + backoff, waited: backoff)
        backoff = min(settings.backoffMaxS, backoff * 2)
    }

    mutating func finishSweep(into out: inout [Directive]) {
        if isConnected { out.append(.disconnect) }
        if let running {
            // Every trial has ended, so this one was a redundant second attempt.
            out.append(.log("the sweep is finished; waiting for the redundant \(running.trialID) to end"))
            phase = .draining(then: .finished)
        } else {
            exit(.finished, into: &out)
        }
    }

    /// A trial still running at a stop is waited for and spooled, so a SIGTERM never throws
    /// away a measurement that is nearly done.
    mutating func stop(_ reason: String, into out: inout [Directive]) {
        switch phase {
        case .notStarted, .backingOff:
            break
        case .connected:
            out.append(.disconnect)
        case .draining, .exited:
            return
        }
        if let running {
            out.append(.log("stopping: waiting for \(running.trialID) to finish so its result is spooled"))
            phase = .draining(then: .stopped(reason))
        } else {
            exit(.stopped(reason), into: &out)
        }
    }

    mutating func refuse(_ detail: String, into out: inout [Directive]) {
        out.append(.disconnect)
        exit(.refused(detail), into: &out)
    }

    mutating func exit(_ exit: Exit, into out: inout [Directive]) {
        phase = .exited(exit)
        out.append(.exit(exit))
    }

    mutating func start(_ assignment: WireAssignment, into out: inout [Directive]) {
        running = assignment
        out.append(.log("running \(assignment.trialID) (attempt \(assignment.attempt)): \(assignment.label)"))
        out.append(.startTrial(assignment))
    }

    /// Spooled first, then sent if there is a coordinator to hear it; otherwise the next Welcome
    /// sends it with the rest of the spool.
    mutating func finishTrial(_ result: WireResult, into out: inout [Directive]) {
        // A trial that was cancelled (its lease gone) may still report as it winds down; only
        // the running one's result counts.
        guard let running, running.trialID == result.trialID, running.attempt == result.attempt else { return }
        self.running = nil
        completed += 1
        if let i = unacknowledged.firstIndex(where: { $0.trialID == result.trialID && $0.attempt == result.attempt }) {
            unacknowledged[i] = result  // the spool keeps one file per trial and attempt
        } else {
            unacknowledged.append(result)
        }
        out.append(.spool(result))
        let failed = result.result.status == .failed
        out.append(.log("finished \(result.trialID)\(failed ? ": failed: \(result.result.failureReason)" : "")"))
        switch phase {
        case let .connected(session) where session.welcomed:
            out.append(.send(.result(result)))
        case let .draining(then):
            exit(then, into: &out)
        default:
            break
        }
    }

    mutating func sendSpool(_ session: inout Session, now: Double, into out: inout [Directive]) {
        for result in unacknowledged { out.append(.send(.result(result))) }
        session.lastSpoolSend = now
    }

    func hello() -> WireHello {
        var hello = WireHello()
        hello.agentID = settings.agentId
        hello.deviceClass = settings.deviceClass
        if let fingerprint = settings.fingerprint { hello.fingerprint = fingerprint }
        hello.capabilities = settings.capabilities
        hello.threads = UInt32(settings.threads)
        hello.engineVersion = settings.engineVersion
        if let running { hello.runningTrialIds = [running.trialID] }
        return hello
    }
}
