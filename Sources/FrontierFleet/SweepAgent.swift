import Foundation
import FrontierMeasurement
import FrontierSupport
import FrontierSweep
import FrontierTransport
import FrontierWire

/// The agent's shell around `SweepAgentMachine`, as `SweepCoordinator` is the scheduler's: it
/// owns the socket, the spool on disk, the runner thread and the stop signal, and moves events
/// and directives between them and the machine on one thread (a ZeroMQ socket belongs to one
/// thread). What the agent does — Hello, heartbeats, work requests, spool replay, reconnecting
/// with backoff, refusing another protocol version — is the machine's, and tested there.
///
/// One turn: wait in `zmq_poll` on the socket and on a wake-up pipe that the runner thread and
/// the stop signal write to, until a message, a wake-up or the machine's next deadline; then
/// hand the machine what happened, with the time, and carry out its directives. Nothing waits
/// a fixed time: a trial still running while the coordinator is away is waited for by the same
/// poll as the end of the backoff, whichever comes first.
///
/// `@unchecked Sendable`: the machine, the socket and the spool are touched only by the thread
/// inside `run`; `completedCount` is read and written only under `lock`; the rest is immutable.
public final class SweepAgent: @unchecked Sendable {
    public struct Options: Sendable {
        public var endpoint: String
        public var agentId: String
        public var deviceClass: String
        public var fingerprint: WireDeviceFingerprint?
        public var threads: Int
        public var keys: AgentKeys?
        public var spool: URL
        /// Exit once the coordinator says the sweep is finished (and the spool is empty).
        public var exitWhenFinished = true
        /// Missed heartbeats before the coordinator is presumed gone.
        public var liveness = 5
        public var backoffInitialS = 0.5
        public var backoffMaxS = 30.0
        /// Deliver the spool and exit without taking work (`SweepAgentMachine.Settings.deliverOnly`).
        public var deliverOnly = false
        /// What this agent can run (`AgentCapabilities.current` for the real engine).
        public var capabilities: WireCapabilities

        public init(endpoint: String, agentId: String, deviceClass: String, fingerprint: WireDeviceFingerprint?, threads: Int,
                    keys: AgentKeys?, spool: URL, capabilities: WireCapabilities) {
            self.endpoint = endpoint
            self.agentId = agentId
            self.deviceClass = deviceClass
            self.fingerprint = fingerprint
            self.capabilities = capabilities
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
    /// `@unchecked Sendable`: `finished` is written once by the runner thread and read by the
    /// loop, both only under `lock`; `assignment` is immutable.
    final class RunningTrial: @unchecked Sendable {
        let assignment: WireAssignment
        let cancellation = TrialCancellation()
        private let lock = NSLock()
        private var finished: WireResult?
        init(_ assignment: WireAssignment) { self.assignment = assignment }
        func finish(_ result: WireResult) { lock.withLock { finished = result } }
        var result: WireResult? { lock.withLock { finished } }
    }

    /// Messages taken from the socket in one turn at most, so that a flood cannot starve the
    /// machine's timers or a trial's end.
    static let receiveBatch = 64

    public let options: Options
    /// The mailbox through which the runner's thread uploads and fetches artifacts on this
    /// agent's connection (the loop carries its messages; see `ArtifactTransferLink`).
    public let transfers: ArtifactTransferLink
    /// This process's run of the agent, in every routing id it connects with
    /// (`AGENT_ID/INSTANCE:CONNECTION`): the coordinator tells a reconnect of the same agent from
    /// a second process claiming the same id (`SweepScheduler.routingInstance`).
    let instance = String(UUID().uuidString.prefix(8))
    let runner: any SweepTrialRunner
    let log: @Sendable (String) -> Void
    let spool: ResultSpool
    // Guarded by `lock`: written by the loop, read by anyone (a test, the command at the end).
    private let lock = NSLock()
    private var completedCount = 0

    /// Trials run to the end here (failed ones included).
    public var completed: Int { lock.withLock { completedCount } }

    /// `transfers`: the link the runner was given to move artifacts (one the runner does not
    /// know of by default).
    public init(options: Options, runner: any SweepTrialRunner, transfers: ArtifactTransferLink = ArtifactTransferLink(),
                log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.options = options
        self.runner = runner
        self.transfers = transfers
        self.log = log
        spool = try ResultSpool(folder: options.spool)
    }

    var machineSettings: SweepAgentMachine.Settings {
        var settings = SweepAgentMachine.Settings(agentId: options.agentId, deviceClass: options.deviceClass,
                                   fingerprint: options.fingerprint, threads: options.threads,
                                   capabilities: options.capabilities, engineVersion: FrontierVersion.string,
                                   endpoint: options.endpoint, exitWhenFinished: options.exitWhenFinished,
                                   liveness: options.liveness, backoffInitialS: options.backoffInitialS,
                                   backoffMaxS: options.backoffMaxS)
        settings.deliverOnly = options.deliverOnly
        return settings
    }

    /// Runs until the sweep is finished (with `exitWhenFinished`) or `stop` is raised. A trial
    /// still running at a stop is waited for and spooled, so a SIGTERM never throws away a
    /// measurement that is nearly done. Throws only for what no retry can fix: a version
    /// mismatch, a Hello the coordinator refuses, unusable keys.
    public func run(stop: StopSignal) throws -> Exit {
        let context = try ZmqContext()
        defer { context.shutdown() }
        let wakeUp = try PollWakeUp()
        stop.onRaise { [weak wakeUp] in wakeUp?.signal() }
        transfers.attach(wakeUp: { [weak wakeUp] in wakeUp?.signal() })
        defer { transfers.attach(wakeUp: nil) }
        var machine = SweepAgentMachine(settings: machineSettings)
        var socket: ZmqSocket?
        defer { socket?.close() }
        var running: RunningTrial?
        // Cancelled trials still winding down (their worker being killed), and a trial that
        // must wait for them: two workers at once would spoil both measurements.
        var windingDown: [RunningTrial] = []
        var deferredStart: WireAssignment?
        var stopHandled = false

        /// Carries out the machine's answer to one event; returns its exit once there is one.
        func feed(_ event: SweepAgentMachine.Event) throws -> SweepAgentMachine.Exit? {
            for directive in machine.handle(event) {
                switch directive {
                case .connect:
                    socket = try connect(context)
                case .disconnect:
                    socket?.close()
                    socket = nil
                case let .send(body):
                    // A full queue while the coordinator is away: nothing the machine needs is
                    // lost (results are re-sent from the spool, a work request is asked again).
                    _ = try? socket?.send([WireEnvelope(body).encoded()], dontWait: true)
                case let .startTrial(assignment):
                    if windingDown.isEmpty {
                        running = start(assignment, wakeUp: wakeUp)
                    } else {
                        deferredStart = assignment
                    }
                case let .cancelTrial(trialId, attempt):
                    if let trial = running, trial.assignment.trialID == trialId, trial.assignment.attempt == attempt {
                        trial.cancellation.cancel("the coordinator says the lease on \(trialId) is gone")
                        windingDown.append(trial)
                        running = nil
                    } else if deferredStart?.trialID == trialId {
                        deferredStart = nil
                    }
                case let .spool(result):
                    do {
                        try spool.put(result)
                    } catch {
                        log("\(error); sending the result without a spool copy")
                    }
                case let .unspool(trialId, attempt):
                    spool.remove(trialId: trialId, attempt: attempt)
                case let .log(line):
                    log(line)
                case .exit:
                    break
                }
            }
            let completed = machine.completed
            lock.withLock { completedCount = completed }
            return machine.exit
        }

        /// What happened since the last turn: a stop first (a trial ending at the same moment is
        /// then spooled, not sent, as a stopping agent's always was), a trial's end, the messages
        /// waiting, and last the clock.
        func turn(socketReady: Bool) throws -> SweepAgentMachine.Exit? {
            if stop.isRaised, !stopHandled {
                stopHandled = true
                if let exit = try feed(.stop(reason: stop.reason ?? "asked", now: MonotonicClock.now())) { return exit }
            }
            if let trial = running, let result = trial.result {
                running = nil
                if let exit = try feed(.trialFinished(result, now: MonotonicClock.now())) { return exit }
            }
            windingDown.removeAll { $0.result != nil }
            if windingDown.isEmpty, let next = deferredStart {
                deferredStart = nil
                running = start(next, wakeUp: wakeUp)
            }
            if socketReady {
                for _ in 0..<Self.receiveBatch {
                    guard let current = socket, let frames = try current.receive(timeoutMs: 0) else { break }
                    guard frames.count == 1 else { continue }
                    let now = MonotonicClock.now()
                    let event: SweepAgentMachine.Event
                    do {
                        let envelope = try WireEnvelope.decode(frames[0])
                        if ArtifactTransferLink.isTransferReply(envelope.body), let body = envelope.body {
                            transfers.deliver(body)
                            // A Reject naming an artifact is the transfer's alone; the other
                            // replies still tell the machine the coordinator is alive (it
                            // ignores their bodies).
                            if case .reject = body { continue }
                        }
                        event = .received(envelope, now: now)
                    } catch let error as WireError {
                        event = .undecodableFrame(error, now: now)
                    } catch {
                        event = .undecodableFrame(.malformed("\(error)"), now: now)
                    }
                    if let exit = try feed(event) { return exit }
                }
            }
            // The transfers' messages; without a connection they are lost, and the transfer
            // asks again after its timeout.
            for body in transfers.takeOutgoing() {
                _ = try? socket?.send([WireEnvelope(body).encoded()], dontWait: true)
            }
            return try feed(.tick(now: MonotonicClock.now()))
        }

        stopHandled = stop.isRaised
        var exit = try feed(stopHandled ? .stop(reason: stop.reason ?? "asked", now: MonotonicClock.now())
                                        : .start(spooled: spool.all(report: log), now: MonotonicClock.now()))
        while exit == nil {
            let ready = try ZmqSocket.poll(socket.map { [$0] } ?? [], fileDescriptors: [wakeUp.fileDescriptor],
                                           timeoutMs: Self.timeoutMs(until: machine.nextDeadline))
            if ready.fileDescriptors.first == true { wakeUp.drain() }
            exit = try turn(socketReady: ready.sockets.first == true)
        }
        switch exit {
        case .finished?: return .finished
        case let .stopped(reason)?: return .stopped(reason)
        case let .refused(detail)?: throw SweepAgentError.refused(detail)
        case nil: preconditionFailure("the loop ends only with an exit")
        }
    }

    /// The `zmq_poll` timeout for a deadline on `MonotonicClock`: rounded up, so that the tick
    /// after the wait is never early; -1 (until an event) without one.
    static func timeoutMs(until deadline: Double?) -> Int {
        guard let deadline else { return -1 }
        let ms = (deadline - MonotonicClock.now()) * 1000
        guard ms > 0 else { return 0 }
        return Int(min(ms.rounded(.up), 3_600_000))
    }

    /// A fresh DEALER with a routing id of its own, so that the coordinator never mistakes a new
    /// connection for the one it may still hold for us.
    private func connect(_ context: ZmqContext) throws -> ZmqSocket {
        let socket = try context.socket(.dealer)
        do {
            try socket.setLinger(ms: 0)
            try socket.setMaxMessageSize(bytes: WireProtocol.maxMessageBytes)
            try socket.setRoutingId(Data("\(options.agentId)/\(instance):\(UUID().uuidString.prefix(8))".utf8))
            if let keys = options.keys {
                try socket.setCurveClient(serverPublicKey: keys.coordinatorPublicKey, keyPair: keys.keyPair)
            }
            try socket.connect(options.endpoint)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    private func start(_ assignment: WireAssignment, wakeUp: PollWakeUp) -> RunningTrial {
        let trial = RunningTrial(assignment)
        let runner = self.runner
        let thread = Thread {
            trial.finish(runner.run(assignment, cancellation: trial.cancellation))
            wakeUp.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        return trial
    }
}
