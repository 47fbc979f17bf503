import Foundation
import Testing
@testable import FrontierSweep
@testable import FrontierWire


/// The retry policy: a failure that would recur on every attempt (a missing file, a head that
/// does not fit, a spec the agent refuses) ends the trial at once; one that may not recur (a
/// crash, a timeout, a lost lease) runs again up to `maxAttempts`.
@Suite struct SweepSchedulerRetryTests {
    typealias Harness = SweepSchedulerTests.Harness

    /// A failed result as an agent sends it after its worker ended as described.
    static func failed(_ reason: String, exitCode: Int32? = nil, signal: Int32? = nil,
                       killedBecause: String? = nil) -> WireTrialResult {
        var r = WireResults.failed(reason)
        guard exitCode != nil || signal != nil || killedBecause != nil else { return r }
        var w = WireWorkerExit()
        w.pid = 4242
        if let exitCode { w.exitCode = exitCode }
        if let signal { w.signal = signal }
        if let killedBecause { w.killedBecause = killedBecause }
        w.maxRssKb = 10_000
        w.wallS = 0.5
        r.worker = w
        return r
    }

    static let missingModel = "/data/models/gone/config.json: file not found. Expected a checkpoint folder with config.json, vocab.txt and model.safetensors."

    @Test(arguments: [
        (failed("bad assignment: assignment p0@cpu-a: limit must be ≥ 1; got 0"), SweepScheduler.FailureKind.deterministic),
        (failed(missingModel, exitCode: 1), .deterministic),
        (failed("the worker crashed with SIGSEGV", signal: SIGSEGV), .transient),
        (failed("the worker was killed by SIGKILL", signal: SIGKILL), .transient),
        (failed("timed out after 3600 s", exitCode: nil, signal: SIGKILL, killedBecause: "timed out after 3600 s"), .transient),
        (failed("the worker exited with status 137", exitCode: 137), .transient),
        (failed("the worker exited with status 1", exitCode: 1), .transient),
        (failed("cannot start the worker: No such file or directory"), .transient),
    ])
    func failureKindFromWhatTheResultSays(result: WireTrialResult, kind: SweepScheduler.FailureKind) {
        #expect(SweepScheduler.failureKind(of: result) == kind, "\(result.failureReason)")
    }

    @Test func aDeterministicFailureEndsTheTrialAtOnce() throws {
        var h = Harness(points: 2, attempts: 3)
        h.hello("a1")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        let ack = h.result("a1", trialId: a.trialID, attempt: a.attempt, Self.failed(Self.missingModel, exitCode: 1))
        #expect(ack?.accepted == true)
        let row = try #require(h.s.trialState(a.trialID))
        #expect(row.state == .failed)
        #expect(row.attempt == 1)
        #expect(row.reasons.count == 1 && row.reasons[0].contains("config.json: file not found"))
        let ended = h.stored.compactMap { change -> (Bool, Int)? in
            if case let .attemptEnded(_, attempt, _, _, _, failed, _) = change { return (failed, attempt) }
            return nil
        }
        #expect(ended.count == 1 && ended[0].0 && ended[0].1 == 1)
        // The agent goes on with the next trial, not the same one again.
        let nextReply = h.request("a1")
        let next = try #require(nextReply)
        #expect(next.trialID != a.trialID)
    }

    @Test func aTransientFailureRunsAgainUntilMaxAttempts() throws {
        var h = Harness(points: 1, attempts: 3)
        h.hello("a1")
        var attempts: [UInt32] = []
        while let a = h.request("a1") {
            attempts.append(a.attempt)
            _ = h.result("a1", trialId: a.trialID, attempt: a.attempt,
                         Self.failed("the worker crashed with SIGSEGV", signal: SIGSEGV))
        }
        #expect(attempts == [1, 2, 3])
        let row = try #require(h.s.allTrials.first)
        #expect(row.state == .failed && row.reasons.count == 3)
        #expect(h.s.progress.finished && h.s.progress.failed == 1)
    }

    @Test func aDeterministicFailureAfterTransientOnesStillEndsIt() throws {
        var h = Harness(points: 1, attempts: 5)
        h.hello("a1")
        let firstReply = h.request("a1")
        let first = try #require(firstReply)
        _ = h.result("a1", trialId: first.trialID, attempt: first.attempt, Self.failed("the worker crashed with SIGBUS", signal: SIGBUS))
        let secondReply = h.request("a1")
        let second = try #require(secondReply)
        #expect(second.attempt == 2)
        _ = h.result("a1", trialId: second.trialID, attempt: second.attempt, Self.failed(Self.missingModel, exitCode: 1))
        let row = try #require(h.s.trialState(first.trialID))
        #expect(row.state == .failed && row.attempt == 2 && row.reasons.count == 2)
        let none = h.request("a1")
        #expect(none == nil)
    }

    @Test func anExpiredLeaseIsRetried() throws {
        var h = Harness(points: 1, lease: 10, attempts: 3)
        h.hello("a1")
        h.hello("a2")
        let aReply = h.request("a1")
        let a = try #require(aReply)
        _ = h.tick(11)
        let row = try #require(h.s.trialState(a.trialID))
        #expect(row.state == .pending && row.attempt == 2)
    }
}
