import Foundation
import Testing
@testable import FrontierSweep
@testable import FrontierWire


/// The agent's protocol on its own: every way a coordinator can answer, fall silent, restart or
/// refuse, as events on a fake clock, with the directives checked one by one. No sockets, no
/// disk, no threads; `SweepCoordinatorTests` and `SweepProcessTests` run the same machine in
/// the real shell.
@Suite struct SweepAgentMachineTests {
    typealias Directive = SweepAgentMachine.Directive

    static let endpoint = "tcp://127.0.0.1:5555"

    static func settings(exitWhenFinished: Bool = true) -> SweepAgentMachine.Settings {
        .init(agentId: "a1", deviceClass: "cpu-a", fingerprint: WireResults.device("cpu-a"), threads: 2,
              capabilities: capabilities, engineVersion: "test-1", endpoint: endpoint, exitWhenFinished: exitWhenFinished)
    }

    static var capabilities: WireCapabilities {
        var c = WireCapabilities()
        c.kernels = ["int8"]
        return c
    }

    static func assignment(_ id: String = "p0@cpu-a", attempt: UInt32 = 1) -> WireAssignment {
        var a = WireAssignment()
        a.trialID = id
        a.attempt = attempt
        a.label = "point \(id)"
        a.specJson = "{}"
        return a
    }

    static func result(_ a: WireAssignment, failed: Bool = false) -> WireResult {
        var r = WireResult()
        r.trialID = a.trialID
        r.attempt = a.attempt
        r.result = failed ? WireResults.failed("worker exited with signal 9") : WireResults.ok()
        r.result.trialID = a.trialID
        return r
    }

    static func welcome(heartbeatMs: UInt32 = 1000) -> WireEnvelope.OneOf_Body {
        var w = WireWelcome()
        w.gridName = "g"
        w.heartbeatIntervalMs = heartbeatMs
        w.leaseMs = 10_000
        return .welcome(w)
    }

    static func ack(_ r: WireResult, accepted: Bool = true, note: String = "",
                    reason: WireReject.Reason = .unspecified) -> WireEnvelope.OneOf_Body {
        var ack = WireAck()
        ack.trialID = r.trialID
        ack.attempt = r.attempt
        ack.accepted = accepted
        ack.note = note
        ack.reason = reason
        return .ack(ack)
    }

    static func noWork(retryMs: UInt32 = 500, finished: Bool = false) -> WireEnvelope.OneOf_Body {
        var n = WireNoWork()
        n.retryAfterMs = retryMs
        n.sweepFinished = finished
        return .noWork(n)
    }

    static func reject(_ reason: WireReject.Reason, _ detail: String = "no", trialId: String = "") -> WireEnvelope.OneOf_Body {
        var r = WireReject()
        r.reason = reason
        r.detail = detail
        r.trialID = trialId
        return .reject(r)
    }

    static func heartbeat(_ a: WireAssignment? = nil) -> WireEnvelope.OneOf_Body {
        var beat = WireHeartbeat()
        if let a {
            beat.trialID = a.trialID
            beat.attempt = a.attempt
        }
        return .heartbeat(beat)
    }

    static func sent(_ out: [Directive]) -> [WireEnvelope.OneOf_Body] {
        out.compactMap { if case let .send(body) = $0 { return body } else { return nil } }
    }

    static func kinds(_ out: [Directive]) -> [String] { sent(out).map { WireEnvelope($0).kind } }

    static func logs(_ out: [Directive]) -> [String] {
        out.compactMap { if case let .log(line) = $0 { return line } else { return nil } }
    }

    static func hellos(_ out: [Directive]) -> [WireHello] {
        sent(out).compactMap { if case let .hello(h) = $0 { return h } else { return nil } }
    }

    /// The machine and a fake clock, driven the way `SweepAgent` drives it: events at `now`,
    /// and ticks exactly at each `nextDeadline` when time is let pass.
    struct Harness {
        var machine: SweepAgentMachine
        var now = 1000.0

        init(exitWhenFinished: Bool = true, deliverOnly: Bool = false) {
            var settings = SweepAgentMachineTests.settings(exitWhenFinished: exitWhenFinished)
            settings.deliverOnly = deliverOnly
            machine = SweepAgentMachine(settings: settings)
        }

        /// Also checks what keeps the shell from spinning: a deadline is always in the future.
        mutating func handle(_ event: SweepAgentMachine.Event, sourceLocation: SourceLocation = #_sourceLocation)
            -> [Directive] {
            let out = machine.handle(event)
            if let deadline = machine.nextDeadline {
                #expect(deadline > now, "deadline \(deadline) is not after now \(now)", sourceLocation: sourceLocation)
            }
            return out
        }

        mutating func start(spooled: [WireResult] = []) -> [Directive] { handle(.start(spooled: spooled, now: now)) }
        mutating func receive(_ body: WireEnvelope.OneOf_Body) -> [Directive] {
            handle(.received(WireEnvelope(body), now: now))
        }
        mutating func finish(_ result: WireResult) -> [Directive] { handle(.trialFinished(result, now: now)) }
        mutating func stop(_ reason: String = "SIGTERM") -> [Directive] { handle(.stop(reason: reason, now: now)) }

        /// Lets `seconds` pass, ticking at every deadline on the way (and not otherwise).
        mutating func pass(_ seconds: Double) -> [(at: Double, directive: Directive)] {
            let end = now + seconds
            var out: [(at: Double, directive: Directive)] = []
            var ticks = 0
            while let deadline = machine.nextDeadline, deadline <= end {
                now = deadline
                out += handle(.tick(now: now)).map { (now, $0) }
                ticks += 1
                if ticks > 10_000 {
                    Issue.record("more than 10 000 deadlines in \(seconds) s")
                    break
                }
            }
            now = end
            return out
        }

        /// `pass`, with a heartbeat echo from the coordinator every half second.
        mutating func passHearing(_ seconds: Double) -> [(at: Double, directive: Directive)] {
            var out: [(at: Double, directive: Directive)] = []
            for _ in 0..<Int((seconds / 0.5).rounded(.down)) {
                out += pass(0.5)
                out += receive(SweepAgentMachineTests.heartbeat()).map { (now, $0) }
            }
            return out
        }

        /// Hello → Welcome → the first WorkRequest → an Assignment: a trial running.
        mutating func running(_ a: WireAssignment = SweepAgentMachineTests.assignment(), heartbeatMs: UInt32 = 1000) {
            _ = start()
            _ = receive(SweepAgentMachineTests.welcome(heartbeatMs: heartbeatMs))
            _ = receive(.assignment(a))
            #expect(machine.running == a)
        }
    }

    // MARK: - Joining and working

    @Test func helloThenWelcomeThenAWorkRequestThenAnAssignmentStartsTheTrial() throws {
        var h = Harness()
        let first = h.start()
        #expect(first.count == 2)
        #expect(first.first == .connect(backoff: 0))
        let hello = try #require(Self.hellos(first).first)
        #expect(hello.agentID == "a1" && hello.deviceClass == "cpu-a" && hello.engineVersion == "test-1")
        #expect(hello.fingerprint.deviceClass == "cpu-a" && hello.threads == 2 && hello.capabilities.kernels == ["int8"])
        #expect(hello.runningTrialIds == [])
        #expect(h.machine.isConnected && !h.machine.isWelcomed)
        // Nothing but the silence bound until the Welcome: no heartbeat, no work request.
        #expect(h.machine.nextDeadline == h.now + 10)
        #expect(h.pass(5).isEmpty)

        let welcomed = h.receive(Self.welcome())
        #expect(Self.logs(welcomed) == ["connected to \(Self.endpoint) (grid g, heartbeat 1.0 s, lease 10.0 s)"])
        #expect(Self.sent(welcomed) == [Self.heartbeat(), .workRequest(.init())])
        #expect(h.machine.isWelcomed)

        let a = Self.assignment()
        let started = h.receive(.assignment(a))
        #expect(started == [.log("running p0@cpu-a (attempt 1): point p0@cpu-a"), .startTrial(a)])
        #expect(h.machine.running == a)
        // A second assignment while one runs is not started.
        let other = Self.assignment("p1@cpu-a")
        let ignored = h.receive(.assignment(other))
        #expect(ignored == [.log("ignored assignment p1@cpu-a: already running p0@cpu-a")])
        #expect(h.machine.running == a)
    }

    @Test func heartbeatsGoOncePerIntervalAndCarryTheRunningTrial() {
        var h = Harness()
        _ = h.start()
        let welcomed = h.receive(Self.welcome(heartbeatMs: 1000))
        #expect(Self.kinds(welcomed).filter { $0 == "heartbeat" }.count == 1, "the Welcome is answered with a heartbeat")
        let t0 = h.now
        // The coordinator's echo and the assignment are no reason to beat early.
        h.now += 0.25
        #expect(Self.kinds(h.receive(Self.heartbeat())).isEmpty)
        let a = Self.assignment(attempt: 2)
        _ = h.receive(.assignment(a))
        h.now += 0.25
        #expect(Self.kinds(h.handle(.tick(now: h.now))).isEmpty, "a beat before the interval")

        let beats = h.pass(3.0).filter { if case .send(.heartbeat) = $0.directive { return true } else { return false } }
        #expect(beats.map(\.at) == [t0 + 1, t0 + 2, t0 + 3])
        #expect(beats.map(\.directive).allSatisfy { $0 == .send(Self.heartbeat(a)) })

        // With the trial done, beats go on, empty.
        _ = h.finish(Self.result(a))
        let later = h.pass(1.0).filter { if case .send(.heartbeat) = $0.directive { return true } else { return false } }
        #expect(later.map(\.directive) == [.send(Self.heartbeat())])
    }

    @Test func aWorkRequestWithNoAnswerIsAskedAgainAfterTwoHeartbeats() {
        var h = Harness()
        _ = h.start()
        let t0 = h.now
        #expect(Self.kinds(h.receive(Self.welcome(heartbeatMs: 1000))).contains("work_request"))
        let requests = h.pass(4.5).filter { $0.directive == .send(.workRequest(.init())) }.map(\.at)
        #expect(requests == [t0 + 2, t0 + 4])

        // Answered with NoWork: asked again after its retry_after, not before.
        let answered = h.now
        #expect(h.receive(Self.noWork(retryMs: 300)).isEmpty)
        let retried = h.pass(1.0).filter { $0.directive == .send(.workRequest(.init())) }.map(\.at)
        #expect(retried == [answered + 0.3])
    }

    @Test func aFinishedTrialIsSpooledBeforeItIsSentAndUnspooledOnItsAck() {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        let r = Self.result(a)
        let finished = h.finish(r)
        #expect(finished == [.spool(r), .log("finished p0@cpu-a"), .send(.result(r)), .send(.workRequest(.init()))])
        #expect(h.machine.unacknowledged == [r] && h.machine.running == nil && h.machine.completed == 1)

        // Not acknowledged: sent again with the rest of the spool every max(10, 5 heartbeats) s
        // (the coordinator keeps talking meanwhile, so the connection stays up).
        let resent = h.passHearing(10.5).filter { $0.directive == .send(.result(r)) }
        #expect(resent.count == 1)

        let acked = h.receive(Self.ack(r))
        #expect(acked == [.unspool(trialId: "p0@cpu-a", attempt: 1)])
        #expect(h.machine.unacknowledged.isEmpty)
        #expect(h.pass(20).allSatisfy { if case .send(.result) = $0.directive { return false } else { return true } })

        // A failed trial is a result like any other, with its reason in the log.
        var h2 = Harness()
        h2.running(a)
        let failed = Self.result(a, failed: true)
        #expect(Self.logs(h2.finish(failed)) == ["finished p0@cpu-a: failed: worker exited with signal 9"])
    }

    // MARK: - Losing the coordinator

    @Test func resultsSpooledWhileTheCoordinatorWasAwayAreSentAfterTheNextWelcome() {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        // Silent for liveness × heartbeat = 5 s: lost, with the trial still running.
        let lost = h.pass(5.0).map(\.directive)
        #expect(lost.contains(.disconnect))
        #expect(Self.logs(lost) == ["coordinator at \(Self.endpoint) silent for 5 s; reconnecting in 0.5 s"])
        #expect(!h.machine.isConnected)

        // The trial ends while there is no one to tell: spooled, not sent.
        h.now += 0.1
        let r = Self.result(a)
        #expect(h.finish(r) == [.spool(r), .log("finished p0@cpu-a")])

        // The backoff ends: a new connection, whose Hello names no running trial any more.
        let reconnect = h.pass(0.5).map(\.directive)
        #expect(reconnect.first == .connect(backoff: 0.5))
        #expect(Self.hellos(reconnect).map(\.runningTrialIds) == [[]])
        let welcomed = h.receive(Self.welcome())
        #expect(Self.sent(welcomed) == [.result(r), Self.heartbeat(), .workRequest(.init())])
        #expect(h.receive(Self.ack(r)) == [.unspool(trialId: "p0@cpu-a", attempt: 1)])
    }

    @Test func resultsLeftInTheSpoolByAnEarlierRunAreSentAfterTheFirstWelcome() {
        var h = Harness()
        let old = [Self.result(Self.assignment("p3@cpu-a")), Self.result(Self.assignment("p4@cpu-a", attempt: 2))]
        #expect(Self.kinds(h.start(spooled: old)) == ["hello"], "nothing is sent before the Welcome")
        let welcomed = h.receive(Self.welcome())
        #expect(Array(Self.sent(welcomed).prefix(2)) == old.map { .result($0) })
        _ = h.receive(Self.ack(old[1]))
        #expect(h.machine.unacknowledged == [old[0]])
    }

    // MARK: - Delivering a spool left by another run (issue 20)

    @Test func deliverOnlySendsTheSpoolAsksForNoWorkAndExitsOnceEveryResultIsAnswered() {
        var h = Harness(deliverOnly: true)
        let old = [Self.result(Self.assignment("p3@cpu-a")), Self.result(Self.assignment("p4@cpu-a", attempt: 2))]
        #expect(Self.kinds(h.start(spooled: old)) == ["hello"])
        let welcomed = h.receive(Self.welcome())
        #expect(Array(Self.sent(welcomed).prefix(2)) == old.map { .result($0) })
        #expect(!Self.kinds(welcomed).contains("workRequest"))
        #expect(!Self.kinds(h.passHearing(3).map(\.directive)).contains("workRequest"))
        _ = h.receive(Self.ack(old[0]))
        #expect(h.machine.exit == nil)
        let last = h.receive(Self.ack(old[1]))
        #expect(last.contains(.disconnect))
        #expect(h.machine.exit == .stopped("spool delivered"))
    }

    @Test func deliverOnlyWithAnEmptySpoolExitsWithoutConnecting() {
        var h = Harness(deliverOnly: true)
        let out = h.start()
        #expect(!out.contains { if case .connect = $0 { return true } else { return false } })
        #expect(h.machine.exit == .stopped("nothing spooled to deliver"))
    }

    @Test func anAgentIdInUseIsRetriedAfterABackoffNotFatal() {
        var h = Harness()
        _ = h.start()
        var reject = WireReject()
        reject.reason = .agentIDInUse
        reject.detail = "agent id a1 is held by another live process"
        let out = h.receive(.reject(reject))
        #expect(out.contains(.disconnect))
        #expect(h.machine.exit == nil)
        let later = h.pass(5).map(\.directive)
        #expect(later.contains { if case .connect = $0 { return true } else { return false } }, "it tries again")
    }

    @Test func silenceReconnectsAfterABackoffThatDoublesToItsCapAndRestartsAfterASessionThatHeardSomething() {
        var h = Harness()
        _ = h.start()
        // Never a word from the coordinator: each connection waits 10 s (before any Welcome).
        // (up to a second into the ninth connection)
        let timeline = h.pass(10 * 8 + 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 + 1)
        let connects = timeline.compactMap { step -> (at: Double, backoff: Double)? in
            if case let .connect(backoff) = step.directive { return (step.at, backoff) } else { return nil }
        }
        #expect(connects.map(\.backoff) == [0.5, 1, 2, 4, 8, 16, 30, 30])
        let disconnects = timeline.filter { $0.directive == .disconnect }.map(\.at)
        #expect(zip(disconnects, connects).allSatisfy { abs($1.at - $0 - $1.backoff) < 1e-9 },
                "reconnected at \(connects.map(\.at)) after losing at \(disconnects)")
        #expect(Self.logs(timeline.map(\.directive)).first == "coordinator at \(Self.endpoint) silent for 10 s; reconnecting in 0.5 s")
        #expect(Self.logs(timeline.map(\.directive)).last?.hasSuffix("reconnecting in 30.0 s") == true)
        // Every new connection says Hello.
        #expect(Self.kinds(timeline.map(\.directive)).filter { $0 == "hello" }.count == connects.count)

        // This connection hears a Welcome, then silence: the next backoff is the initial one again.
        #expect(h.machine.isConnected)
        _ = h.receive(Self.welcome(heartbeatMs: 1000))
        let after = h.pass(5 + 0.5 + 10 + 1).map(\.directive)
        #expect(after.compactMap { if case let .connect(b) = $0 { return b } else { return nil } } == [0.5, 1])
    }

    @Test func aCoordinatorRestartIsJoinedAgainNamingTheRunningTrial() {
        var h = Harness()
        let a = Self.assignment("p2@cpu-a", attempt: 1)
        h.running(a)
        // A restarted coordinator on the same port forgot us: it refuses the next heartbeat.
        h.now += 1
        let refused = h.receive(Self.reject(.notWelcomed, "say Hello first (the coordinator may have restarted)"))
        #expect(Self.hellos(refused).map(\.runningTrialIds) == [["p2@cpu-a"]])
        #expect(refused.count == 1)
        #expect(!h.machine.isWelcomed && h.machine.isConnected)
        // Not welcomed: no heartbeats, no results, no work requests meanwhile.
        #expect(Self.sent(h.pass(3).map(\.directive)).isEmpty)
        let welcomed = h.receive(Self.welcome())
        #expect(Self.sent(welcomed) == [Self.heartbeat(a)])

        // A coordinator killed outright: silence, then a new connection whose Hello names the trial.
        let lost = h.pass(5.5).map(\.directive)
        #expect(lost.contains(.disconnect) && lost.contains(.connect(backoff: 0.5)))
        #expect(Self.hellos(lost).map(\.runningTrialIds) == [["p2@cpu-a"]])
    }

    @Test func aLeaseLostWhileRunningIsLoggedAndUnspooledAndTheAgentCarriesOn() {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        let r = Self.result(a, failed: true)
        _ = h.finish(r)
        // The lease expired meanwhile; the trial was moved on to attempt 2 elsewhere.
        let note = "your lease on p0@cpu-a attempt 1 expired; the trial is leased at attempt 2"
        let acked = h.receive(Self.ack(r, accepted: false, note: note, reason: .leaseExpired))
        #expect(acked == [.unspool(trialId: "p0@cpu-a", attempt: 1),
                          .log("result p0@cpu-a (attempt 1) refused, LEASE_EXPIRED: \(note)")])
        #expect(h.machine.unacknowledged.isEmpty && h.machine.exit == nil)
        // A refusal of one message is logged, and changes nothing else.
        let rejected = h.receive(Self.reject(.malformed, "an agent may not send welcome"))
        #expect(rejected == [.log("coordinator rejected a message: an agent may not send welcome")])
        // And it asks for work again.
        #expect(h.receive(Self.noWork(retryMs: 200)).isEmpty)
        #expect(h.pass(0.2).map(\.directive).contains(.send(.workRequest(.init()))))
        let next = Self.assignment("p1@cpu-a", attempt: 1)
        #expect(h.receive(.assignment(next)).last == .startTrial(next))
    }

    @Test(arguments: [WireReject.Reason.leaseExpired, .notLeaseHolder, .unknownTrial])
    func aRejectSayingTheLeaseIsGoneStopsTheRunningTrialAndItsLateEndIsIgnored(_ reason: WireReject.Reason) {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        // A Reject about some other trial changes nothing.
        #expect(!h.receive(Self.reject(reason, "not yours", trialId: "other@cpu-a")).contains {
            if case .cancelTrial = $0 { true } else { false }
        })
        #expect(h.machine.running == a)
        let out = h.receive(Self.reject(reason, "your lease on p0@cpu-a attempt 1 is gone", trialId: a.trialID))
        #expect(out.first == .cancelTrial(trialId: a.trialID, attempt: a.attempt))
        #expect(h.machine.running == nil)
        // It asks for work at once, and the killed worker's result, when it comes, is dropped.
        #expect(out.contains(.send(.workRequest(.init()))))
        let late = h.finish(Self.result(a, failed: true))
        #expect(late.isEmpty && h.machine.unacknowledged.isEmpty)
        let next = Self.assignment("p1@cpu-a")
        #expect(h.receive(.assignment(next)).last == .startTrial(next))
    }

    @Test func aShutdownThatIsNotTheEndIsACoordinatorLostAfterHearingIt() {
        var h = Harness()
        h.running()
        var s = WireShutdown()
        s.reason = "the coordinator is stopping"
        let out = h.receive(.shutdown(s))
        #expect(out == [.disconnect, .log("coordinator: the coordinator is stopping; reconnecting in 0.5 s")])
        #expect(h.machine.exit == nil && h.machine.nextDeadline == h.now + 0.5)
    }

    // MARK: - Ending

    enum Refusal: String, CaseIterable, Sendable {
        case versionOfTheEnvelope, rejectVersionMismatch, rejectBadHello, rejectIdentity
    }

    @Test(arguments: Refusal.allCases)
    func anotherProtocolVersionOrARefusedHelloIsFatal(_ refusal: Refusal) {
        var h = Harness()
        _ = h.start()
        let out: [Directive]
        let expected: String
        switch refusal {
        case .versionOfTheEnvelope:
            let error = WireError.versionMismatch(peer: 99, ours: WireProtocol.version)
            expected = error.description
            out = h.handle(.undecodableFrame(error, now: h.now))
        case .rejectVersionMismatch:
            expected = "protocol version mismatch: 1 and 99"
            out = h.receive(Self.reject(.versionMismatch, expected))
        case .rejectBadHello:
            expected = "Hello needs a non-empty agent_id"
            out = h.receive(Self.reject(.badHello, expected))
        case .rejectIdentity:
            expected = "key node7.pub admits agent ids node7, node7-*, not victim3"
            out = h.receive(Self.reject(.identityRefused, expected))
        }
        #expect(out == [.disconnect, .exit(.refused(expected))])
        #expect(h.machine.exit == .refused(expected) && h.machine.nextDeadline == nil)
        #expect(h.receive(Self.welcome()).isEmpty, "an exited machine still answered")
    }

    @Test func aMalformedFrameIsLoggedAndIsNotAWordFromTheCoordinator() {
        var h = Harness()
        _ = h.start()
        let bound = h.machine.nextDeadline
        h.now += 4
        let out = h.handle(.undecodableFrame(.malformed("3 bytes that are not a frontier.v1.Envelope"), now: h.now))
        #expect(out == [.log("ignored a frame from the coordinator: malformed frame: 3 bytes that are not a frontier.v1.Envelope")])
        #expect(h.machine.nextDeadline == bound, "garbage reset the silence bound")
    }

    @Test func aStopWhileATrialRunsWaitsForItsResultThenExitsStopped() {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        let stopping = h.stop("SIGTERM")
        #expect(stopping == [.disconnect, .log("stopping: waiting for p0@cpu-a to finish so its result is spooled")])
        #expect(h.machine.nextDeadline == nil && h.machine.exit == nil)
        // Nothing but the trial can move it now: no reconnects, no second stop.
        #expect(h.pass(120).isEmpty)
        #expect(h.stop("SIGINT").isEmpty)
        let r = Self.result(a)
        #expect(h.finish(r) == [.spool(r), .log("finished p0@cpu-a"), .exit(.stopped("SIGTERM"))])
        #expect(h.machine.exit == .stopped("SIGTERM"))

        // Idle: at once. Between connections: at once, with no connection to drop.
        var idle = Harness()
        _ = idle.start()
        #expect(idle.stop() == [.disconnect, .exit(.stopped("SIGTERM"))])
        var away = Harness()
        _ = away.start()
        _ = away.pass(10.1)
        #expect(!away.machine.isConnected)
        #expect(away.stop("asked") == [.exit(.stopped("asked"))])
        // Before the start: nothing is opened.
        var early = Harness()
        #expect(early.stop() == [.exit(.stopped("SIGTERM"))])
    }

    @Test func aFinishedSweepExitsOnceIdleAndEveryResultIsAcknowledged() {
        var h = Harness()
        let a = Self.assignment()
        h.running(a)
        let r = Self.result(a)
        _ = h.finish(r)
        let last = h.receive(Self.noWork(finished: true))
        #expect(last == [.log("the coordinator has no more trials for device class cpu-a")])
        // Not while its result is unacknowledged; and no more work requests.
        #expect(h.machine.exit == nil)
        #expect(!h.pass(4).map(\.directive).contains(.send(.workRequest(.init()))))
        let acked = h.receive(Self.ack(r))
        #expect(acked == [.unspool(trialId: "p0@cpu-a", attempt: 1), .disconnect, .exit(.finished)])

        // `--stay`: it keeps its connection.
        var stay = Harness(exitWhenFinished: false)
        _ = stay.start()
        _ = stay.receive(Self.welcome())
        _ = stay.receive(Self.noWork(finished: true))
        #expect(stay.machine.exit == nil && stay.machine.isConnected)
    }

    @Test func aShutdownAtTheEndWaitsForARedundantTrialThenExitsFinished() {
        var h = Harness()
        let a = Self.assignment(attempt: 2)
        h.running(a)
        var s = WireShutdown()
        s.reason = "the sweep is finished"
        s.sweepFinished = true
        let out = h.receive(.shutdown(s))
        #expect(out == [.disconnect, .log("the sweep is finished; waiting for the redundant p0@cpu-a to end")])
        #expect(h.machine.nextDeadline == nil)
        let r = Self.result(a)
        #expect(h.finish(r) == [.spool(r), .log("finished p0@cpu-a"), .exit(.finished)])

        // With `--stay` the same Shutdown is a coordinator gone: reconnect and wait for the next.
        var stay = Harness(exitWhenFinished: false)
        stay.running(a)
        let lost = stay.receive(.shutdown(s))
        #expect(lost == [.disconnect, .log("coordinator: the sweep is finished; reconnecting in 0.5 s")])
        #expect(stay.machine.exit == nil)
    }
}
