import Foundation
import Testing
@testable import FrontierGrid
@testable import FrontierSweep
@testable import FrontierStore
@testable import FrontierWire

/// Training stages in the scheduler: a stage runs once, before the measurements of its
/// checkpoint, on an agent that trains; its result counts only with its checkpoint stored;
/// the measurements then carry the checkpoint's hash, and only their lease holders may fetch
/// it; a stage that fails fails what waits for it, with the reason.
@Suite struct SweepStageSchedulingTests {
    static let grid = """
        name: stages
        data_root: /data/glue
        tasks: [MRPC]
        models: [/models/minilm]
        variants:
          - name: dense
            techniques: []
          - name: finetuned
            train: { epochs: 1, seed: 7 }
            techniques: []
          - name: finetuned-int8
            train: { epochs: 1, seed: 7 }
            techniques: [{ name: quantization, mode: int8 }]
        """

    static var points: [SweepPoint] {
        get throws { try SweepGrid(file: GridFile.parse(text: grid, source: "grid.yaml")).points }
    }

    static var trainer: WireCapabilities {
        var c = WireResults.allCapabilities
        c.features = ["training", "artifacts"]
        c.trains = true
        return c
    }

    static let sha = String(repeating: "ab", count: 32)

    static func trainingResult(stage: String, sha: String = sha, size: UInt64 = 1000) -> WireTrialResult {
        var r = WireTrialResult()
        r.status = .ok
        r.task = "MRPC"
        r.examples = 408
        r.metrics = ["accuracy": 0.8, "f1": 0.85]
        r.device = WireResults.device("cpu-a")
        r.training.stageKey = stage
        r.training.artifact.sha256 = sha
        r.training.artifact.size = size
        r.training.artifact.role = "checkpoint"
        r.training.trainingS = 60
        r.training.wallS = 65
        r.training.examplesPerS = 61
        r.training.trainingJ = 900
        r.training.energySource = "estimated"
        return r
    }

    func harness(restored: [SweepTrialRow] = [], artifacts: [SweepArtifactRow] = [],
                 stageArtifacts: [String: WireArtifactRef] = [:]) throws -> SweepSchedulerTests.Harness {
        var h = SweepSchedulerTests.Harness(points: 0)
        h.s = SweepScheduler(points: try Self.points, placement: .everyDeviceClass,
                             settings: .init(leaseSeconds: 10, heartbeatSeconds: 1, maxAttempts: 2),
                             restored: restored, now: 100, artifacts: artifacts, stageArtifacts: stageArtifacts)
        h.stored = h.s.takeStartupChanges()
        return h
    }

    /// A valid MRPC measurement by `peer` for assignment `a`.
    func measured(_ h: inout SweepSchedulerTests.Harness, _ peer: String, _ a: WireAssignment) -> WireAck? {
        h.result(peer, trialId: a.trialID, attempt: a.attempt,
                 WireResults.ok(task: "MRPC", deviceClass: "cpu-a", metrics: ["accuracy": 0.8, "f1": 0.85]))
    }

    @Test func theStageRunsFirstOnceAndItsMeasurementsWaitForItsCheckpoint() throws {
        var h = try harness()
        #expect(h.s.progress.stages == 1)
        h.hello("a1", deviceClass: "cpu-a", capabilities: Self.trainer)
        h.hello("b1", deviceClass: "gpu-b", capabilities: Self.trainer)
        let stageAssignment = h.request("a1")
        let stage = try #require(stageAssignment)
        #expect(stage.training)
        #expect(stage.trialID.hasPrefix("stage-") && stage.trialID.hasSuffix("@train"))
        // Only the dense point can run on the other class meanwhile; the trained ones wait.
        let denseAssignment = h.request("b1")
        let dense = try #require(denseAssignment)
        #expect(!dense.training && dense.inputs.isEmpty)
        #expect(measured(&h, "b1", dense)?.accepted == true)
        #expect(h.request("b1") == nil)
        #expect(h.s.progress.waitingOnTraining == 4)
        #expect(h.s.progress.training == 1)

        // A result before the checkpoint is stored does not count (and ends the attempt).
        let stageKey = String(stage.trialID.dropFirst(6).prefix { $0 != "@" })
        let early = h.result("a1", trialId: stage.trialID, attempt: stage.attempt, Self.trainingResult(stage: stageKey))
        #expect(early?.accepted == false)
        #expect(early?.reason == .invalidResult)
        #expect(early?.note.contains("is not stored here") == true)

        // Second attempt: only the holder may upload; then the result counts.
        let againAssignment = h.request("a1")
        let again = try #require(againAssignment)
        #expect(again.trialID == stage.trialID && again.attempt == 2)
        #expect(h.s.artifactUploadPermission(peer: Data("a1".utf8), trialId: again.trialID, attempt: 2) == .allowed(agentId: "a1"))
        if case .refused(let reason, _) = h.s.artifactUploadPermission(peer: Data("b1".utf8), trialId: again.trialID, attempt: 2) {
            #expect(reason == .notLeaseHolder)
        } else { Issue.record("an agent without the lease may upload") }
        if case .refused(let reason, _) = h.s.artifactUploadPermission(peer: Data("a1".utf8), trialId: again.trialID, attempt: 1) {
            #expect(reason == .leaseExpired)
        } else { Issue.record("an old attempt may upload") }
        h.stored.append(h.s.artifactStored(sha256: Self.sha, size: 1000, trialId: again.trialID, agentId: "a1", at: h.now))
        let ok = h.result("a1", trialId: again.trialID, attempt: 2, Self.trainingResult(stage: stageKey))
        #expect(ok?.accepted == true)
        #expect(h.s.progress.stagesDone == 1 && h.s.progress.waitingOnTraining == 0)

        // Every trained point now runs once per class, carrying the checkpoint.
        var ran: [String] = []
        var idle: Set<String> = []
        while idle.count < 2 {
            for peer in ["a1", "b1"] {
                guard let a = h.request(peer) else { idle.insert(peer); continue }
                #expect(!a.training)
                #expect(a.inputs.count == 1 && a.inputs[0].sha256 == Self.sha && a.inputs[0].role == "checkpoint"
                        || a.pointKey == dense.pointKey)
                if !a.inputs.isEmpty {
                    #expect(h.s.artifactFetchPermission(peer: Data(peer.utf8), trialId: a.trialID, attempt: a.attempt, sha256: Self.sha)
                            == .allowed(agentId: peer))
                    let other = peer == "a1" ? "b1" : "a1"
                    #expect(h.s.artifactFetchPermission(peer: Data(other.utf8), trialId: a.trialID, attempt: a.attempt, sha256: Self.sha)
                            != .allowed(agentId: other))
                    #expect(h.s.artifactFetchPermission(peer: Data(peer.utf8), trialId: a.trialID, attempt: a.attempt,
                                                        sha256: String(repeating: "0", count: 64)) != .allowed(agentId: peer))
                }
                #expect(measured(&h, peer, a)?.accepted == true)
                ran.append(a.trialID)
            }
        }
        #expect(Set(ran).count == ran.count)
        #expect(h.s.progress.finished)
        #expect(h.s.progress.done == 1 + 3 * 2)
        #expect(h.s.progress.deviceClasses.sorted() == ["cpu-a", "gpu-b"])
    }

    @Test func onlyAnAgentThatTrainsGetsTheStageAndOnlyOneThatFetchesGetsTrainedPoints() throws {
        var h = try harness()
        h.hello("old", deviceClass: "cpu-a")  // an agent of the previous release: no features
        let aAssignment = h.request("old")
        let a = try #require(aAssignment)
        #expect(!a.training && a.inputs.isEmpty)
        #expect(measured(&h, "old", a)?.accepted == true)
        #expect(h.request("old") == nil)
        let waiting = h.s.waiting
        #expect(waiting.contains { $0.deviceClass == "train" && $0.reason.contains("training") })
    }

    @Test func aFailedStageFailsItsMeasurementsWithTheReason() throws {
        var h = try harness()
        h.hello("a1", deviceClass: "cpu-a", capabilities: Self.trainer)
        let stageAssignment = h.request("a1")
        let stage = try #require(stageAssignment)
        var failure = WireResults.failed("bad assignment: the base checkpoint is missing")
        failure.task = "MRPC"
        #expect(h.result("a1", trialId: stage.trialID, attempt: stage.attempt, failure)?.accepted == true)
        let failedRows = h.stored.compactMap { change -> (String, String)? in
            if case let .trialFailed(id, reason, _) = change { return (id, reason) }
            return nil
        }
        #expect(failedRows.count == 2)
        #expect(failedRows.allSatisfy { $0.1.contains("dependency train MRPC") && $0.1.contains("the base checkpoint is missing") })
        let denseAssignment = h.request("a1")
        let dense = try #require(denseAssignment)
        #expect(measured(&h, "a1", dense)?.accepted == true)
        #expect(h.s.progress.finished)
        #expect(h.s.progress.failed == 3)
        // A class joining later gets its trained points failed at once, not waiting forever.
        h.hello("b1", deviceClass: "gpu-b", capabilities: Self.trainer)
        #expect(h.s.progress.failed == 5)
        #expect(h.stored.filter { if case .trialFailed = $0 { return true } else { return false } }.count == 4)
    }

    @Test func retryingAFailedStageTakesAlongTheTrialsThatFailedBecauseOfIt() throws {
        let dir = SweepStoreTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SweepStore(folder: dir)
        try store.prepare(grid: SweepStoreTests.grid, points: try Self.points)
        var h = try harness()
        try store.apply(h.stored)
        h.stored = []
        h.hello("a1", deviceClass: "cpu-a", capabilities: Self.trainer)
        let stageAssignment = h.request("a1")
        let stage = try #require(stageAssignment)
        var failure = WireResults.failed("bad assignment: the base checkpoint is missing")
        failure.task = "MRPC"
        _ = h.result("a1", trialId: stage.trialID, attempt: stage.attempt, failure)
        try store.apply(h.stored)
        let failed = try store.trials().filter { $0.state == .failed }.map(\.trialId)
        #expect(failed.count == 3)
        let retried = try store.retry(trialIds: [stage.trialID], allFailed: false)
        #expect(Set(retried) == Set(failed))
        #expect(try store.trials().allSatisfy { $0.state != .failed })
    }

    @Test func aRestartKnowsTheStoredCheckpointAndHandsItOut() throws {
        var first = try harness()
        first.hello("a1", deviceClass: "cpu-a", capabilities: Self.trainer)
        let stageAssignment = first.request("a1")
        let stage = try #require(stageAssignment)
        let key = String(stage.trialID.dropFirst(6).prefix { $0 != "@" })
        first.stored.append(first.s.artifactStored(sha256: Self.sha, size: 1000, trialId: stage.trialID, agentId: "a1", at: 100))
        #expect(first.result("a1", trialId: stage.trialID, attempt: 1, Self.trainingResult(stage: key))?.accepted == true)
        var ref = WireArtifactRef()
        ref.sha256 = Self.sha
        ref.size = 1000
        var h = try harness(restored: first.s.allTrials,
                            artifacts: [SweepArtifactRow(sha256: Self.sha, size: 1000, trialId: stage.trialID, agentId: "a1", at: 100)],
                            stageArtifacts: [key: ref])
        h.hello("a2", deviceClass: "cpu-a", capabilities: Self.trainer)
        var inputs: [String] = []
        while let a = h.request("a2") {
            #expect(!a.training)
            inputs += a.inputs.map(\.sha256)
            #expect(measured(&h, "a2", a)?.accepted == true)
        }
        #expect(inputs == [Self.sha, Self.sha])
        #expect(h.s.progress.finished)
    }

    @Test func aDeviceClassNamedLikeATrainingClassIsRefused() throws {
        var h = try harness()
        let replies = h.hello("x", deviceClass: "train", expectWelcome: false)
        #expect(replies.first?.kind == "reject")
    }
}
