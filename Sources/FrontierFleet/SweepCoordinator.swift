import Foundation
import FrontierArtifacts
import FrontierGrid
import FrontierStore
import FrontierSweep
import FrontierTransport
import FrontierWire

/// The coordinator's shell: owns the ROUTER socket, the store and the scheduler, and runs the
/// loop that moves messages between them on one thread (ZeroMQ sockets belong to one thread).
///
/// One turn of the loop: take every message waiting (up to a batch), let the scheduler turn
/// them and the clock into directives, write the batch's store changes in one transaction,
/// and only then send the batch's replies. An Ack therefore always means "durable"; a crash
/// between commit and send at worst makes an agent re-send a result that is then recognised
/// as a duplicate.
///
/// `@unchecked Sendable`: `scheduler`, the store and the sockets are touched only by the thread
/// inside `run`; `current` (what `snapshot` returns to the live view and the progress bar) is
/// read and replaced only under `lock`; everything else is immutable.
public final class SweepCoordinator: @unchecked Sendable {
    public struct Options: Sendable {
        public var bind: String
        /// CURVE keys; nil allows plain (NULL) connections, which `frontier` permits only on
        /// loopback binds.
        public var keys: CoordinatorKeys?
        public var settings: SweepScheduler.Settings
        /// Stop once every trial of every joined device class has ended.
        public var exitWhenDone = false
        /// With `exitWhenDone`: how many device classes must have joined before "done" counts
        /// (a sweep that no agent joined yet is not finished).
        public var minimumDeviceClasses = 1
        public var batchSize = 512
        /// Leave "trials are waiting" out of the log (the benchmark's simulated agents).
        public var quietWaiting = false
        /// The largest artifact (a training stage's checkpoint archive) an agent may upload.
        public var maximumArtifactBytes: Int64 = 4 << 30
        /// Who may upload and fetch artifacts, and who records them; nil: the scheduler (the
        /// holders of live leases, for their own stages and inputs). Tests of the transfer alone set it.
        public var artifactPermissions: ArtifactPermissions?

        public init(bind: String, keys: CoordinatorKeys? = nil, settings: SweepScheduler.Settings = .init(),
                    exitWhenDone: Bool = false) {
            self.bind = bind
            self.keys = keys
            self.settings = settings
            self.exitWhenDone = exitWhenDone
        }
    }

    /// What the live view and the progress bar read; replaced as a whole each turn.
    public struct Snapshot: Sendable {
        public var progress = SweepScheduler.Progress()
        public var agents: [SweepScheduler.Agent] = []
        public var recentFailures: [(trialId: String, reason: String, at: Double)] = []
        public var malformedFrames = 0
        public var rejectedKeys = 0
        public var counters: [String: Int] = [:]
        /// Trials no connected agent can run, and why.
        public var waiting: [SweepWaitingRow] = []
        public var startedAt = 0.0
        public var now = 0.0
        public var boundEndpoint = ""
    }

    public let store: SweepStore
    public let options: Options
    /// Uploads and fetches of artifacts, kept in the store folder's `artifacts/`.
    public let artifacts: ArtifactExchange
    /// The store already held this sweep: a resume, not a start.
    public let resumed: Bool
    /// The grid's points (a trial is a point on a device class).
    public let pointCount: Int
    /// Training stages (trials of their own, run once each).
    public let stageCount: Int
    let log: @Sendable (String) -> Void
    let clock: @Sendable () -> Double
    private let lock = NSLock()
    private var current = Snapshot()
    private var scheduler: SweepScheduler

    public init(store: SweepStore, grid: SweepStore.GridInfo, points: [SweepPoint], options: Options,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.store = store
        self.options = options
        self.log = log
        self.clock = clock
        artifacts = try ArtifactExchange(root: store.folder.appendingPathComponent("artifacts"),
                                         maximumArtifactBytes: options.maximumArtifactBytes)
        resumed = try store.gridInfo() != nil
        try store.prepare(grid: grid, points: points)
        let now = clock()
        // The store's points, not the caller's: on a resume they are the ones the trials name.
        let storedPoints = try store.points(includingSpecs: false)
        pointCount = storedPoints.filter { !$0.isTrainingStage }.count
        stageCount = storedPoints.count - pointCount
        scheduler = SweepScheduler(points: storedPoints, placement: grid.placement,
                                   settings: options.settings, restored: try store.trials(), now: now,
                                   artifacts: try store.artifacts(), stageArtifacts: try store.stageArtifacts())
        try store.apply(scheduler.takeStartupChanges())
        // Loading 10⁵ rows leaves freed blocks behind; give them back so the coordinator's
        // resident memory is what it holds, not what loading once took.
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
        current.startedAt = now
        current.progress = scheduler.progress
    }

    public var snapshot: Snapshot { lock.withLock { current } }

    /// What the "serving …" line says. With every-device-class placement a point's trials exist
    /// only once a device class joins, so before the first agent there are none: the line
    /// counts points then, not "0 trials".
    var servingWhat: String {
        let p = scheduler.progress
        let stages = stageCount == 0 ? "" : " and \(stageCount) training stage(s)"
        switch scheduler.placement {
        case .any:
            return "\(p.total) trials"
        case .everyDeviceClass:
            let perClass = "each device class that joins gets its own trial of each"
            if p.total == stageCount { return "\(pointCount) grid points\(stages) (\(perClass))" }
            return "\(pointCount) grid points\(stages), \(p.total) trials for \(p.deviceClasses.count) device class(es) so far (\(perClass))"
        }
    }

    /// Runs until `stop` is raised (or the sweep is done with `exitWhenDone`). Throws only for
    /// what makes serving impossible: the bind, the keys, the store.
    public func run(stop: StopSignal, onBound: (String) -> Void = { _ in }) throws {
        let context = try ZmqContext()
        defer { context.shutdown() }
        var authenticator: ZapAuthenticator?
        if let keys = options.keys {
            let zap = ZapAuthenticator(context: context, authorizedKeys: keys.authorizedKeys(log: { [log] in log("keys: \($0)") }),
                                       allowNull: false, log: { [log] in log("auth: \($0)") })
            try zap.start()
            authenticator = zap
        }
        defer { authenticator?.stop() }
        let router = try context.socket(.router)
        defer { router.close() }
        // Connection-level failures (a wrong coordinator.pub, a client without CURVE, a frame
        // over ZeroMQ's limit) never reach the loop as messages: the monitor makes them log lines.
        let monitor = try ZmqSocketMonitor(router)
        defer { monitor.close() }
        var connectionEvents = 0
        try router.setLinger(ms: 2000)
        // ZeroMQ's own limit sits above the protocol's, so that a frame between the two is read
        // and refused with a Reject the sender can understand, instead of a silent disconnect.
        try router.setMaxMessageSize(bytes: WireProtocol.transportMessageBytes)
        try router.setRouterMandatory(false)
        // A ZAP domain even without CURVE: with none, libzmq accepts the old ZMTP 1.0 framing
        // from any peer whose first byte isn't 0xFF, and random bytes become "messages".
        try router.setZapDomain("frontier")
        if let keys = options.keys { try router.setCurveServer(keys.keyPair) }
        try router.bind(options.bind)
        let endpoint = router.lastEndpoint ?? options.bind
        lock.withLock { current.boundEndpoint = endpoint }
        log("serving \(servingWhat) on \(endpoint)\(options.keys == nil ? " (no CURVE: loopback only)" : " (CURVE)")")
        onBound(endpoint)

        // The shell's own copy of the authorised keys, to name the key behind each Hello (ZAP
        // hands over only the Z85 key); re-read, like ZAP's, on every Hello.
        var authorized = options.keys?.authorizedKeys()
        func agentKey(_ publicKey: String?) -> AgentKey? {
            guard let publicKey else { return nil }
            authorized?.refresh()
            guard let identity = authorized?.identity(for: publicKey) else {
                // Authorised at the handshake, removed since: it admits no name now.
                return AgentKey(publicKey: publicKey, name: "(revoked)", agentIds: [])
            }
            return AgentKey(publicKey: publicKey, name: identity.name, agentIds: identity.agentIds)
        }
        var lastTick = 0.0
        var lastWaiting = -Double.infinity
        var waiting: [SweepWaitingRow] = []
        var directives: [SweepScheduler.Directive] = []
        var failures: [(trialId: String, reason: String, at: Double)] = []
        while !stop.isRaised {
            directives.removeAll(keepingCapacity: true)
            let ready = try ZmqSocket.poll([router, monitor.socket], timeoutMs: 100)
            var now = clock()
            if ready.count > 1, ready[1] {
                for event in monitor.drain() {
                    // Refused keys are ZAP's to log (with the key); the rest only the monitor sees.
                    if case .handshakeFailedAuth = event.kind { continue }
                    var worth = event.isFailure
                    if case .disconnected = event.kind { worth = true }
                    guard worth else { continue }
                    connectionEvents += 1
                    if connectionEvents <= 50 || connectionEvents % 100 == 0 {
                        log("connection: \(event.operatorMessage)"
                            + (connectionEvents == 50 ? " (further connection events are logged every 100th)" : ""))
                    }
                }
            }
            if ready.first == true {
                for _ in 0..<options.batchSize {
                    guard let message = try router.receiveMessage(timeoutMs: 0) else { break }
                    now = clock()
                    let frames = message.frames
                    guard frames.count == 2 else {
                        scheduler.handle(.malformed(peer: frames.first ?? Data(), error: .malformed("\(frames.count) frames"),
                                                    at: now), into: &directives)
                        continue
                    }
                    if frames[1].count > WireProtocol.maxMessageBytes {
                        log("refused a frame of \(frames[1].count) bytes from peer \(frames[0].hexPrefix) (limit \(WireProtocol.maxMessageBytes))")
                        scheduler.handle(.oversized(peer: frames[0], bytes: frames[1].count, at: now), into: &directives)
                        continue
                    }
                    do {
                        let envelope = try WireEnvelope.decode(frames[1])
                        if ArtifactExchange.handles(envelope.body) {
                            handleArtifact(peer: frames[0], envelope: envelope, router: router, into: &directives)
                            continue
                        }
                        var key: AgentKey?
                        if case .hello = envelope.body { key = agentKey(message.userId) }
                        scheduler.handle(.received(peer: frames[0], envelope: envelope, key: key, at: now, frame: frames[1]),
                                         into: &directives)
                    } catch let error as WireError {
                        if scheduler.malformedFrames < 20 || scheduler.malformedFrames % 1000 == 0 {
                            log("dropped a frame from peer \(frames[0].hexPrefix): \(error) (\(scheduler.malformedFrames + 1) so far)")
                        }
                        scheduler.handle(.malformed(peer: frames[0], error: error, at: now), into: &directives)
                    }
                }
            }
            if now - lastTick >= 0.2 {
                scheduler.handle(.tick(at: now), into: &directives)
                lastTick = now
            }
            if now - lastWaiting >= 1 {
                lastWaiting = now
                let current = scheduler.waiting
                if current != waiting {
                    // Logged when a reason appears, not each time its count moves.
                    let known = Set(waiting.map { "\($0.deviceClass)\u{0}\($0.reason)" })
                    for row in current where !known.contains("\(row.deviceClass)\u{0}\(row.reason)") && !options.quietWaiting {
                        log("trials of device class \(row.deviceClass) are waiting (\(row.trials) now): \(row.reason)")
                    }
                    waiting = current
                    directives.append(.store(.waiting(current)))
                }
            }
            // Durable first, then answer.
            var changes: [SweepStoreChange] = []
            for d in directives {
                if case let .store(change) = d {
                    changes.append(change)
                    if case let .attemptEnded(trialId, _, _, reason, _, _, at) = change {
                        failures.append((trialId, reason, at))
                    }
                }
            }
            try store.apply(changes)
            for d in directives {
                switch d {
                case .send(let peer, var envelope):
                    // The scheduler holds points without their specs; they are read here.
                    if case var .assignment(a) = envelope.body, a.specJson.isEmpty {
                        guard let spec = try store.specJSON(pointKey: a.pointKey) else {
                            log("no spec in the store for point \(a.pointKey); assignment \(a.trialID) not sent")
                            continue
                        }
                        a.specJson = String(decoding: spec, as: UTF8.self)
                        envelope.body = .assignment(a)
                    }
                    do {
                        try router.send([peer, envelope.encoded()], dontWait: true)
                    } catch {
                        log("could not send \(envelope.kind) to \(peer.hexPrefix): \(error)")
                    }
                case let .log(line):
                    log(line)
                case .store:
                    break
                }
            }
            if failures.count > 50 { failures.removeFirst(failures.count - 50) }
            let progress = scheduler.progress
            let agents = scheduler.agents.values.sorted { $0.id < $1.id }
            let malformed = scheduler.malformedFrames
            let counters = scheduler.counters
            let rejected = authenticator?.rejectedCount ?? 0
            let failuresNow = failures
            let waitingNow = waiting
            lock.withLock {
                current.waiting = waitingNow
                current.progress = progress
                current.agents = agents
                current.recentFailures = failuresNow
                current.malformedFrames = malformed
                current.rejectedKeys = rejected
                current.counters = counters
                current.now = now
            }
            if options.exitWhenDone, progress.finished, progress.deviceClasses.count >= options.minimumDeviceClasses {
                log("sweep finished: \(progress.done) done, \(progress.failed) failed")
                tellAgentsToStop(router, finished: true)
                return
            }
        }
        log("stopping (\(stop.reason ?? "asked")): every acknowledged result is in the store; agents keep the rest")
        tellAgentsToStop(router, finished: false)
    }

    /// An artifact message goes to the exchange, not the scheduler. The reply to a completed
    /// upload joins the turn's directives, so it is sent after the turn's store changes (the
    /// artifact's record) are durable; any other reply goes at once, so that a turn full of
    /// fetches holds one chunk in memory, not one per fetch.
    private func handleArtifact(peer: Data, envelope: WireEnvelope, router: ZmqSocket,
                                into directives: inout [SweepScheduler.Directive]) {
        guard let body = envelope.body else { return }
        let outcome: ArtifactExchange.Outcome
        if let permissions = options.artifactPermissions {
            outcome = artifacts.handle(peer: peer, body: body, mayUpload: permissions.mayUpload, mayFetch: permissions.mayFetch)
            if let stored = outcome.stored { permissions.stored(stored) }
        } else {
            // The scheduler says who holds which lease; a completed upload's row joins this
            // turn's transaction, written before the reply that says "stored" is sent.
            let scheduler = self.scheduler
            outcome = artifacts.handle(peer: peer, body: body,
                                       mayUpload: { scheduler.artifactUploadPermission(peer: $0, trialId: $1, attempt: $2) },
                                       mayFetch: { scheduler.artifactFetchPermission(peer: $0, trialId: $1, attempt: $2, sha256: $3) })
            if let stored = outcome.stored {
                directives.append(.store(self.scheduler.artifactStored(sha256: stored.sha256, size: stored.size, trialId: stored.trialId,
                                                                        agentId: stored.agentId, at: clock())))
            }
        }
        directives.append(contentsOf: outcome.log.map { SweepScheduler.Directive.log($0) })
        if outcome.stored != nil {
            directives.append(contentsOf: outcome.replies.map { SweepScheduler.Directive.send(peer: peer, $0) })
            return
        }
        for reply in outcome.replies {
            do {
                try router.send([peer, reply.encoded()], dontWait: true)
            } catch {
                log("could not send \(reply.kind) to \(peer.hexPrefix): \(error)")
            }
        }
    }

    private func tellAgentsToStop(_ router: ZmqSocket, finished: Bool) {
        var shutdown = WireShutdown()
        shutdown.reason = finished ? "the sweep is finished" : "the coordinator is stopping"
        shutdown.sweepFinished = finished
        let frame = WireEnvelope(.shutdown(shutdown)).encoded()
        for agent in scheduler.agents.values where agent.state != .lost {
            _ = try? router.send([agent.peer, frame], dontWait: true)
        }
    }
}

extension Data {
    var hexPrefix: String { prefix(8).map { String(format: "%02x", $0) }.joined() }
}

#if os(Linux)
/// glibc's malloc_trim(3), which Swift's Glibc module does not export.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
