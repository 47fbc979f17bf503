import Foundation
import GRDB
import Testing
import FrontierMeasurement
#if canImport(Glibc)
import Glibc
#endif
@testable import FrontierFleet
@testable import FrontierGrid
@testable import FrontierStore
@testable import FrontierSupport
@testable import FrontierSweep
@testable import FrontierTransport
@testable import FrontierWire


/// The coordinator's shell and the agent loop together, in one process over real loopback
/// sockets: a `SweepCoordinator` on a thread with a temporary store, `SweepAgent`s on threads
/// with fake runners, and raw DEALER / TCP peers that speak the wire badly on purpose.
///
/// Every test raises its `StopSignal`s and joins its threads (`Harness.finish`), whatever
/// happened; a thread that does not end within its bound is a failure, not a hang.
@Suite(.serialized) struct SweepCoordinatorTests {
    typealias S = ZmqTestSupport

    /// Heartbeats every 50 ms keep the sweeps short: an idle agent asks for work at most
    /// every two heartbeats (see the report on `SweepAgent`'s request timer). A 3 s lease
    /// bounds what a stranded lease costs: an agent that re-asks for work after two
    /// heartbeats without an answer can be handed a second trial that it ignores, and that
    /// trial waits out its lease (a known issue in `SweepAgent`/`SweepScheduler.assign`).
    static func settings(maxAttempts: Int = 3, lease: Double = 3, heartbeat: Double = 0.05) -> SweepScheduler.Settings {
        .init(leaseSeconds: lease, heartbeatSeconds: heartbeat, maxAttempts: maxAttempts, gridName: "coord-test")
    }

    static func grid(_ fingerprint: String = "coord-test-1") -> SweepStore.GridInfo {
        .init(name: "coord-test", source: "name: coord-test\n", placement: .everyDeviceClass, fingerprint: fingerprint)
    }

    // MARK: - Fake runners

    /// What the runners were asked to run, from any thread.
    final class Calls: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var list: [(trialId: String, attempt: UInt32)] = []
        func record(_ a: WireAssignment) { lock.withLock { list.append((a.trialID, a.attempt)) } }
        var all: [(trialId: String, attempt: UInt32)] { lock.withLock { list } }
        var count: Int { lock.withLock { list.count } }
        func count(of trialId: String) -> Int { lock.withLock { list.filter { $0.trialId == trialId }.count } }
    }

    /// A one-way latch a runner can wait on.
    final class Gate: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var opened = false
        func open() { lock.withLock { opened = true } }
        var isOpen: Bool { lock.withLock { opened } }
        func wait() { while !isOpen { Thread.sleep(forTimeInterval: 0.01) } }
    }

    struct Runner: SweepTrialRunner {
        let calls: Calls
        let body: @Sendable (WireAssignment) -> WireResult
        init(_ calls: Calls, _ body: @escaping @Sendable (WireAssignment) -> WireResult = { SweepCoordinatorTests.success($0) }) {
            self.calls = calls
            self.body = body
        }
        func run(_ assignment: WireAssignment, cancellation: TrialCancellation) -> WireResult {
            calls.record(assignment)
            return body(assignment)
        }
    }

    /// A successful result that names the trial it belongs to (`trial_id` in its JSON) and
    /// `tag` (as its model, `"model":"/m/TAG"`).
    static func success(_ a: WireAssignment, tag: String = "ok") -> WireResult {
        var r = WireResult()
        r.trialID = a.trialID
        r.attempt = a.attempt
        r.result = WireResults.ok(latencyMs: 1.5)
        r.result.trialID = a.trialID
        r.result.model = "/m/\(tag)"
        return r
    }

    static func failure(_ a: WireAssignment, reason: String) -> WireResult {
        var r = WireResult()
        r.trialID = a.trialID
        r.attempt = a.attempt
        r.result = WireResults.failed(reason)
        return r
    }

    // MARK: - Threads and the harness

    /// A closure on its own `Thread`, joinable with a bound.
    final class Background<T: Sendable>: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var outcome: Result<T, any Error>?
        private let done = DispatchSemaphore(value: 0)

        init(_ name: String, _ body: @escaping @Sendable () throws -> T) {
            let thread = Thread { [self] in
                let result: Result<T, any Error>
                do { result = .success(try body()) } catch { result = .failure(error) }
                lock.withLock { outcome = result }
                done.signal()
            }
            thread.name = name
            thread.stackSize = 8 << 20
            thread.start()
        }

        var finished: Bool { lock.withLock { outcome != nil } }

        /// The outcome, or nil if the thread is still running after `seconds`.
        func join(_ seconds: Double) -> Result<T, any Error>? {
            guard done.wait(timeout: .now() + seconds) == .success else { return nil }
            done.signal()  // joinable again
            return lock.withLock { outcome }
        }
    }

    struct CoordinatorRun {
        let coordinator: SweepCoordinator
        let stop: StopSignal
        let thread: Background<Void>
        let endpoint: String
        let log: LogLines
    }

    struct AgentRun {
        let agent: SweepAgent
        let stop: StopSignal
        let thread: Background<SweepAgent.Exit>
        let spool: URL
        let log: LogLines
    }

    /// Owns a temporary folder and everything started in a test; `finish` stops and joins it all.
    final class Harness {
        let root: URL
        private var stops: [StopSignal] = []
        private var joins: [(String, (Double) -> Bool)] = []
        private var beforeStop: [() -> Void] = []

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-coord-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }

        var storeFolder: URL { root.appendingPathComponent("store") }
        func store() throws -> SweepStore { try SweepStore(folder: storeFolder) }

        /// Runs `body` first in `finish` (e.g. opening a gate a runner waits on).
        func onFinish(_ body: @escaping () -> Void) { beforeStop.append(body) }

        func coordinator(points: [SweepPoint], settings: SweepScheduler.Settings = SweepCoordinatorTests.settings(),
                         bind: String = "tcp://127.0.0.1:*", keys: CoordinatorKeys? = nil, exitWhenDone: Bool = false,
                         store: SweepStore? = nil, grid: SweepStore.GridInfo = SweepCoordinatorTests.grid()) throws
            -> CoordinatorRun {
            let log = LogLines()
            var options = SweepCoordinator.Options(bind: bind, keys: keys, settings: settings, exitWhenDone: exitWhenDone)
            options.minimumDeviceClasses = 1
            let coordinator = try SweepCoordinator(store: try store ?? self.store(), grid: grid, points: points,
                                                   options: options, log: log.sink)
            let stop = StopSignal()
            let thread = Background<Void>("coordinator") { try coordinator.run(stop: stop) }
            stops.append(stop)
            joins.append(("coordinator", { thread.join($0) != nil }))
            // Wait for the bind (or for `run` to fail).
            let deadline = Date().addingTimeInterval(5)
            while coordinator.snapshot.boundEndpoint.isEmpty, !thread.finished, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            if case let .failure(error)? = thread.join(0) { throw error }
            let endpoint = coordinator.snapshot.boundEndpoint
            try #require(!endpoint.isEmpty, "the coordinator did not bind within 5 s")
            return CoordinatorRun(coordinator: coordinator, stop: stop, thread: thread, endpoint: endpoint, log: log)
        }

        func agent(_ id: String, endpoint: String, deviceClass: String = "cpu-a", runner: any SweepTrialRunner,
                   keys: AgentKeys? = nil, spool: URL? = nil) throws -> AgentRun {
            let log = LogLines()
            let spool = spool ?? root.appendingPathComponent("spool-\(id)")
            var options = SweepAgent.Options(endpoint: endpoint, agentId: id, deviceClass: deviceClass,
                                             fingerprint: WireResults.device(deviceClass), threads: 1, keys: keys, spool: spool,
                                             capabilities: WireResults.allCapabilities)
            // 50 ms heartbeats on a busy 2-core machine: tolerate 3 s of silence before reconnecting.
            options.liveness = 60
            options.backoffInitialS = 0.1
            options.backoffMaxS = 0.4
            let agent = try SweepAgent(options: options, runner: runner, log: log.sink)
            let stop = StopSignal()
            let thread = Background<SweepAgent.Exit>("agent-\(id)") { try agent.run(stop: stop) }
            stops.append(stop)
            joins.append(("agent \(id)", { thread.join($0) != nil }))
            return AgentRun(agent: agent, stop: stop, thread: thread, spool: spool, log: log)
        }

        /// Raises every stop signal and joins every thread (each must end within 10 s).
        func finish() {
            for body in beforeStop { body() }
            for stop in stops { stop.raise("test finished") }
            for (name, join) in joins where !join(10) {
                Issue.record("\(name) did not stop within 10 s of its stop signal")
            }
            try? FileManager.default.removeItem(at: root)
        }
    }

    /// Polls `condition` every 20 ms for up to `seconds`; returns its last value.
    @discardableResult
    static func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try condition()
    }

    static func trialIds(_ n: Int, deviceClass: String = "cpu-a") -> Set<String> {
        Set((0..<n).map { "p\($0)@\(deviceClass)" })
    }

    static func spooled(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".result.pb") }
    }

    // MARK: - 1. A whole sweep

    @Test func fourAgentsFinishASweepWithExactlyOneResultPerTrial() throws {
        let h = try Harness()
        defer { h.finish() }
        let n = 50
        let c = try h.coordinator(points: SweepSchedulerTests.points(n), exitWhenDone: true)
        let calls = Calls()
        let agents = try (1...4).map { try h.agent("a\($0)", endpoint: c.endpoint, runner: Runner(calls)) }

        // `exitWhenDone`: run returns by itself once every trial has ended.
        guard let ended = c.thread.join(9) else {
            let snap = c.coordinator.snapshot
            let lines = agents.flatMap { a in a.log.all.map { "\(a.agent.options.agentId): \($0)" } }
            Issue.record("""
                the coordinator did not finish the sweep within 9 s: \(snap.progress); \
                agents \(snap.agents.map { "\($0.id) \($0.state) \($0.trialId ?? "-")" }); \
                agent log lines about ignored or lost work: \(lines.filter { $0.contains("ignored") || $0.contains("reconnect") })
                """)
            return
        }
        _ = try ended.get()
        // And tells the agents, which exit by themselves (Shutdown with sweep_finished).
        for a in agents {
            let exit = try #require(a.thread.join(4), "agent \(a.agent.options.agentId) did not exit after the sweep")
            #expect(try exit.get() == .finished)
        }

        let expected = Self.trialIds(n)
        let counts = try c.coordinator.store.resultCounts()
        #expect(Set(counts.keys) == expected)
        #expect(counts.values.allSatisfy { $0 == 1 })
        let stored = try c.coordinator.store.counts()
        #expect(stored.total == n && stored.done == n && stored.results == n && stored.pending == 0 && stored.leased == 0)
        // Every trial ran (a lease that expires under load may run one twice, never store it
        // twice), and each stored result is the one its own trial produced.
        #expect(calls.count >= n)
        #expect(Set(calls.all.map(\.trialId)) == expected)
        #expect(agents.map(\.agent.completed).reduce(0, +) == calls.count)
        let trials = try c.coordinator.store.storedTrials()
        #expect(trials.filter { $0.resultJSON?.contains("\"trial_id\" : \"\($0.trial.trialId)\"") != true }.map(\.trial.trialId) == [],
                "results stored under the wrong trial")
        #expect(trials.filter { $0.trial.state != .done }.map(\.trial.trialId) == [])
        #expect(trials.filter { !["a1", "a2", "a3", "a4"].contains($0.resultAgentId ?? "") }.map(\.trial.trialId) == [])
        let storedAgents = try c.coordinator.store.agents()
        #expect(storedAgents.map(\.agentId) == ["a1", "a2", "a3", "a4"])
        #expect(storedAgents.map(\.done).reduce(0, +) == n)
        let snap = c.coordinator.snapshot
        #expect(snap.progress.finished && snap.progress.done == n)
        #expect(snap.malformedFrames == 0)
        for a in agents { #expect(Self.spooled(a.spool).isEmpty) }
    }

    // MARK: - 2. Garbage and fuzz

    /// Frames for the fuzzing DEALER, and how many of them the coordinator must count as
    /// malformed. Valid-decoding mutants that are Hellos are left out (a Hello that decodes is
    /// a legitimate join); every other valid-decoding mutant is kept: from a peer that never
    /// said Hello it must change nothing.
    struct Fuzz {
        var messages: [[Data]] = []
        var malformed = 0
        var validKept = 0
        var hellosDropped = 0

        init(count: Int, seed: UInt64, realTrialId: String) {
            var rng = SplitMix64(seed: seed)
            func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
            func bytes(_ n: Int) -> Data { Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }

            var hello = WireHello()
            hello.agentID = "fuzz-agent"
            hello.deviceClass = "fuzz@class"  // even decoded intact, not a valid device class
            hello.fingerprint = WireResults.device("fuzz")
            hello.capabilities = WireResults.allCapabilities
            hello.threads = 4
            hello.engineVersion = "9.9.9"
            var result = WireResult()
            result.trialID = "zz-bogus@cpu-a"
            result.attempt = 1
            result.result = WireResults.ok()
            result.result.model = "FUZZ"
            var beat = WireHeartbeat()
            beat.trialID = "zz-bogus@cpu-a"
            beat.attempt = 1
            var ack = WireAck()
            ack.trialID = "zz"
            ack.accepted = true
            var assignment = WireAssignment()
            assignment.trialID = "zz@x"
            assignment.specJson = "{}"
            var reject = WireReject()
            reject.reason = .malformed
            reject.detail = "zz"
            let bases: [WireEnvelope] = [
                WireEnvelope(.hello(hello)), WireEnvelope(.result(result)), WireEnvelope(.heartbeat(beat)),
                WireEnvelope(.workRequest(.init())), WireEnvelope(.ack(ack)), WireEnvelope(.assignment(assignment)),
                WireEnvelope(.reject(reject)), WireEnvelope(.welcome(.init())), WireEnvelope(.noWork(.init())),
                WireEnvelope(.shutdown(.init())),
            ]
            let encoded = bases.map { $0.encoded() }

            func add(_ frame: Data, keepHellos: Bool = false) {
                do {
                    let envelope = try WireEnvelope.decode(frame)
                    if case .hello = envelope.body, !keepHellos {
                        hellosDropped += 1
                        return
                    }
                    validKept += 1
                } catch {
                    malformed += 1
                }
                messages.append([frame])
            }

            for _ in 0..<count {
                let base = encoded[int(encoded.count)]
                switch int(7) {
                case 0:  // random bytes, 0-300 of them
                    add(bytes(int(301)))
                case 1:  // truncated
                    add(base.prefix(int(base.count)))
                case 2:  // 1-3 bit flips
                    var f = base
                    for _ in 0...int(3) { f[f.startIndex + int(f.count)] ^= UInt8(1 << int(8)) }
                    add(f)
                case 3:  // garbage appended or spliced in
                    var f = base
                    f.insert(contentsOf: bytes(1 + int(16)), at: f.startIndex + int(f.count + 1))
                    add(f)
                case 4:  // a valid body under another protocol version
                    var e = bases[int(bases.count)]
                    e.protocolVersion = [0, 2, 3, 99, UInt32.max][int(5)]
                    add(e.encoded())
                case 5:  // the empty frame: an Envelope of version 0
                    add(Data())
                default:  // several frames in one message: never an Envelope
                    let parts = 2 + int(3)
                    messages.append((0..<parts).map { _ in int(3) == 0 ? Data() : encoded[int(encoded.count)] })
                    malformed += 1
                }
            }

            // Valid, well-formed messages the coordinator must refuse from this peer.
            var bad = hello
            bad.agentID = "  "
            add(WireEnvelope(.hello(bad)).encoded(), keepHellos: true)  // BAD_HELLO: blank agent id
            add(WireEnvelope(.hello(hello)).encoded(), keepHellos: true)  // BAD_HELLO: '@' in the device class
            var stolen = result
            stolen.trialID = realTrialId                   // NOT_WELCOMED: a result without a Hello
            add(WireEnvelope(.result(stolen)).encoded())
        }
    }

    @Test func garbageAndFuzzNeitherStopTheSweepNorReachTheStore() throws {
        let h = try Harness()
        defer { h.finish() }
        let n = 30
        let c = try h.coordinator(points: SweepSchedulerTests.points(n))
        let calls = Calls()
        _ = try h.agent("real", endpoint: c.endpoint, runner: Runner(calls) { a in
            Thread.sleep(forTimeInterval: 0.02)
            return SweepCoordinatorTests.success(a)
        })
        #expect(Self.waitUntil(5) { c.coordinator.snapshot.progress.done >= 1 }, "the real agent never got going")

        let ctx = try ZmqContext()
        defer { ctx.shutdown() }

        // A version mismatch gets an answer that names both versions.
        let probe = try ctx.socket(.dealer)
        try probe.setRoutingId(S.data("version-probe"))
        try probe.connect(c.endpoint)
        var oldHello = WireHello()
        oldHello.agentID = "from-the-future"
        oldHello.deviceClass = "cpu-a"
        var future = WireEnvelope(.hello(oldHello))
        future.protocolVersion = 99
        try probe.send(future.encoded())
        let replyFrames = try #require(try probe.receive(timeoutMs: 3000), "no answer to a version-99 Hello")
        #expect(replyFrames.count == 1)
        let reply = try WireEnvelope.decode(try #require(replyFrames.first))
        guard case let .reject(reject) = reply.body else {
            Issue.record("a version-99 Hello got \(reply.kind), not a Reject")
            return
        }
        #expect(reject.reason == .versionMismatch)
        #expect(reject.detail.contains("protocol 99"), "\(reject.detail)")
        #expect(reject.detail.contains("this side \(WireProtocol.version)"), "\(reject.detail)")

        // Thousands of bad frames from one DEALER, while the real agent works.
        let fuzz = Fuzz(count: 4000, seed: 0xF0221, realTrialId: "p\(n - 1)@cpu-a")
        // The fuzz's, the probe's version-99 Hello, and one frame over the protocol's 4 MiB.
        let expectedMalformed = fuzz.malformed + 1 + 1
        let fuzzer = try ctx.socket(.dealer)
        try fuzzer.setRoutingId(S.data("fuzzer"))
        try fuzzer.setSendTimeout(ms: 5000)
        try fuzzer.connect(c.endpoint)
        // Its answers are read as it goes, so that none is dropped at a high-water mark.
        var answers: [[Data]] = []
        var unsent = 0
        for (i, message) in fuzz.messages.enumerated() {
            if try !fuzzer.send(message) { unsent += 1 }
            if i % 50 == 0 { while let m = try fuzzer.receive(timeoutMs: 0) { answers.append(m) } }
        }
        #expect(unsent == 0, "the fuzzer could not send \(unsent) messages within 5 s each")

        // Raw TCP junk on the same port: none of it may become a message.
        let port = try S.port(of: c.endpoint)
        let junk: [[UInt8]] = [
            S.randomBytes(2000, seed: 1),
            Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            [0x01, 0x00, 0x41],  // a ZMTP 1.0 frame, which a ZAP domain makes libzmq refuse
            S.greeting(mechanism: "NULL") + S.randomBytes(500, seed: 2),
            S.greeting(mechanism: "CURVE") + S.randomBytes(500, seed: 3),
            S.greeting(mechanism: "PLAIN") + S.randomBytes(500, seed: 4),
            Array(S.greeting(mechanism: "NULL").prefix(11)),  // a greeting cut short
        ]
        for (i, bytes) in junk.enumerated() {
            let raw = try S.RawConnection(port: port)
            raw.write(bytes)
            if i % 2 == 0 { raw.close() } else { Thread.sleep(forTimeInterval: 0.01); raw.close() }
        }
        // A frame over the protocol's 4 MiB (but under ZeroMQ's 64 MiB) from another DEALER:
        // read, refused with a Reject that says why, never stored.
        let big = try ctx.socket(.dealer)
        try big.setRoutingId(S.data("big"))
        try big.connect(c.endpoint)
        try big.send(Data(count: WireProtocol.maxMessageBytes + 1))
        let bigAnswer = try big.receive(timeoutMs: 5000)
        let bigReject = try bigAnswer.flatMap { try WireEnvelope.decode($0[0]) }
        if case let .reject(r)? = bigReject?.body {
            #expect(r.reason == .frameTooLarge && r.detail.contains("4194305 bytes"))
        } else {
            Issue.record("an oversized frame got no FRAME_TOO_LARGE Reject: \(String(describing: bigReject))")
        }

        // The real agent's sweep still finishes, and every bad frame was counted once.
        #expect(Self.waitUntil(9) { c.coordinator.snapshot.progress.finished }, "the sweep did not finish under fuzz")
        Self.waitUntil(3) { c.coordinator.snapshot.malformedFrames >= expectedMalformed }
        Thread.sleep(forTimeInterval: 0.3)  // and nothing more trickles in
        let snap = c.coordinator.snapshot
        #expect(snap.malformedFrames == expectedMalformed,
                "malformed: \(snap.malformedFrames), expected \(expectedMalformed) (\(fuzz.validKept) valid mutants kept, \(fuzz.hellosDropped) Hellos left out)")
        #expect(snap.counters["malformed"] == expectedMalformed - 1)
        #expect(snap.counters["oversized"] == 1)
        #expect(c.thread.finished == false, "the coordinator's run ended under fuzz")
        #expect(snap.agents.map(\.id) == ["real"])

        // The fuzzer heard refusals, never a Welcome or an Assignment.
        var refusals: [WireReject.Reason: Int] = [:]
        answers += try S.drain(fuzzer, forMs: 300)
        for frames in answers {
            guard frames.count == 1, let e = try? WireEnvelope.decode(frames[0]) else {
                Issue.record("the coordinator sent the fuzzer a frame that is not an Envelope")
                continue
            }
            switch e.body {
            case let .reject(r): refusals[r.reason, default: 0] += 1
            default: Issue.record("the fuzzer, never welcomed, got \(e.kind)")
            }
        }
        #expect(refusals[.versionMismatch, default: 0] > 0)
        #expect(refusals[.badHello, default: 0] >= 2)
        #expect(refusals[.notWelcomed, default: 0] >= 1)

        // The store holds the real sweep and nothing else.
        let store = c.coordinator.store
        let trials = try store.trials()
        #expect(Set(trials.map(\.trialId)) == Self.trialIds(n))
        #expect(trials.allSatisfy { $0.deviceClass == "cpu-a" && $0.state == .done })
        #expect(try store.agents().map(\.agentId) == ["real"])
        let counts = try store.resultCounts()
        #expect(Set(counts.keys) == Self.trialIds(n) && counts.values.allSatisfy { $0 == 1 })
        let stored = try store.storedTrials()
        #expect(stored.filter { $0.resultAgentId != "real" }.map(\.trial.trialId) == [], "results not from the real agent")
        #expect(stored.filter { $0.resultJSON?.contains("FUZZ") != false }.map(\.trial.trialId) == [], "fuzzed results stored")
        #expect(stored.filter { $0.resultJSON?.contains("\"trial_id\" : \"\($0.trial.trialId)\"") != true }.map(\.trial.trialId) == [])
        #expect(Set(calls.all.map(\.trialId)) == Self.trialIds(n) && calls.count >= n)
        c.stop.raise("done")
        let ended = try #require(c.thread.join(5))
        #expect(throws: Never.self) { try ended.get() }
    }

    // MARK: - 3. CURVE

    @Test func curveLetsAnAuthorisedAgentWorkAndKeepsAnUnknownKeyOut() throws {
        let h = try Harness()
        defer { h.finish() }
        let coordDir = h.root.appendingPathComponent("keys-coordinator")
        let goodDir = h.root.appendingPathComponent("keys-good")
        let strangerDir = h.root.appendingPathComponent("keys-stranger")
        let coordPair = try CoordinatorKeys.generate(in: coordDir)
        let goodPair = try AgentKeys.generate(in: goodDir, coordinatorPublicKey: coordPair.publicKey)
        let strangerPair = try AgentKeys.generate(in: strangerDir, coordinatorPublicKey: coordPair.publicKey)
        // An authorised agent that was handed another coordinator's public key.
        let misconfiguredDir = h.root.appendingPathComponent("keys-misconfigured")
        let misconfiguredPair = try AgentKeys.generate(in: misconfiguredDir,
                                                       coordinatorPublicKey: try CurveKeyPair.generate().publicKey)
        try AuthorizedKeys.install(publicKey: goodPair.publicKey, name: "good", in: CoordinatorKeys.authorizedDirectory(in: coordDir))
        try AuthorizedKeys.install(publicKey: misconfiguredPair.publicKey, name: "misconfigured",
                                   in: CoordinatorKeys.authorizedDirectory(in: coordDir))
        let keys = try CoordinatorKeys.load(coordDir)
        #expect(keys.authorizedKeys().contains(goodPair.publicKey) && !keys.authorizedKeys().contains(strangerPair.publicKey))

        let n = 8
        let c = try h.coordinator(points: SweepSchedulerTests.points(n), keys: keys)
        // The stranger first: it knows the coordinator's key, but its own is not authorised.
        let strangerCalls = Calls()
        let stranger = try h.agent("stranger", endpoint: c.endpoint, deviceClass: "cpu-stranger",
                                   runner: Runner(strangerCalls), keys: try AgentKeys.load(strangerDir))
        #expect(Self.waitUntil(5) { c.coordinator.snapshot.rejectedKeys > 0 }, "the unknown key was never rejected")

        // The wrong server key fails the handshake before ZAP is asked: only the monitor sees it.
        let misconfigured = try h.agent("misconfigured", endpoint: c.endpoint, runner: Runner(Calls()),
                                        keys: try AgentKeys.load(misconfiguredDir))
        #expect(Self.waitUntil(5) { c.log.all.contains { $0.contains("connection:") && $0.contains("coordinator.pub") } },
                "a client with the wrong coordinator.pub left no log line: \(c.log.all.suffix(5))")
        misconfigured.stop.raise("done")
        _ = misconfigured.thread.join(5)
        // An authorised key claiming a name it does not admit: refused, and the agent ends.
        let impostor = try h.agent("victim", endpoint: c.endpoint, runner: Runner(Calls()), keys: try AgentKeys.load(goodDir))
        let impostorExit = try #require(impostor.thread.join(5), "the impostor was not refused")
        #expect(throws: SweepAgentError.self) { try impostorExit.get() }
        // The coordinator sends the refusal before it writes its log line: the agent may end first.
        #expect(Self.waitUntil(5) { c.log.all.contains { $0.contains("IDENTITY_REFUSED") && $0.contains("good.pub") } },
                "no IDENTITY_REFUSED line naming good.pub: \(c.log.all.suffix(5))")

        let goodCalls = Calls()
        _ = try h.agent("good", endpoint: c.endpoint, runner: Runner(goodCalls), keys: try AgentKeys.load(goodDir))
        #expect(Self.waitUntil(9) { c.coordinator.snapshot.progress.finished }, "the authorised agent did not finish")
        Thread.sleep(forTimeInterval: 0.2)

        let snap = c.coordinator.snapshot
        #expect(snap.rejectedKeys > 0)
        #expect(snap.agents.map(\.id) == ["good"])
        #expect(snap.progress.deviceClasses == ["cpu-a"])
        #expect(Set(goodCalls.all.map(\.trialId)) == Self.trialIds(n))
        #expect(strangerCalls.count == 0, "an unauthorised agent was given work")
        #expect(stranger.log.all.contains { $0.contains("connected to") } == false)
        // It keeps knocking until told to stop, and then stops cleanly.
        stranger.stop.raise("done")
        let strangerExit = try #require(stranger.thread.join(5))
        #expect(try strangerExit.get() == .stopped("done"))
        #expect(stranger.agent.completed == 0)
        #expect(c.log.all.contains { $0.contains("rejected CURVE key \(strangerPair.publicKey)") })

        let store = c.coordinator.store
        #expect(Set(try store.resultCounts().keys) == Self.trialIds(n))
        #expect(try store.agents().map(\.agentId) == ["good"])
        // `StoredAgent` has no public key; read the column itself.
        let recorded = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT agent_id, public_key FROM agents ORDER BY agent_id")
                .map { ($0["agent_id"] as String, $0["public_key"] as String?) }
        }
        #expect(recorded.count == 1)
        #expect(recorded.first?.0 == "good")
        #expect(recorded.first?.1 == goodPair.publicKey)
    }

    // MARK: - 4. The spool across a coordinator restart

    @Test func aResultSpooledWhileTheCoordinatorWasDownIsStoredOnceByTheNextOne() throws {
        let h = try Harness()
        defer { h.finish() }
        let n = 3
        let points = SweepSchedulerTests.points(n)
        let first = try h.coordinator(points: points)
        let gate = Gate()
        h.onFinish { gate.open() }
        let calls = Calls()
        // The first trial waits for the gate; the others answer at once.
        let runner = Runner(calls) { a in
            if a.pointKey == "p0" { gate.wait() }
            return SweepCoordinatorTests.success(a, tag: a.pointKey == "p0" ? "spooled" : "ok")
        }
        let agent = try h.agent("a1", endpoint: first.endpoint, runner: runner)
        #expect(Self.waitUntil(5) { calls.count(of: "p0@cpu-a") == 1 }, "the agent never started p0")

        // The coordinator stops while p0 runs: no Ack is possible any more.
        first.stop.raise("restart")
        let firstEnded = try #require(first.thread.join(5))
        _ = try firstEnded.get()
        #expect(try first.coordinator.store.resultCounts().isEmpty)
        #expect(try first.coordinator.store.trials().first { $0.trialId == "p0@cpu-a" }?.state == .leased)

        // The trial finishes with nobody to tell: the result goes to the spool.
        gate.open()
        #expect(Self.waitUntil(5) { Self.spooled(agent.spool).count == 1 }, "the result was not spooled")
        #expect(Self.spooled(agent.spool).first?.hasPrefix("p0@cpu-a.a1.") == true)
        Thread.sleep(forTimeInterval: 0.3)  // the agent may try to send it: to no one
        #expect(Self.spooled(agent.spool).count == 1)

        // A new coordinator on the same store and port: the agent reconnects and re-sends.
        var second: CoordinatorRun?
        let deadline = Date().addingTimeInterval(3)
        while second == nil {
            do {
                second = try h.coordinator(points: points, bind: first.endpoint, store: try h.store())
            } catch {
                guard Date() < deadline else { throw error }  // the port is still held: retry briefly
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let c = try #require(second)
        #expect(c.coordinator.resumed)
        #expect(c.endpoint == first.endpoint)
        #expect(Self.waitUntil(9) { c.coordinator.snapshot.progress.finished }, "the resumed sweep did not finish")
        #expect(Self.waitUntil(3) { Self.spooled(agent.spool).isEmpty }, "the spool was not emptied by the Ack")

        let store = c.coordinator.store
        let counts = try store.resultCounts()
        #expect(counts == Dictionary(uniqueKeysWithValues: Self.trialIds(n).map { ($0, 1) }))
        let p0 = try #require(try store.storedTrials().first { $0.trial.trialId == "p0@cpu-a" })
        #expect(p0.resultJSON?.contains("\"model\" : \"/m/spooled\"") == true)
        #expect(p0.trial.state == .done && p0.trial.attempt == 1 && p0.trial.reasons.isEmpty)
        // Run once, stored once: not re-run after the restart.
        #expect(calls.count(of: "p0@cpu-a") == 1)
        #expect(calls.count == n)
        #expect(c.coordinator.snapshot.counters["result_accepted"] == n)
    }

    // MARK: - 5. Worker failures

    @Test func aFailingTrialIsRetriedUpToMaxAttemptsThenFailedWithEveryReason() throws {
        let h = try Harness()
        defer { h.finish() }
        let n = 6
        // 200 ms heartbeats: an agent re-asks for work only after 400 ms without an answer,
        // so no attempt of p3 is lost to a stranded lease on a busy machine.
        let c = try h.coordinator(points: SweepSchedulerTests.points(n),
                                  settings: Self.settings(maxAttempts: 3, heartbeat: 0.2), exitWhenDone: true)
        let calls = Calls()
        let runner = Runner(calls) { a in
            a.pointKey == "p3" ? SweepCoordinatorTests.failure(a, reason: "worker exited with signal 9 (run \(a.attempt))")
                : SweepCoordinatorTests.success(a)
        }
        let agents = try ["a1", "a2"].map { try h.agent($0, endpoint: c.endpoint, runner: runner) }
        let ended = try #require(c.thread.join(9), "the sweep with a failing trial did not end within 9 s")
        _ = try ended.get()

        let store = c.coordinator.store
        let failed = try #require(try store.trials().first { $0.trialId == "p3@cpu-a" })
        #expect(failed.state == .failed)
        #expect(failed.attempt == 3)
        #expect(failed.reasons.count == 3)
        for (i, reason) in failed.reasons.enumerated() {
            #expect(reason.hasPrefix("attempt \(i + 1) on a"), "\(reason)")
            #expect(reason.contains("worker exited with signal 9 (run \(i + 1))"), "\(reason)")
        }
        #expect(calls.all.filter { $0.trialId == "p3@cpu-a" }.map(\.attempt) == [1, 2, 3])
        var others = Self.trialIds(n)
        others.remove("p3@cpu-a")
        let counts = try store.resultCounts()
        #expect(Set(counts.keys) == others && counts.values.allSatisfy { $0 == 1 })
        let stored = try store.counts()
        #expect(stored.done == n - 1 && stored.failed == 1 && stored.results == n - 1)
        #expect(try store.storedTrials().first { $0.trial.trialId == "p3@cpu-a" }?.resultJSON == nil)
        let snap = c.coordinator.snapshot
        #expect(snap.progress.failed == 1 && snap.progress.done == n - 1 && snap.progress.finished)
        #expect(snap.recentFailures.filter { $0.trialId == "p3@cpu-a" }.count == 3)
        #expect(snap.agents.map(\.failedAttempts).reduce(0, +) == 3)
        #expect(try store.attemptsCount() == n - 1 + 3)
        for a in agents {
            let exit = try #require(a.thread.join(4))
            #expect(try exit.get() == .finished)
            #expect(Self.spooled(a.spool).isEmpty)
        }
    }

    // MARK: - 6. Version mismatch, seen from the agent

    enum FakeAnswer: String, CaseIterable, Sendable {
        /// A Welcome in an Envelope of protocol_version 99.
        case envelopeOfVersion99
        /// A version-1 Reject with reason VERSION_MISMATCH (what a newer coordinator says).
        case rejectVersionMismatch
    }

    @Test(arguments: FakeAnswer.allCases)
    func anAgentRefusesACoordinatorOfAnotherVersion(answer: FakeAnswer) throws {
        let h = try Harness()
        defer { h.finish() }
        let ctx = try ZmqContext()
        defer { ctx.shutdown() }
        let router = try ctx.socket(.router)
        let endpoint = try S.bindLoopback(router)
        let calls = Calls()
        let a = try h.agent("a1", endpoint: endpoint, runner: Runner(calls))

        let hello = try #require(try router.receive(timeoutMs: 5000), "the agent never said Hello")
        #expect(hello.count == 2)
        let envelope = try WireEnvelope.decode(hello[1])
        guard case let .hello(hi) = envelope.body else {
            Issue.record("the agent's first message was \(envelope.kind)")
            return
        }
        #expect(hi.agentID == "a1" && hi.deviceClass == "cpu-a" && hi.engineVersion == FrontierVersion.string)
        #expect(envelope.protocolVersion == WireProtocol.version)

        let reply: WireEnvelope
        switch answer {
        case .envelopeOfVersion99:
            var welcome = WireWelcome()
            welcome.gridName = "from-the-future"
            welcome.heartbeatIntervalMs = 50
            var e = WireEnvelope(.welcome(welcome))
            e.protocolVersion = 99
            reply = e
        case .rejectVersionMismatch:
            var r = WireReject()
            r.reason = .versionMismatch
            r.detail = WireError.versionMismatch(peer: WireProtocol.version, ours: 99).description
            reply = WireEnvelope(.reject(r))
        }
        try router.send([hello[0], reply.encoded()])

        let ended = try #require(a.thread.join(5), "the agent did not give up on a coordinator of another version")
        switch ended {
        case .success(let exit):
            Issue.record("the agent ended with \(exit) instead of refusing")
        case .failure(let error):
            guard case let SweepAgentError.refused(message)? = error as? SweepAgentError else {
                Issue.record("the agent threw \(error), not SweepAgentError.refused")
                return
            }
            #expect(message.contains("99"), "\(message)")
            #expect(message.contains("protocol \(answer == .envelopeOfVersion99 ? 99 : WireProtocol.version)"), "\(message)")
            #expect(message.contains("this side \(answer == .envelopeOfVersion99 ? WireProtocol.version : 99)"), "\(message)")
            #expect("\(error)".contains("refused"))
        }
        #expect(calls.count == 0)
    }
}
