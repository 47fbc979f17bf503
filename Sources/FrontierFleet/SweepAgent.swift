import Foundation
import FrontierSupport
import FrontierSweep
import FrontierTransport
import FrontierWire

/// The agent's side of the wire: connect, say Hello, pull trials when idle, heartbeat while a
/// trial runs, spool each result and send it until acknowledged. The coordinator going away
/// (silence for `liveness` heartbeats, a Shutdown, a restart that forgot us) is never fatal:
/// the agent closes its socket, waits with exponential backoff and starts again with a new
/// connection, carrying the trial it is running and its spool along.
///
/// One thread owns the socket (this loop); the trial runs on a second thread, and the two meet
/// only in `RunningTrial`, a locked box.
public final class SweepAgent: @unchecked Sendable {
    public struct Options: Sendable {
        public var endpoint: String
        public var agentId: String
        public var deviceClass: String
        public var fingerprintJSON: String
        public var threads: Int
        public var keys: AgentKeys?
        public var spool: URL
        /// Exit once the coordinator says the sweep is finished (and the spool is empty).
        public var exitWhenFinished = true
        /// Missed heartbeats before the coordinator is presumed gone.
        public var liveness = 5
        public var backoffInitialS = 0.5
        public var backoffMaxS = 30.0
        public var capabilities: [String] = ["sparse", "int8", "fp16", "bf16", "squad", "early-exit", "token-pruning"]

        public init(endpoint: String, agentId: String, deviceClass: String, fingerprintJSON: String, threads: Int,
                    keys: AgentKeys?, spool: URL) {
            self.endpoint = endpoint
            self.agentId = agentId
            self.deviceClass = deviceClass
            self.fingerprintJSON = fingerprintJSON
            self.threads = threads
            self.keys = keys
            self.spool = spool
        }
    }

    public enum Exit: Sendable, Equatable {
        case finished
        case stopped(String)
    }

    /// The trial being run, shared between the loop and the runner thread.
    final class RunningTrial: @unchecked Sendable {
        // Guarded by `lock`: `result` is written once by the runner thread, read by the loop.
        let assignment: WireAssignment
        private let lock = NSLock()
        private var finished: WireResult?
        init(_ assignment: WireAssignment) { self.assignment = assignment }
        func finish(_ result: WireResult) { lock.withLock { finished = result } }
        var result: WireResult? { lock.withLock { finished } }
    }

    public let options: Options
    let runner: any SweepTrialRunner
    let log: @Sendable (String) -> Void
    let spool: ResultSpool
    var running: RunningTrial?
    public private(set) var completed = 0

    public init(options: Options, runner: any SweepTrialRunner, log: @escaping @Sendable (String) -> Void = { _ in })
        throws {
        self.options = options
        self.runner = runner
        self.log = log
        spool = try ResultSpool(folder: options.spool)
    }

    /// Runs until the sweep is finished (with `exitWhenFinished`) or `stop` is raised. A trial
    /// still running at a stop is waited for and spooled, so a SIGTERM never throws away a
    /// measurement that is nearly done. Throws only for what no retry can fix: a version
    /// mismatch, a Hello the coordinator refuses, unusable keys.
    public func run(stop: StopSignal) throws -> Exit {
        let context = try ZmqContext()
        defer { context.shutdown() }
        var backoff = options.backoffInitialS
        while true {
            if stop.isRaised { return finishStop(stop) }
            let outcome = try session(context: context, stop: stop)
            switch outcome {
            case .finished:
                if let running {
                    // Every trial has ended, so this one was a redundant second attempt.
                    log("the sweep is finished; waiting for the redundant \(running.assignment.trialID) to end")
                    while running.result == nil { Thread.sleep(forTimeInterval: 0.05) }
                    collectFinishedTrial()
                }
                return .finished
            case .stopped:
                return finishStop(stop)
            case .lost(let why, let heardAnything):
                if heardAnything { backoff = options.backoffInitialS }
                log("\(why); reconnecting in \(String(format: "%.1f", backoff)) s")
                let until = MonotonicClock.now() + backoff
                while MonotonicClock.now() < until, !stop.isRaised {
                    collectFinishedTrial()
                    Thread.sleep(forTimeInterval: 0.05)
                }
                backoff = min(options.backoffMaxS, backoff * 2)
            }
        }
    }

    private func finishStop(_ stop: StopSignal) -> Exit {
        if let running {
            log("stopping: waiting for \(running.assignment.trialID) to finish so its result is spooled")
            while running.result == nil { Thread.sleep(forTimeInterval: 0.05) }
            collectFinishedTrial()
        }
        return .stopped(stop.reason ?? "asked")
    }

    enum SessionOutcome {
        case finished
        case stopped
        case lost(String, heardAnything: Bool)
    }

    /// One connection, from Hello to the coordinator going silent.
    private func session(context: ZmqContext, stop: StopSignal) throws -> SessionOutcome {
        let socket = try context.socket(.dealer)
        defer { socket.close() }
        try socket.setLinger(ms: 0)
        try socket.setMaxMessageSize(bytes: WireProtocol.maxMessageBytes)
        try socket.setRoutingId(Data("\(options.agentId)/\(UUID().uuidString.prefix(8))".utf8))
        if let keys = options.keys {
            try socket.setCurveClient(serverPublicKey: keys.coordinatorPublicKey, keyPair: keys.keyPair)
        }
        try socket.connect(options.endpoint)

        var heartbeat = 2.0
        var welcomed = false
        var heardAnything = false
        var lastHeard = MonotonicClock.now()
        var lastBeat = 0.0
        var nextRequest = 0.0
        var awaitingWork = false
        var lastSpoolSend = 0.0
        var finishedSweep = false

        func send(_ body: WireEnvelope.OneOf_Body) {
            do {
                try socket.send([WireEnvelope(body).encoded()], dontWait: true)
            } catch {
                // A full queue while disconnected: the message is re-sent by the logic below.
            }
        }
        func hello() {
            var h = WireHello()
            h.agentID = options.agentId
            h.deviceClass = options.deviceClass
            h.fingerprintJson = options.fingerprintJSON
            h.capabilities = options.capabilities
            h.threads = UInt32(options.threads)
            h.engineVersion = FrontierVersion.string
            if let running, running.result == nil { h.runningTrialIds = [running.assignment.trialID] }
            send(.hello(h))
        }
        func sendSpool() {
            for result in spool.all(report: log) { send(.result(result)) }
            lastSpoolSend = MonotonicClock.now()
        }
        hello()

        while true {
            if stop.isRaised { return .stopped }
            let now = MonotonicClock.now()
            // Coordinator silence: by heartbeats once welcomed, by a generous bound before.
            let silence = now - lastHeard
            let limit = welcomed ? Double(options.liveness) * heartbeat : max(10, Double(options.liveness) * heartbeat)
            if silence > limit {
                return .lost(String(format: "coordinator at %@ silent for %.0f s", options.endpoint, silence),
                             heardAnything: heardAnything)
            }
            if let result = collectFinishedTrial(), welcomed { send(.result(result)) }
            if welcomed {
                if now - lastBeat >= heartbeat {
                    var beat = WireHeartbeat()
                    if let running, running.result == nil {
                        beat.trialID = running.assignment.trialID
                        beat.attempt = running.assignment.attempt
                    }
                    send(.heartbeat(beat))
                    lastBeat = now
                }
                if running == nil, !awaitingWork, !finishedSweep, now >= nextRequest {
                    send(.workRequest(.init()))
                    awaitingWork = true
                    nextRequest = now + heartbeat * 2  // re-ask if the reply is lost
                }
                if awaitingWork, now >= nextRequest { awaitingWork = false }
                if now - lastSpoolSend > max(10, heartbeat * 5) { sendSpool() }
                if finishedSweep, options.exitWhenFinished, running == nil, spool.all().isEmpty { return .finished }
            }
            guard let frames = try socket.receive(timeoutMs: 50) else { continue }
            guard frames.count == 1 else { continue }
            let envelope: WireEnvelope
            do {
                envelope = try WireEnvelope.decode(frames[0])
            } catch let error as WireError {
                if case .versionMismatch = error { throw SweepAgentError.refused(error.description) }
                log("ignored a frame from the coordinator: \(error)")
                continue
            }
            lastHeard = MonotonicClock.now()
            heardAnything = true
            switch envelope.body {
            case let .welcome(w):
                welcomed = true
                heartbeat = max(0.05, Double(w.heartbeatIntervalMs) / 1000)
                log("connected to \(options.endpoint) (grid \(w.gridName), heartbeat \(heartbeat) s, lease \(Double(w.leaseMs) / 1000) s)")
                sendSpool()
            case let .assignment(a):
                awaitingWork = false
                nextRequest = 0  // ask again as soon as this trial is done
                guard running == nil else {
                    log("ignored assignment \(a.trialID): already running \(running!.assignment.trialID)")
                    continue
                }
                start(a)
            case let .noWork(n):
                awaitingWork = false
                nextRequest = MonotonicClock.now() + max(0.05, Double(n.retryAfterMs) / 1000)
                if n.sweepFinished, !finishedSweep {
                    finishedSweep = true
                    log("the coordinator has no more trials for device class \(options.deviceClass)")
                }
            case .heartbeat:
                break
            case let .ack(ack):
                spool.remove(trialId: ack.trialID, attempt: ack.attempt)
                if !ack.accepted, !ack.note.isEmpty { log("result \(ack.trialID) not stored: \(ack.note)") }
            case let .reject(r):
                switch r.reason {
                case .versionMismatch, .badHello:
                    throw SweepAgentError.refused(r.detail)
                case .notWelcomed:
                    welcomed = false
                    hello()
                default:
                    log("coordinator rejected a message: \(r.detail)")
                }
            case let .shutdown(s):
                if s.sweepFinished {
                    finishedSweep = true
                    // The coordinator is going away with nothing left to run: whatever is still
                    // here (a redundant attempt, its spooled result) has no one to go to.
                    if options.exitWhenFinished { return .finished }
                }
                return .lost("coordinator: \(s.reason)", heardAnything: true)
            default:
                break
            }
        }
    }

    private func start(_ assignment: WireAssignment) {
        let trial = RunningTrial(assignment)
        running = trial
        log("running \(assignment.trialID) (attempt \(assignment.attempt)): \(assignment.label)")
        let runner = self.runner
        let thread = Thread {
            trial.finish(runner.run(assignment))
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Moves a finished trial's result into the spool; returns it for sending.
    @discardableResult
    private func collectFinishedTrial() -> WireResult? {
        guard let trial = running, let result = trial.result else { return nil }
        running = nil
        completed += 1
        do {
            try spool.put(result)
        } catch {
            log("\(error); sending the result without a spool copy")
        }
        log("finished \(result.trialID)\(result.failed ? ": failed: \(result.failureReason)" : "")")
        return result
    }
}
