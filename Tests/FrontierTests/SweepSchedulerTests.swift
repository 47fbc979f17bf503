import Foundation
import Testing
@testable import FrontierGrid
@testable import FrontierSweep
@testable import FrontierWire


/// The coordinator's state machine on its own: every failure story of a sweep, as events.
@Suite struct SweepSchedulerTests {
    static func points(_ n: Int) -> [SweepPoint] {
        (0..<n).map {
            SweepPoint(key: "p\($0)", configKey: "c\($0)", label: "point \($0)", variant: $0 == 0 ? "dense" : "v",
                       task: "SST-2", model: "m", isBaseline: $0 == 0, specJSON: Data("{\"n\":\($0)}".utf8))
        }
    }

    struct Harness {
        var s: SweepScheduler
        var now = 100.0
        var stored: [SweepStoreChange] = []
        /// The CURVE key each peer authenticated with (none: no CURVE).
        var keys: [String: AgentKey] = [:]

        init(points: Int = 3, placement: SweepPlacement = .everyDeviceClass, lease: Double = 10, attempts: Int = 3,
             restored: [SweepTrialRow] = []) {
            s = SweepScheduler(points: SweepSchedulerTests.points(points), placement: placement,
                               settings: .init(leaseSeconds: lease, heartbeatSeconds: 1, maxAttempts: attempts),
                               restored: restored, now: 100)
            stored = s.takeStartupChanges()
        }

        mutating func send(_ peer: String, _ body: WireEnvelope.OneOf_Body) -> [WireEnvelope] {
            let out = s.handle(.received(peer: Data(peer.utf8), envelope: WireEnvelope(body), key: keys[peer], at: now))
            return collect(out, peer: peer)
        }

        mutating func tick(_ dt: Double) -> [SweepScheduler.Directive] {
            now += dt
            let out = s.handle(.tick(at: now))
            for d in out { if case let .store(c) = d { stored.append(c) } }
            return out
        }

        mutating func collect(_ out: [SweepScheduler.Directive], peer: String) -> [WireEnvelope] {
            var replies: [WireEnvelope] = []
            for d in out {
                switch d {
                case let .send(p, e): if p == Data(peer.utf8) { replies.append(e) }
                case let .store(c): stored.append(c)
                case .log: break
                }
            }
            return replies
        }

        @discardableResult
        mutating func hello(_ peer: String, id: String? = nil, deviceClass: String = "cpu-a", running: [String] = [],
                            capabilities: WireCapabilities = WireResults.allCapabilities, expectWelcome: Bool = true)
            -> [WireEnvelope] {
            var h = WireHello()
            h.agentID = id ?? peer
            h.deviceClass = deviceClass
            h.runningTrialIds = running
            h.capabilities = capabilities
            let replies = send(peer, .hello(h))
            if expectWelcome { #expect(replies.first?.kind == "welcome") }
            return replies
        }

        mutating func request(_ peer: String) -> WireAssignment? {
            for e in send(peer, .workRequest(.init())) { if case let .assignment(a) = e.body { return a } }
            return nil
        }

        mutating func result(_ peer: String, _ a: WireAssignment, failed: Bool = false) -> WireAck? {
            result(peer, trialId: a.trialID, attempt: a.attempt, failed ? WireResults.failed() : WireResults.ok())
        }

        mutating func result(_ peer: String, trialId: String, attempt: UInt32, _ body: WireTrialResult) -> WireAck? {
            var r = WireResult()
            r.trialID = trialId
            r.attempt = attempt
            r.result = body
            for e in send(peer, .result(r)) { if case let .ack(ack) = e.body { return ack } }
            return nil
        }

        mutating func heartbeat(_ peer: String, _ trialId: String, attempt: UInt32) -> [WireEnvelope] {
            var beat = WireHeartbeat()
            beat.trialID = trialId
            beat.attempt = attempt
            return send(peer, .heartbeat(beat))
        }

        var refusals: [SweepRefusalRow] {
            stored.compactMap { if case let .refused(r) = $0 { return r } else { return nil } }
        }

        var accepted: [String] {
            stored.compactMap { if case let .resultAccepted(r) = $0 { return r.trialId } else { return nil } }
        }
    }

    @Test func everyPointRunsOncePerDeviceClass() throws {
        var h = Harness(points: 3)
        h.hello("a1", deviceClass: "cpu-a")
        h.hello("b1", deviceClass: "gpu-b")
        #expect(h.s.progress.total == 6)
        var seen: [String] = []
        for peer in ["a1", "b1"] {
            while let a = h.request(peer) {
                seen.append(a.trialID)
                #expect(h.result(peer, a)?.accepted == true)
            }
        }
        #expect(Set(seen).count == 6)
        #expect(seen.filter { $0.hasSuffix("@cpu-a") }.count == 3)
        #expect(h.s.progress.finished)
        #expect(h.accepted.count == 6)
    }

    @Test func anyPlacementRunsEachPointOnce() {
        var h = Harness(points: 4, placement: .any)
        #expect(h.s.progress.total == 4)
        #expect(h.stored.count == 1)  // the trials, stored at start
        h.hello("a1", deviceClass: "cpu-a")
        h.hello("b1", deviceClass: "gpu-b")
        var n = 0
        while let a = h.request(n % 2 == 0 ? "a1" : "b1") {
            _ = h.result(n % 2 == 0 ? "a1" : "b1", a)
            n += 1
        }
        #expect(n == 4)
        #expect(h.s.progress.finished)
    }

    @Test func duplicateAndLateResultsAreAcknowledgedAndIgnored() throws {
        var h = Harness(points: 1)
        h.hello("a1")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        #expect(h.result("a1", a)?.accepted == true)
        let againReply = h.result("a1", a)
        let again = try #require(againReply)
        #expect(again.accepted == false)
        #expect(again.note.contains("duplicate"))
        #expect(h.accepted == [a.trialID])
    }

    @Test func anExpiredLeaseMovesTheTrialToAnotherAgent() throws {
        var h = Harness(points: 1, lease: 10)
        h.hello("a1")
        h.hello("a2")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        #expect(first.attempt == 1)
        #expect(h.request("a2") == nil)  // nothing else pending
        // a1 heartbeats for a while: the lease holds.
        for _ in 0..<5 {
            _ = h.tick(4)
            var beat = WireHeartbeat()
            beat.trialID = first.trialID
            beat.attempt = first.attempt
            _ = h.send("a1", .heartbeat(beat))
        }
        #expect(h.s.trialState(first.trialID)?.state == .leased)
        // a1 goes silent (SIGKILL): the lease expires and a2 gets attempt 2.
        _ = h.tick(11)
        #expect(h.s.trialState(first.trialID)?.state == .pending)
        #expect(h.s.agents["a1"]?.state == .lost)
        let secondReply = h.request("a2")
        let second = try #require(secondReply)
        #expect(second.trialID == first.trialID)
        #expect(second.attempt == 2)
        #expect(h.result("a2", second)?.accepted == true)
        // a1 comes back from the dead with its old result: acknowledged, refused.
        h.hello("a1")
        #expect(h.result("a1", first)?.accepted == false)
        #expect(h.accepted == [first.trialID])
        #expect(h.s.trialState(first.trialID)?.reasons.first?.contains("lease expired") == true)
    }

    @Test func failedAttemptsRetryThenFailWithEveryReason() throws {
        var h = Harness(points: 1, attempts: 2)
        h.hello("a1")
        let oneReply = h.request("a1")
        let one = try #require(oneReply)
        #expect(h.result("a1", one, failed: true)?.accepted == true)
        let twoReply = h.request("a1")
        let two = try #require(twoReply)
        #expect(two.attempt == 2)
        _ = h.result("a1", two, failed: true)
        let stateReply = h.s.trialState(one.trialID)
        let state = try #require(stateReply)
        #expect(state.state == .failed)
        #expect(state.reasons.count == 2)
        #expect(h.request("a1") == nil)
        #expect(h.s.progress.finished)
        #expect(h.s.progress.failed == 1)
    }

    @Test func aLateSuccessIsRefusedOnceAnotherAgentHoldsTheTrial() throws {
        var h = Harness(points: 1, lease: 5)
        h.hello("a1")
        h.hello("a2")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        _ = h.tick(6)  // a1's lease expires
        let secondReply = h.request("a2")
        let second = try #require(secondReply)
        // a1 was only slow, but a2 now holds the live lease: a1's late result must not win
        // over the measurement a2 is making, and a1's heartbeat learns the lease is gone.
        h.hello("a1")
        let beat = h.heartbeat("a1", first.trialID, attempt: first.attempt)
        guard case let .reject(reject)? = beat.first?.body else {
            Issue.record("a heartbeat for a lost lease must be refused, got \(beat.map(\.kind))")
            return
        }
        #expect(reject.reason == .leaseExpired && reject.trialID == first.trialID)
        let lateReply = h.result("a1", first)
        let late = try #require(lateReply)
        #expect(late.accepted == false && late.reason == .leaseExpired)
        #expect(h.result("a2", second)?.accepted == true)
        #expect(h.accepted == [first.trialID])
        #expect(h.refusals.map(\.reason).contains("LEASE_EXPIRED"))
        guard case let .resultAccepted(row)? = h.stored.last(where: { if case .resultAccepted = $0 { true } else { false } })
        else { Issue.record("no result stored"); return }
        #expect(row.agentId == "a2" && row.attempt == 2)
    }

    @Test func aLateSuccessCountsWhileNobodyElseHoldsTheTrial() throws {
        var h = Harness(points: 1, lease: 5)
        h.hello("a1")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        _ = h.tick(6)  // a1's lease expires; nobody takes the trial yet
        h.hello("a1", running: [first.trialID])
        // Its heartbeat is not refused (the measurement may still count) …
        #expect(h.heartbeat("a1", first.trialID, attempt: first.attempt).first?.kind == "heartbeat")
        // … and its result is accepted, marked late.
        let ackReply = h.result("a1", first)
        let ack = try #require(ackReply)
        #expect(ack.accepted == true && ack.note.contains("late"))
        #expect(h.accepted == [first.trialID])
    }

    @Test func messagesBeforeHelloAreRefusedWithAHint() {
        var h = Harness(points: 1)
        let replies = h.send("ghost", .workRequest(.init()))
        guard case let .reject(r) = replies.first?.body else {
            Issue.record("expected a Reject, got \(replies.map(\.kind))")
            return
        }
        #expect(r.reason == .notWelcomed)
    }

    @Test func badHellosAndMalformedFramesAreCountedNotFatal() {
        var h = Harness(points: 1)
        var bad = WireHello()
        bad.agentID = ""
        bad.deviceClass = "x"
        let replies = h.send("p", .hello(bad))
        if case let .reject(r) = replies.first?.body { #expect(r.reason == .badHello) } else {
            Issue.record("expected a Reject")
        }
        for _ in 0..<1000 {
            _ = h.s.handle(.malformed(peer: Data("p".utf8), error: .malformed("junk"), at: h.now))
        }
        #expect(h.s.malformedFrames == 1000)
        let mismatch = h.s.handle(.malformed(peer: Data("p".utf8), error: .versionMismatch(peer: 9, ours: 2), at: h.now))
        #expect(mismatch.contains { if case .send = $0 { return true } else { return false } })
        h.hello("ok")
        #expect(h.request("ok") != nil)
    }

    @Test func aRestartResumesFromStoredRows() throws {
        // What the store held when the coordinator died: p0 done, p1 running on a1, p2 pending.
        let restored = [
            SweepTrialRow(trialId: "p0@cpu-a", pointKey: "p0", deviceClass: "cpu-a", state: .done, attempt: 1, agentId: "a1"),
            SweepTrialRow(trialId: "p1@cpu-a", pointKey: "p1", deviceClass: "cpu-a", state: .leased, attempt: 1, agentId: "a1"),
            SweepTrialRow(trialId: "p2@cpu-a", pointKey: "p2", deviceClass: "cpu-a", state: .pending, attempt: 1),
        ]
        var h = Harness(points: 3, lease: 10, restored: restored)
        #expect(h.s.progress.done == 1)
        #expect(h.s.progress.running == 1)
        // a1 reconnects still running p1; a2 joins and gets p2 only: p0 is never rerun.
        h.hello("a1", running: ["p1@cpu-a"])
        h.hello("a2")
        let nextReply = h.request("a2")
        let next = try #require(nextReply)
        #expect(next.trialID == "p2@cpu-a")
        #expect(h.request("a2")?.trialID == "p2@cpu-a")  // asking again repeats, never a second lease
        h.hello("a3")
        #expect(h.request("a3") == nil)
        // The class already has its trials: no second set was added.
        #expect(h.s.progress.total == 3)
        var r = WireAssignment()
        r.trialID = "p1@cpu-a"
        r.attempt = 1
        #expect(h.result("a1", r)?.accepted == true)
        #expect(h.result("a2", next)?.accepted == true)
        #expect(h.s.progress.finished)
    }

    @Test func anUnclaimedRestoredLeaseExpiresAndReruns() throws {
        let restored = [SweepTrialRow(trialId: "p0@cpu-a", pointKey: "p0", deviceClass: "cpu-a", state: .leased,
                                      attempt: 1, agentId: "gone")]
        var h = Harness(points: 1, lease: 10, restored: restored)
        h.hello("a2")
        #expect(h.request("a2") == nil)
        _ = h.tick(11)
        let aReply = h.request("a2")
        let a = try #require(aReply)
        #expect(a.attempt == 2)
    }

    @Test func noWorkSaysWhenTheClassIsFinished() throws {
        var h = Harness(points: 1)
        h.hello("a1")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        h.hello("a2")
        var replies = h.send("a2", .workRequest(.init()))
        guard case let .noWork(busy) = replies.first?.body else { Issue.record("expected NoWork"); return }
        #expect(!busy.sweepFinished)  // a1's trial is still out
        _ = h.result("a1", a)
        replies = h.send("a1", .workRequest(.init()))
        guard case let .noWork(done) = replies.first?.body else { Issue.record("expected NoWork"); return }
        #expect(done.sweepFinished)
    }

    @Test func heartbeatsAreAnswered() {
        var h = Harness(points: 1)
        h.hello("a1")
        let replies = h.send("a1", .heartbeat(.init()))
        #expect(replies.map(\.kind) == ["heartbeat"])
    }

    @Test func aRepeatedWorkRequestGetsTheSameTrialNotASecondLease() throws {
        var h = Harness(points: 3)
        h.hello("a1")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        let againReply = h.request("a1")
        let again = try #require(againReply)
        #expect(again.trialID == first.trialID)
        #expect(h.s.progress.running == 1)
    }

    @Test func aResultFromAnotherDeviceClassIsNotStored() throws {
        var h = Harness(points: 1)
        h.hello("a1", deviceClass: "cpu-a")
        h.hello("b1", deviceClass: "gpu-b")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        let ackReply = h.result("b1", a)
        let ack = try #require(ackReply)
        #expect(ack.accepted == false)
        #expect(ack.reason == .notLeaseHolder)
        #expect(h.accepted.isEmpty)
    }
    /// Regression (issue 13): a Hello that names another agent's running trial must not take its
    /// lease. Before the fix the leased branch skipped the owner check, the owner's heartbeats
    /// then matched nobody, and the healthy trial expired and was retried.
    @Test func aHelloCannotTakeOverAnotherAgentsLease() throws {
        var h = Harness(points: 1, lease: 10)
        h.hello("a1")
        let leaseReply = h.request("a1")
        let lease = try #require(leaseReply)
        // a2 claims a1's trial (a stale spool, a copied agent id folder, a bug): refused.
        h.hello("a2", running: [lease.trialID])
        #expect(h.s.agents["a2"]?.trialId == nil)
        #expect(h.s.agents["a1"]?.trialId == lease.trialID)
        // a1 keeps heartbeating for three lease lengths: its lease holds the whole time.
        for _ in 0..<10 {
            _ = h.tick(3)
            var beat = WireHeartbeat()
            beat.trialID = lease.trialID
            beat.attempt = lease.attempt
            _ = h.send("a1", .heartbeat(beat))
            #expect(h.s.trialState(lease.trialID)?.state == .leased)
        }
        #expect(h.s.trialState(lease.trialID)?.reasons.isEmpty == true)
        #expect(h.result("a1", lease)?.accepted == true)
        #expect(h.accepted == [lease.trialID])
    }
}
