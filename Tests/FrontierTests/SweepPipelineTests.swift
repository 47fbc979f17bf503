import Foundation
import Testing
@testable import FrontierArtifacts
import FrontierEngine
@testable import FrontierStore
@testable import FrontierWire

/// Train once, measure everywhere, end to end on loopback: `frontier serve` and two
/// `frontier-agent connect` of different device classes run a grid with a fine-tuning stage.
/// The stage runs once, its checkpoint travels to the coordinator and to every agent that
/// measures it, each measurement runs once per device class, and the stored artifact is the
/// file its hash names.
@Suite(.serialized) struct SweepPipelineTests {
    typealias Child = SweepProcessTests.Child
    typealias CLI = AgentCommandLineTests

    struct Pipeline {
        let root: URL
        let grid: URL
        let store: URL
        let port = LoopbackPort.free()
        var endpoint: String { "tcp://127.0.0.1:\(port)" }

        init(examples: Int = 16, epochs: Int = 2, variants: String? = nil) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-pipeline-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let model = try CLI.tinyCheckpoint()
            let data = try FineTuneFixtures.writeMRPC(in: root, examples: examples)
            let text = """
                name: pipeline-test
                data_root: \(data.path)
                tasks: [MRPC]
                models: [\(model.path)]
                placement: every-device-class
                measurement:
                  batch: 4
                  threads: 1
                  min_duration_s: 0.2
                  idle_baseline_s: 0
                  single_stream_min_queries: 8
                  warmup_queries: 1
                  timeout_s: 60
                  energy: { meter: estimated }
                  interference: { max_remeasures: 0 }
                variants:
                \(variants ?? Self.fineTuneVariants(epochs: epochs))
                """
            grid = root.appendingPathComponent("grid.yaml")
            try text.write(to: grid, atomically: true, encoding: .utf8)
            store = root.appendingPathComponent("store")
        }

        static func fineTuneVariants(epochs: Int) -> String {
            """
              - { name: dense, techniques: [] }
              - name: finetuned
                train: { epochs: \(epochs), batch: 4, max_seq_len: 16, threads: 1, seed: 7, lr: 1.0e-3 }
                techniques: []
              - name: finetuned-int8
                train: { epochs: \(epochs), batch: 4, max_seq_len: 16, threads: 1, seed: 7, lr: 1.0e-3 }
                techniques: [{ name: quantization, mode: int8 }]
            """
        }

        func serve(log: String = "serve.log") throws -> Child {
            try Child(SweepProcessTests.frontier!, ["serve", grid.path, "--bind", endpoint, "--store", store.path,
                                                    "--lease-s", "3", "--exit-when-done"],
                      log: root.appendingPathComponent(log))
        }

        /// Runs the sweep with agent `a` (class cpu-a) and `b` (cpu-b) to its end; returns the logs.
        func runOnTwoClasses() throws -> String {
            let serve = try serve()
            defer { serve.stop() }
            let a = try agent("a", deviceClass: "cpu-a")
            defer { a.stop() }
            let b = try agent("b", deviceClass: "cpu-b")
            defer { b.stop() }
            let logs = { [serve, a, b].map { "\($0.log.lastPathComponent):\n\($0.output.suffix(3000))" }.joined(separator: "\n") }
            try #require(serve.wait(300), "the sweep did not finish in 300 s:\n\(logs())")
            #expect(serve.process.terminationStatus == 0, "\(logs())")
            return logs()
        }

        /// Bytes the coordinator holds of an upload in progress (nil: none in progress).
        func partialBytes() -> Int? {
            let folder = store.appendingPathComponent("artifacts/partial")
            let parts = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".part") }
            return parts.compactMap { try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent($0).path)[.size] as? Int }.max()
        }

        /// Waits until an upload is under way (some bytes held, not all).
        func waitForUpload(_ seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let bytes = partialBytes(), bytes > 0 { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }

        /// The sweep's end state: every trial done once, measurements never repeated, one
        /// artifact per stage whose file is what its hash names.
        func assertFinishedOnce(stages: Int, measurements: Int, _ logs: () -> String) throws {
            let s = try SweepStore(folder: store, readOnly: true)
            let trials = try s.storedTrials()
            #expect(trials.count == stages + measurements, "\(trials.map(\.trial.trialId))")
            #expect(trials.allSatisfy { $0.trial.state == .done }, "\(trials.map { ($0.trial.trialId, $0.trial.reasons) })\n\(logs())")
            #expect(try s.resultCounts().values.allSatisfy { $0 == 1 })
            for t in trials where !t.point.isTrainingStage {
                #expect(t.trial.attempt == 1, "\(t.trial.trialId) ran \(t.trial.attempt) times: \(t.trial.reasons)")
            }
            let artifacts = try s.artifacts()
            #expect(artifacts.count == stages)
            for row in artifacts {
                #expect(try ArtifactHash.ofFile(at: store.appendingPathComponent("artifacts/\(row.sha256)").path).hex == row.sha256)
            }
            let left = (try? FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("artifacts/partial").path)) ?? []
            #expect(left.filter { $0.hasSuffix(".part") }.isEmpty, "partial uploads left: \(left)")
        }

        func agent(_ name: String, deviceClass: String, log: String? = nil, extra: [String] = []) throws -> Child {
            try Child(CLI.agent!, ["connect", endpoint, "--agent-id", name, "--device-class", deviceClass,
                                   "--spool", root.appendingPathComponent("spool-\(name)").path,
                                   "--work", root.appendingPathComponent("work-\(name)").path, "--shared", root.path] + extra,
                      log: root.appendingPathComponent(log ?? "\(name).log"))
        }
    }

    @Test(.needsSweepBinaries) func aStageTrainsOnceAndItsCheckpointIsMeasuredOnEveryDeviceClass() throws {
        let p = try Pipeline()
        defer { try? FileManager.default.removeItem(at: p.root) }
        let logs = try p.runOnTwoClasses()
        // One stage, and the three points on each of the two classes.
        try p.assertFinishedOnce(stages: 1, measurements: 3 * 2, { logs })
        let s = try SweepStore(folder: p.store, readOnly: true)
        let trials = try s.storedTrials()
        let stage = try #require(trials.first { $0.point.isTrainingStage })
        #expect(stage.trial.attempt == 1, "the stage ran more than once: \(stage.trial.reasons)")

        // The artifact (one row, its file hashing to its name: checked above) is the stage's.
        let row = try #require(try s.artifacts().first)
        let file = p.store.appendingPathComponent("artifacts/\(row.sha256)")
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64 == row.size)
        let checkpoints = try s.stageArtifacts()
        #expect(checkpoints[stage.point.stageKey!]?.sha256 == row.sha256)

        // Each trained point was measured on the unpacked checkpoint, on each class.
        let trained = trials.filter { $0.point.variant.hasPrefix("finetuned") && !$0.point.isTrainingStage }
        #expect(Set(trained.map(\.trial.deviceClass)) == ["cpu-a", "cpu-b"])
        for t in trained {
            let json = try #require(t.resultJSON)
            #expect(json.contains("checkpoints/\(row.sha256)"), "\(t.trial.trialId) did not measure the trained checkpoint: \(json.prefix(400))")
        }
        let dense = try #require(trials.first { $0.point.variant == "dense" }?.resultJSON)
        #expect(!dense.contains("checkpoints/"))
    }

    /// Chaos: the agent training the stage is killed (SIGKILL: its trainer dies with it) after the
    /// first saved state; restarted with the same id and work folder, it gets the stage again
    /// and resumes from that state instead of starting over, and the sweep ends with every
    /// trial done once.
    @Test(.needsSweepBinaries) func anAgentKilledMidTrainingResumesTheStageWhenItReturns() throws {
        let p = try Pipeline(examples: 64, epochs: 150)
        defer { try? FileManager.default.removeItem(at: p.root) }
        let serve = try p.serve()
        defer { serve.stop() }
        var a = try p.agent("a", deviceClass: "cpu-a", extra: ["--stage-checkpoint-every", "20"])
        defer { a.stop() }
        let stages = p.root.appendingPathComponent("work-a/stages")
        func stateSaved() -> Bool {
            guard let keys = try? FileManager.default.contentsOfDirectory(atPath: stages.path) else { return false }
            return keys.contains { FileManager.default.fileExists(atPath: stages.appendingPathComponent("\($0)/checkpoint/.training-state").path) }
        }
        let deadline = Date().addingTimeInterval(120)
        while !stateSaved(), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        try #require(stateSaved(), "no training state was saved within 120 s:\n\(a.output.suffix(3000))")
        a.kill(SIGKILL)
        a.stop()
        let first = a.output
        a = try p.agent("a", deviceClass: "cpu-a", log: "a-again.log", extra: ["--stage-checkpoint-every", "20"])
        let logs = { "serve:\n\(serve.output.suffix(3000))\nfirst agent:\n\(first.suffix(2000))\nagain:\n\(a.output.suffix(3000))" }
        try #require(serve.wait(300), "the sweep did not finish in 300 s:\n\(logs())")
        #expect(serve.process.terminationStatus == 0, "\(logs())")

        let s = try SweepStore(folder: p.store, readOnly: true)
        let trials = try s.storedTrials()
        #expect(trials.allSatisfy { $0.trial.state == .done }, "\(trials.map { ($0.trial.trialId, $0.trial.reasons) })")
        #expect(try s.resultCounts().values.allSatisfy { $0 == 1 })
        let stage = try #require(trials.first { $0.point.isTrainingStage })
        #expect(stage.trial.attempt == 2, "\(stage.trial.reasons)")
        let result = try #require(try s.stageResults()[stage.point.stageKey!])
        // Resumed: two processes trained it, the second from a saved update.
        #expect(result.training.startSteps.count == 2 && result.training.startSteps[1] > 0, "\(result.training.startSteps)\n\(logs())")
        let row = try #require(try s.artifacts().first)
        #expect(try ArtifactHash.ofFile(at: p.store.appendingPathComponent("artifacts/\(row.sha256)").path).hex == row.sha256)
    }

    /// IMP levels as stages: level 0 (the dense fine-tune), then levels 1 and 2, each trained by
    /// `frontier-agent imp --level` from the level before it, which travels as an artifact; the
    /// two sparsities are measured on their levels on both device classes, and a `mask_from`
    /// stage fine-tunes another seed under level 2's mask. The search leaves the pooler dense
    /// (`pooler: dense` reaches the agent's `imp --pooler`): its mask stays all ones, and the
    /// other matrices carry the whole share.
    @Test(.needsSweepBinaries) func impLevelsChainAcrossTheFleetAndEachMaskPrunesItsShare() throws {
        let p = try Pipeline(variants: """
              - { name: dense, techniques: [] }
              - name: imp
                train: { epochs: 1, batch: 4, max_seq_len: 16, threads: 1, seed: 7, lr: 1.0e-3, imp: { sparsity: "${sparsity}", per_round: 0.25, pooler: dense } }
                axes: { sparsity: [0.25, 0.5] }
                techniques: [{ name: magnitude-pruning, sparsity: "${sparsity}", kernel: auto }]
              - name: ticket-other-seed
                train: { epochs: 1, batch: 4, max_seq_len: 16, threads: 1, seed: 8, lr: 1.0e-3, mask_from: imp }
                axes: { sparsity: [0.5] }
                techniques: [{ name: magnitude-pruning, sparsity: "${sparsity}", kernel: auto }]
            """)
        defer { try? FileManager.default.removeItem(at: p.root) }
        let output = try p.runOnTwoClasses()
        let logs = { output }
        // Stages: IMP levels 0–2 and the fine-tune under level 2's mask; each point on both classes.
        try p.assertFinishedOnce(stages: 4, measurements: 4 * 2, logs)
        let s = try SweepStore(folder: p.store, readOnly: true)
        let trials = try s.storedTrials()
        #expect(trials.filter(\.point.isTrainingStage).allSatisfy { $0.trial.attempt == 1 })
        // Each level's checkpoint carries its mask: a quarter, then half, of the prunable weights
        // (level 1's was fetched to train level 2, level 2's to measure it).
        var sparsities: Set<Double> = []
        var poolerMasks = 0
        for work in ["work-a", "work-b"] {
            let checkpoints = p.root.appendingPathComponent("\(work)/checkpoints")
            for sha in (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [] {
                let mask = checkpoints.appendingPathComponent("\(sha)/mask.safetensors")
                guard FileManager.default.fileExists(atPath: mask.path) else { continue }
                let file = try SafetensorsFile(url: mask)
                var zeros = 0, count = 0
                for name in file.tensorNames {
                    let v = try file.floats(name)
                    if name.contains("pooler") { poolerMasks += 1; #expect(v.allSatisfy { $0 == 1 }, "\(name) was pruned"); continue }
                    zeros += v.filter { $0 == 0 }.count; count += v.count
                }
                sparsities.insert((Double(zeros) / Double(count) * 100).rounded() / 100)
            }
        }
        #expect(sparsities == [0.25, 0.5], "\(sparsities)\n\(logs())")
        #expect(poolerMasks > 0, "no checkpoint's mask has the pooler")
        // Each imp point was measured on its own level's checkpoint.
        let checkpointOf = try s.stageArtifacts()
        for t in trials where t.point.variant != "dense" && !t.point.isTrainingStage {
            let key = try #require(t.point.inputs.first?.stage)
            let sha = try #require(checkpointOf[key]?.sha256)
            #expect(try #require(t.resultJSON).contains("checkpoints/\(sha)"), "\(t.trial.trialId)")
        }
    }

    /// Chaos: the agent uploading a stage's checkpoint is killed (SIGKILL) mid-upload (its
    /// uploads capped at 10 kB/s so that there is a middle). Back with the same id and work
    /// folder, it gets the stage again, packs the same file (the finished folder is not trained
    /// again) and the upload resumes at the bytes the coordinator holds.
    @Test(.needsSweepBinaries) func anAgentKilledMidUploadResumesTheUploadWhenItReturns() throws {
        let p = try Pipeline()
        defer { try? FileManager.default.removeItem(at: p.root) }
        let serve = try p.serve()
        defer { serve.stop() }
        var a = try p.agent("a", deviceClass: "cpu-a", extra: ["--artifact-rate-mb", "0.01"])
        defer { a.stop() }
        try #require(p.waitForUpload(120), "no upload started within 120 s:\n\(a.output.suffix(3000))")
        a.kill(SIGKILL)
        a.stop()
        let held = try #require(p.partialBytes())
        let first = a.output
        a = try p.agent("a", deviceClass: "cpu-a", log: "a-again.log")
        let logs = { "serve:\n\(serve.output.suffix(3000))\nfirst agent:\n\(first.suffix(2000))\nagain:\n\(a.output.suffix(3000))" }
        try #require(serve.wait(300), "the sweep did not finish in 300 s:\n\(logs())")
        #expect(serve.process.terminationStatus == 0, "\(logs())")
        try p.assertFinishedOnce(stages: 1, measurements: 3, logs)
        #expect(a.output.contains("the coordinator holds") && a.output.contains("resuming there"), "the upload started over (\(held) bytes were held):\n\(logs())")
        let stages = p.root.appendingPathComponent("work-a/stages")
        let key = try #require(try FileManager.default.contentsOfDirectory(atPath: stages.path).first)
        let trainerLog = try String(contentsOf: stages.appendingPathComponent("\(key)/finetune.log"), encoding: .utf8)
        #expect(trainerLog.contains("already finished"), "the restarted agent trained the finished stage again:\n\(trainerLog.suffix(2000))")
    }

    /// Chaos: the coordinator is killed (SIGKILL) while a checkpoint uploads, and restarted on
    /// the same store. The agent offers again and the upload completes (from the partial's last
    /// flushed length: 0 for this small file); the sweep ends with one artifact and every
    /// measurement run once per device class.
    @Test(.needsSweepBinaries) func aCoordinatorKilledMidUploadLosesNothing() throws {
        let p = try Pipeline()
        defer { try? FileManager.default.removeItem(at: p.root) }
        var serve = try p.serve()
        defer { serve.stop() }
        let a = try p.agent("a", deviceClass: "cpu-a", extra: ["--artifact-rate-mb", "0.01"])
        defer { a.stop() }
        try #require(p.waitForUpload(120), "no upload started within 120 s:\n\(a.output.suffix(3000))")
        serve.kill(SIGKILL)
        serve.process.waitUntilExit()
        let first = serve.output
        Thread.sleep(forTimeInterval: 1)
        serve = try p.serve(log: "serve-2.log")
        // The second class joins the restarted coordinator (joining earlier, it could take the
        // stage itself, uncapped, before the upload this test interrupts).
        let b = try p.agent("b", deviceClass: "cpu-b")
        defer { b.stop() }
        let logs = { "first serve:\n\(first.suffix(2000))\nserve:\n\(serve.output.suffix(3000))\na:\n\(a.output.suffix(3000))\nb:\n\(b.output.suffix(3000))" }
        try #require(serve.wait(300), "the resumed sweep did not finish in 300 s:\n\(logs())")
        #expect(serve.process.terminationStatus == 0, "\(logs())")
        try p.assertFinishedOnce(stages: 1, measurements: 3 * 2, logs)
    }
}
