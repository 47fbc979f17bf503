import Foundation
import Testing
@testable import FrontierGrid
@testable import FrontierSweep
@testable import FrontierWire

/// Issue 19: every forgery an outside agent tried against the coordinator, against the pure
/// scheduler. Each is refused with its reason, the real agent's measurement is what gets
/// stored, and the refusal is recorded for `frontier status`.
@Suite struct SweepSchedulerTrustTests {
    typealias Harness = SweepSchedulerTests.Harness

    static func ack(_ replies: [WireEnvelope]) -> WireAck? {
        for e in replies { if case let .ack(a) = e.body { return a } }
        return nil
    }

    static func reject(_ replies: [WireEnvelope]) -> WireReject? {
        for e in replies { if case let .reject(r) = e.body { return r } }
        return nil
    }

    // MARK: - One live process per agent id (issue 20)

    @Test func aSecondProcessWithALiveAgentsIdIsRefusedUntilTheFirstIsLost() throws {
        var h = Harness(points: 2, lease: 5)
        h.hello("node0-j7/aaaa1111:c1", id: "node0-j7")
        let aReply = h.request("node0-j7/aaaa1111:c1")
        let a = try #require(aReply)
        // Another process (another instance) claiming the same id: refused, and not knocked off.
        let refusedReplies = h.hello("node0-j7/bbbb2222:c1", id: "node0-j7", expectWelcome: false)
        let refusedReply = Self.reject(refusedReplies)
        let refused = try #require(refusedReply)
        #expect(refused.reason == .agentIDInUse)
        #expect(refused.detail.contains("another live process"))
        #expect(h.refusals.map(\.reason) == ["AGENT_ID_IN_USE"])
        #expect(h.result("node0-j7/aaaa1111:c1", a)?.accepted == true, "the holder keeps its connection and lease")
        // The same process reconnecting (a new connection of instance aaaa1111) takes its id back.
        h.hello("node0-j7/aaaa1111:c2", id: "node0-j7")
        // Once the holder is lost (silent for a lease), another process may have the id.
        _ = h.tick(6)
        h.hello("node0-j7/bbbb2222:c2", id: "node0-j7")
    }

    @Test func peersWithoutAnInstanceInTheirRoutingIdKeepTheOldTakeOver() {
        var h = Harness(points: 1)
        h.hello("p1", id: "outside")
        h.hello("p2", id: "outside")
    }

    @Test func aSuccessForATrialNobodyLeasedIsRefused() throws {
        var h = Harness(points: 2)
        h.hello("mallory")
        let forgedReply = h.result("mallory", trialId: "p1@cpu-a", attempt: 1, WireResults.ok())
        let forged = try #require(forgedReply)
        #expect(forged.accepted == false && forged.reason == .notLeaseHolder)
        let unknownReply = h.result("mallory", trialId: "nope@cpu-a", attempt: 1, WireResults.ok())
        let unknown = try #require(unknownReply)
        #expect(unknown.accepted == false && unknown.reason == .unknownTrial)
        #expect(h.accepted.isEmpty)
        #expect(h.s.trialState("p1@cpu-a")?.state == .pending)
        #expect(h.refusals.map(\.reason) == ["NOT_LEASE_HOLDER", "UNKNOWN_TRIAL"])
    }

    @Test func failuresForANeverLeasedTrialDoNotFailIt() throws {
        var h = Harness(points: 1, attempts: 3)
        h.hello("mallory")
        for attempt in UInt32(1)...3 {
            let ackReply = h.result("mallory", trialId: "p0@cpu-a", attempt: attempt, WireResults.failed())
            let ack = try #require(ackReply)
            #expect(ack.accepted == false && ack.reason == .notLeaseHolder)
        }
        let stateReply = h.s.trialState("p0@cpu-a")
        let state = try #require(stateReply)
        #expect(state.state == .pending && state.attempt == 1 && state.reasons.isEmpty)
        // It still runs, once, on an honest agent.
        h.hello("victim")
        let aReply = h.request("victim")
        let a = try #require(aReply)
        #expect(a.attempt == 1)
        #expect(h.result("victim", a)?.accepted == true)
        #expect(h.s.progress.finished && h.s.progress.failed == 0)
    }

    @Test func aForgedResultForAnotherAgentsLeaseIsRefusedAndTheRealOneStored() throws {
        var h = Harness(points: 1)
        h.hello("victim")
        h.hello("mallory")
        let aReply = h.request("victim")
        let a = try #require(aReply)
        let forgedReply = h.result("mallory", trialId: a.trialID, attempt: a.attempt, WireResults.ok(latencyMs: 0.01))
        let forged = try #require(forgedReply)
        #expect(forged.accepted == false && forged.reason == .notLeaseHolder)
        let failureReply = h.result("mallory", trialId: a.trialID, attempt: a.attempt, WireResults.failed())
        let failure = try #require(failureReply)
        #expect(failure.accepted == false && failure.reason == .notLeaseHolder)
        #expect(h.s.trialState(a.trialID)?.state == .leased)
        #expect(h.result("victim", a)?.accepted == true)
        let rows = h.stored.compactMap { if case let .resultAccepted(r) = $0 { return r } else { return nil } }
        #expect(rows.count == 1)
        #expect(rows.first?.agentId == "victim" && rows.first?.result.latencyP50Ms == 4.2)
    }

    @Test func aHeartbeatForALeaseThatIsGoneIsAnsweredWithAReject() throws {
        var h = Harness(points: 1, lease: 5)
        h.hello("a1")
        h.hello("a2")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        _ = h.tick(6)
        let taken = h.request("a2")
        #expect(taken != nil)
        h.hello("a1")
        let rejectReply = Self.reject(h.heartbeat("a1", first.trialID, attempt: first.attempt))
        let reject = try #require(rejectReply)
        #expect(reject.reason == .leaseExpired && reject.trialID == first.trialID)
        let strangerReply = Self.reject(h.heartbeat("a1", "p0@cpu-a", attempt: 2))
        let stranger = try #require(strangerReply)
        #expect(stranger.reason == .notLeaseHolder)
        let unknownReply = Self.reject(h.heartbeat("a1", "zzz@cpu-a", attempt: 1))
        let unknown = try #require(unknownReply)
        #expect(unknown.reason == .unknownTrial)
    }

    @Test func aHelloClaimingAnotherAgentsRunningTrialIsRefusedWithItsReason() throws {
        var h = Harness(points: 1)
        h.hello("victim")
        let aReply = h.request("victim")
        let a = try #require(aReply)
        let replies = h.hello("mallory", running: [a.trialID])
        let reject = try #require(Self.reject(replies))
        #expect(reject.reason == .notLeaseHolder && reject.trialID == a.trialID)
        #expect(h.s.agents["victim"]?.trialId == a.trialID)
        #expect(h.heartbeat("victim", a.trialID, attempt: a.attempt).first?.kind == "heartbeat")
        #expect(h.result("victim", a)?.accepted == true)
    }

    /// Ways a result can be wrong, each with the field the refusal must name.
    enum Breakage: String, CaseIterable, Sendable {
        case noStatus, noConfiguration, noMetrics, nanAccuracy, accuracyOutOfRange, foreignMetric, otherTask,
             infiniteLatency, noDevice, unknownTechnique

        var field: String {
            switch self {
            case .noStatus: return "status"
            case .noConfiguration: return "configuration"
            case .noMetrics: return "metrics"
            case .nanAccuracy, .accuracyOutOfRange: return "metrics[\"accuracy\"]"
            case .foreignMetric: return "metrics[\"f1\"]"
            case .otherTask: return "configuration.task"
            case .infiniteLatency: return "latency_p50_ms"
            case .noDevice: return "device"
            case .unknownTechnique: return "configuration.techniques[0].name"
            }
        }

        func apply(_ r: inout WireTrialResult) {
            switch self {
            case .noStatus: r.status = .unspecified
            case .noConfiguration: r.clearConfiguration()
            case .noMetrics: r.metrics = [:]
            case .nanAccuracy: r.metrics = ["accuracy": .nan]
            case .accuracyOutOfRange: r.metrics = ["accuracy": 1.7]
            case .foreignMetric: r.metrics = ["accuracy": 0.9, "f1": 0.9]
            case .otherTask: r.configuration.task = "MRPC"
            case .infiniteLatency: r.latencyP50Ms = .infinity
            case .noDevice: r.clearDevice()
            case .unknownTechnique:
                var t = WireTechniqueConfiguration()
                t.name = "magic"
                r.configuration.techniques = [t]
            }
        }
    }

    @Test(arguments: Breakage.allCases)
    func anInvalidResultFromTheHolderIsRefusedNamingTheFieldAndTheTrialRunsAgain(_ breakage: Breakage) throws {
        let field = breakage.field
        var h = Harness(points: 1, attempts: 3)
        h.hello("a1")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        var bad = WireResults.ok()
        breakage.apply(&bad)
        let ackReply = h.result("a1", trialId: a.trialID, attempt: a.attempt, bad)
        let ack = try #require(ackReply)
        #expect(ack.accepted == false && ack.reason == .invalidResult)
        #expect(ack.note.contains("result.\(field)"), "note: \(ack.note)")
        #expect(h.accepted.isEmpty)
        let againReply = h.request("a1")
        let again = try #require(againReply)
        #expect(again.trialID == a.trialID && again.attempt == 2)
        #expect(h.result("a1", again)?.accepted == true)
        #expect(h.s.trialState(a.trialID)?.reasons.first?.contains("invalid result") == true)
    }

    @Test func underCurveAKeyActsOnlyUnderTheNamesItAdmits() throws {
        var h = Harness(points: 2)
        let node7 = AgentKey(publicKey: String(repeating: "a", count: 40), name: "node7", agentIds: ["node7", "node7-*"])
        let victim = AgentKey(publicKey: String(repeating: "b", count: 40), name: "victim3", agentIds: ["victim3", "victim3-*"])
        h.keys = ["p-node7": node7, "p-victim": victim]
        h.hello("p-victim", id: "victim3")
        // node7's machine claims victim3's name: refused, and nothing of victim3's changes.
        let refusedHello = h.hello("p-node7", id: "victim3", deviceClass: "evil", expectWelcome: false)
        let reject = try #require(Self.reject(refusedHello))
        #expect(reject.reason == .identityRefused)
        #expect(reject.detail.contains("node7.pub"))
        #expect(h.s.agents["victim3"]?.deviceClass == "cpu-a")
        #expect(h.s.agents["victim3"]?.key?.name == "victim3")
        #expect(h.send("p-node7", .workRequest(.init())).first.flatMap(Self.notWelcomed) == true)
        // Under its own names it is welcome, and what it delivers carries its key.
        h.hello("p-node7", id: "node7-0")
        let aReply = h.request("p-node7")
        let a = try #require(aReply)
        #expect(h.result("p-node7", a)?.accepted == true)
        let row = h.stored.compactMap { if case let .resultAccepted(r) = $0 { return r } else { return nil } }.first
        #expect(row?.agentId == "node7-0" && row?.keyName == "node7" && row?.keyFingerprint == node7.fingerprint)
        let leased = h.stored.compactMap { change -> String? in
            if case let .trialLeased(_, _, agent, fingerprint, _) = change, agent == "node7-0" { return fingerprint }
            return nil
        }
        #expect(leased == [node7.fingerprint])
        #expect(h.refusals.first?.reason == "IDENTITY_REFUSED" && h.refusals.first?.keyFingerprint == node7.fingerprint)
    }

    @Test func aKeyThatAdmitsEveryNameStillCannotTakeOverALiveAgent() throws {
        var h = Harness(points: 1, lease: 10)
        let fleet = AgentKey(publicKey: String(repeating: "c", count: 40), name: "fleet", agentIds: ["*"])
        let other = AgentKey(publicKey: String(repeating: "d", count: 40), name: "other", agentIds: ["*"])
        h.keys = ["p1": fleet, "p2": other]
        h.hello("p1", id: "node1")
        let refusedHello = h.hello("p2", id: "node1", expectWelcome: false)
        #expect(Self.reject(refusedHello)?.reason == .identityRefused)
        // Once node1 is gone (silent past its lease), the name may move to another key.
        _ = h.tick(11)
        h.hello("p2", id: "node1")
        #expect(h.s.agents["node1"]?.key?.name == "other")
    }

    static func notWelcomed(_ e: WireEnvelope) -> Bool {
        if case let .reject(r) = e.body { return r.reason == .notWelcomed }
        return false
    }

    @Test func agentsGetOnlyTrialsTheirCapabilitiesCoverAndTheRestIsReportedWaiting() throws {
        let points = [
            SweepPoint(key: "dense", configKey: "dense", label: "dense", variant: "dense", task: "SST-2", model: "m",
                       isBaseline: true, specJSON: Data("{}".utf8)),
            SweepPoint(key: "int8", configKey: "int8", label: "int8", variant: "int8", task: "SST-2", model: "m",
                       isBaseline: false, specJSON: Data("{}".utf8),
                       requirements: TrialRequirements(task: "SST-2", techniques: ["quantization"], kernels: ["int8"])),
        ]
        var s = SweepScheduler(points: points, placement: .any, settings: .init(leaseSeconds: 10, heartbeatSeconds: 1))
        _ = s.takeStartupChanges()
        func send(_ peer: String, _ body: WireEnvelope.OneOf_Body) -> [WireEnvelope] {
            s.handle(.received(peer: Data(peer.utf8), envelope: WireEnvelope(body), key: nil, at: 1)).compactMap {
                if case let .send(_, e) = $0 { return e } else { return nil }
            }
        }
        // An agent that claims nothing gets nothing, and is told why in the waiting list.
        var nothing = WireHello()
        nothing.agentID = "bare"
        nothing.deviceClass = "cpu"
        _ = send("bare", .hello(nothing))
        #expect(send("bare", .workRequest(.init())).first?.kind == "no_work")
        #expect(s.waiting.count == 2)
        #expect(s.waiting.allSatisfy { $0.reason.contains("lacks task sst-2") })
        // A dense-only agent runs the dense point and never the int8 one.
        var dense = WireHello()
        dense.agentID = "dense-only"
        dense.deviceClass = "cpu"
        dense.capabilities.tasks = ["sst-2"]
        dense.capabilities.kernels = ["dense"]
        _ = send("dense-only", .hello(dense))
        let first = send("dense-only", .workRequest(.init()))
        guard case let .assignment(a)? = first.first?.body else { Issue.record("expected the dense trial"); return }
        #expect(a.pointKey == "dense")
        var r = WireResult()
        r.trialID = a.trialID
        r.attempt = a.attempt
        r.result = WireResults.ok()
        #expect(Self.ack(send("dense-only", .result(r)))?.accepted == true)
        guard case let .noWork(none)? = send("dense-only", .workRequest(.init())).first?.body else {
            Issue.record("expected NoWork")
            return
        }
        #expect(none.sweepFinished)  // everything it could run has ended
        let waiting = s.waiting
        #expect(waiting.count == 1 && waiting[0].trials == 1)
        #expect(waiting[0].reason.contains("technique quantization") && waiting[0].reason.contains("kernel int8"))
    }

    @Test func oversizedAndEmptyFramesAreRefusedWithTheirOwnReasons() {
        var s = SweepScheduler(points: SweepSchedulerTests.points(1), placement: .any, settings: .init())
        let big = s.handle(.oversized(peer: Data("p".utf8), bytes: 5 << 20, at: 1))
        let empty = s.handle(.malformed(peer: Data("p".utf8), error: .empty, at: 1))
        func reason(_ out: [SweepScheduler.Directive]) -> WireReject.Reason? {
            for d in out { if case let .send(_, e) = d, case let .reject(r) = e.body { return r.reason } }
            return nil
        }
        #expect(reason(big) == .frameTooLarge)
        #expect(reason(empty) == .emptyFrame)
    }

    @Test func anInvalidResultCannotBeResentCorrectedAndTheRetryGoesToAnotherAgent() throws {
        var h = Harness(points: 2, attempts: 3)
        h.hello("a1")
        h.hello("a2")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        var bad = WireResults.ok()
        bad.metrics = [:]
        #expect(h.result("a1", trialId: first.trialID, attempt: first.attempt, bad)?.reason == .invalidResult)
        // The same attempt, corrected: refused (the attempt is over).
        let resentReply = h.result("a1", first)
        let resent = try #require(resentReply)
        #expect(resent.accepted == false && resent.reason == .leaseExpired)
        // a1 asks again: it gets the other trial; the retry waits for someone else.
        let nextReply = h.request("a1")
        let next = try #require(nextReply)
        #expect(next.trialID != first.trialID)
        let retryReply = h.request("a2")
        let retry = try #require(retryReply)
        #expect(retry.trialID == first.trialID && retry.attempt == 2)
    }

    @Test func theScannerCutsTheResultOutOfAFrameExactlyAsEncoded() throws {
        var r = WireResult()
        r.trialID = "p0@cpu"
        r.attempt = 3
        r.result = WireResults.ok()
        let frame = WireEnvelope(.result(r)).encoded()
        let cut = try #require(WireFrameScanner.trialResultBytes(in: frame))
        #expect(try WireTrialResult.decode(cut) == r.result)
        #expect(cut == r.result.encoded())
        // A frame that splits the field in two (legal protobuf: they merge) is left to the encoder.
        var twice = frame
        twice.append(WireEnvelope(.result(r)).encoded().dropFirst(2))
        #expect(WireFrameScanner.trialResultBytes(in: twice) == nil)
        #expect(WireFrameScanner.trialResultBytes(in: Data([0x42, 0xff])) == nil)
        #expect(WireFrameScanner.trialResultBytes(in: WireEnvelope(.workRequest(.init())).encoded()) == nil)
    }
}
