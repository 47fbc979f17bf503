import Foundation
import Testing
@testable import FrontierStore
@testable import FrontierSweep
@testable import FrontierWire
import FrontierMeasurement
import FrontierSupport


/// The store as the coordinator uses it: a sweep's state survives closing and reopening, a
/// different grid is refused, and the results table itself refuses a second result.
@Suite struct SweepStoreTests {
    static func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("frontier-store-\(UUID().uuidString)")
    }

    static let grid = SweepStore.GridInfo(name: "g", source: "name: g\n", placement: .everyDeviceClass, fingerprint: "f1")

    @Test func aSweepSurvivesReopening() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let points = SweepSchedulerTests.points(3)
        let key = AgentKey(publicKey: String(repeating: "k", count: 40), name: "a1", agentIds: ["a1"])
        do {
            let store = try SweepStore(folder: dir)
            try store.prepare(grid: Self.grid, points: points)
            var s = SweepScheduler(points: try store.points(), placement: .everyDeviceClass,
                                   settings: .init(leaseSeconds: 10, heartbeatSeconds: 1, maxAttempts: 3))
            var out: [SweepScheduler.Directive] = []
            var hello = WireHello()
            hello.agentID = "a1"
            hello.deviceClass = "cpu"
            hello.capabilities = WireResults.allCapabilities
            s.handle(.received(peer: Data("a1".utf8), envelope: WireEnvelope(.hello(hello)), key: key, at: 1), into: &out)
            s.handle(.received(peer: Data("a1".utf8), envelope: WireEnvelope(.workRequest(.init())), key: nil, at: 2), into: &out)
            hello.agentID = "a2"
            s.handle(.received(peer: Data("a2".utf8), envelope: WireEnvelope(.hello(hello)), key: nil, at: 2), into: &out)
            s.handle(.received(peer: Data("a2".utf8), envelope: WireEnvelope(.workRequest(.init())), key: nil, at: 2), into: &out)
            var result = WireResult()
            result.trialID = "p0@cpu"
            result.attempt = 1
            result.result = WireResults.ok(deviceClass: "cpu")
            s.handle(.received(peer: Data("a1".utf8), envelope: WireEnvelope(.result(result)), key: nil, at: 3), into: &out)
            // A forged result and a waiting list: both kept for `frontier status`.
            result.trialID = "p2@cpu"
            s.handle(.received(peer: Data("a1".utf8), envelope: WireEnvelope(.result(result)), key: nil, at: 4), into: &out)
            out.append(.store(.waiting([SweepWaitingRow(deviceClass: "gpu", trials: 3, reason: "no agent of device class gpu connected")])))
            try store.apply(out.compactMap { if case let .store(c) = $0 { return c } else { return nil } })
        }
        let store = try SweepStore(folder: dir)
        try store.prepare(grid: Self.grid, points: points)  // the same grid: a resume
        let trials = try store.trials()
        #expect(trials.map(\.state) == [.done, .leased, .pending])
        #expect(trials[1].agentId == "a2")
        #expect(try store.resultCounts() == ["p0@cpu": 1])
        let counts = try store.counts()
        #expect(counts.total == 3 && counts.done == 1 && counts.leased == 1 && counts.pending == 1)
        #expect(try store.agents().first?.done == 1)
        #expect(try store.attemptsCount() == 2)
        let stored = try store.storedTrials()
        // The stored message comes back as the measurement layer's JSON export.
        let json = try #require(stored.first?.resultJSON)
        let decoded = try JSONCoding.decoder.decode(TrialResult.self, from: Data(json.utf8))
        #expect(decoded.metrics == ["accuracy": 0.9] && decoded.latencyP50Ms == 4.2 && decoded.device.deviceClass == "cpu")
        #expect(counts.refused == ["NOT_LEASE_HOLDER": 1])
        #expect(counts.waiting.first?.trials == 3)
        let refusal = try #require(try store.refusals().first)
        #expect(refusal.trialId == "p2@cpu" && refusal.agentId == "a1" && refusal.keyFingerprint == key.fingerprint)
    }

    @Test func aDifferentGridIsRefused() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SweepStore(folder: dir)
        try store.prepare(grid: Self.grid, points: SweepSchedulerTests.points(1))
        var other = Self.grid
        other.fingerprint = "f2"
        other.name = "other"
        #expect(throws: SweepStoreError.self) { try store.prepare(grid: other, points: []) }
        do {
            try store.prepare(grid: other, points: [])
        } catch {
            #expect("\(error)".contains("'g'"))
            #expect("\(error)".contains("new --store"))
        }
    }

    @Test func retryMakesFailedTrialsPendingWithFreshAttemptsAndLeavesDoneOnesAlone() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SweepStore(folder: dir)
        try store.prepare(grid: Self.grid, points: SweepSchedulerTests.points(3))
        try store.apply([.trialsAdded([
            SweepTrialRow(trialId: "p0@cpu", pointKey: "p0", deviceClass: "cpu", state: .failed, attempt: 3, agentId: "a",
                          reasons: ["attempt 3 on a: no such file"]),
            SweepTrialRow(trialId: "p1@cpu", pointKey: "p1", deviceClass: "cpu", state: .done, attempt: 1, agentId: "a"),
            SweepTrialRow(trialId: "p2@cpu", pointKey: "p2", deviceClass: "cpu", state: .failed, attempt: 1, agentId: "a"),
        ])])
        #expect(throws: SweepStoreError.self) { try store.retry(trialIds: ["p1@cpu"], allFailed: false) }
        #expect(throws: SweepStoreError.self) { try store.retry(trialIds: ["nope"], allFailed: false) }
        #expect(try store.retry(trialIds: ["p2@cpu"], allFailed: false) == ["p2@cpu"])
        #expect(try store.retry(trialIds: [], allFailed: true) == ["p0@cpu"])
        let rows = Dictionary(uniqueKeysWithValues: try store.trials().map { ($0.trialId, $0) })
        #expect(rows["p0@cpu"]?.state == .pending && rows["p0@cpu"]?.attempt == 1 && rows["p0@cpu"]?.agentId == nil)
        #expect(rows["p0@cpu"]?.reasons.first == "attempt 3 on a: no such file")
        #expect(rows["p0@cpu"]?.reasons.last?.contains("frontier retry") == true)
        #expect(rows["p1@cpu"]?.state == .done)
        #expect(try store.retry(trialIds: [], allFailed: true).isEmpty)
    }

    @Test func logTimesAreRFC3339WithMilliseconds() {
        #expect(LogTime.format(seconds: 1_796_585_836, milliseconds: 7) == "2026-12-06T19:37:16.007Z")
        #expect(LogTime.now().wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
    }

    @Test func theResultsTableRefusesASecondResult() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SweepStore(folder: dir)
        try store.prepare(grid: Self.grid, points: SweepSchedulerTests.points(1))
        try store.apply([.trialsAdded([SweepTrialRow(trialId: "p0@cpu", pointKey: "p0", deviceClass: "cpu", state: .pending, attempt: 1)])])
        let row = SweepResultRow(trialId: "p0@cpu", attempt: 1, agentId: "a", deviceClass: "cpu", result: WireResults.ok(), at: 1)
        try store.apply([.resultAccepted(row)])
        #expect(throws: (any Error).self) { try store.apply([.resultAccepted(row)]) }
        #expect(try store.resultCounts() == ["p0@cpu": 1])
    }

    @Test func readingAMissingStoreSaysSo() {
        do {
            _ = try SweepStore(folder: Self.folder(), readOnly: true)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("no sweep store here"))
        }
    }
}
