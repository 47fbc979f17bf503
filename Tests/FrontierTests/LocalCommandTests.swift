import Foundation
import Testing
@testable import FrontierStore


/// `frontier local` as a script sees it: how fast a broken grid fails, and what the exit status
/// says about how a sweep ended (see `frontier local --help`).
@Suite(.serialized) struct LocalCommandTests {
    typealias Child = SweepProcessTests.Child
    typealias CLI = AgentCommandLineTests

    struct Local {
        let root: URL
        let grid: URL
        var store: URL { root.appendingPathComponent("store") }

        /// A grid over the tiny checkpoint (or `model`) with `variants` (YAML list items).
        init(model: String? = nil, variants: [String], seconds: Double = 0.3) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-local-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let modelPath = try model ?? CLI.tinyCheckpoint().path
            let text = """
                name: local-test
                data_root: \(RunCommandTests.glue)
                tasks: [SST-2]
                models: ["\(modelPath)"]
                measurement:
                  batch: 4
                  threads: 1
                  min_duration_s: \(seconds)
                  idle_baseline_s: 0
                  single_stream_min_queries: 8
                  warmup_queries: 1
                  timeout_s: 60
                  energy: { meter: estimated }
                  # Protocol, not measurement: the rest of the suite loads this machine, and
                  # re-measuring disturbed windows would only stretch the timings under test.
                  interference: { max_remeasures: 0 }
                variants:
                \(variants.map { "  " + $0 }.joined(separator: "\n"))
                """
            grid = root.appendingPathComponent("grid.yaml")
            try text.write(to: grid, atomically: true, encoding: .utf8)
        }

        func run(_ extra: [String] = []) throws -> Child {
            try Child(SweepProcessTests.frontier!, ["local", grid.path, "--store", store.path, "--no-report",
                                                    "--device-class", "test-cpu", "--shared", root.path] + extra,
                      log: root.appendingPathComponent("local.log"))
        }
    }

    @Test(.needsSweepBinaries) func aMissingModelFailsInSecondsNamingThePath() throws {
        let missing = "/nonexistent-frontier-models/gone"
        let local = try Local(model: missing, variants: ["- { name: dense, techniques: [] }"])
        defer { try? FileManager.default.removeItem(at: local.root) }
        let started = Date()
        let child = try local.run()
        defer { child.stop() }
        try #require(child.wait(10), "frontier local still running after 10 s:\n\(child.output)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(child.process.terminationStatus == 64, "\(child.output)")
        #expect(child.output.contains("\(missing): model folder not found"), "\(child.output)")
        // Nothing started: no store, no agents.
        #expect(!FileManager.default.fileExists(atPath: local.store.appendingPathComponent("frontier.sqlite").path))
    }

    @Test(.needsSweepBinaries) func aFailedTrialMakesStatus1AndADeterministicOneRunsOnce() throws {
        // RAPL under a sysfs root that does not exist: the worker's own code reports the error
        // (exit 1), so the trial fails at once instead of three times.
        let local = try Local(variants: [
            "- { name: dense, techniques: [] }",
            "- { name: no-meter, techniques: [{ name: quantization, mode: int8 }], "
                + "measurement: { energy: { meter: rapl, sysfs_root: /nonexistent-frontier-sysfs } } }",
        ])
        defer { try? FileManager.default.removeItem(at: local.root) }
        let child = try local.run()
        defer { child.stop() }
        try #require(child.wait(180), "the sweep did not finish:\n\(child.output)")
        #expect(child.process.terminationStatus == 1, "\(child.output)")
        let store = try SweepStore(folder: local.store, readOnly: true)
        let trials = try store.storedTrials()
        let failed = try #require(trials.first { $0.point.variant == "no-meter" }?.trial)
        #expect(failed.state == .failed)
        #expect(failed.attempt == 1 && failed.reasons.count == 1, "\(failed.reasons)")
        #expect(trials.first { $0.point.variant == "dense" }?.trial.state == .done)
        #expect(child.output.contains("not retried"), "\(child.output)")
    }

    @Test(.needsSweepBinaries) func allTrialsOkIsStatus0() throws {
        let local = try Local(variants: ["- { name: dense, techniques: [] }"])
        defer { try? FileManager.default.removeItem(at: local.root) }
        let child = try local.run()
        defer { child.stop() }
        try #require(child.wait(120), "the sweep did not finish:\n\(child.output)")
        #expect(child.process.terminationStatus == 0, "\(child.output)")
        #expect(child.output.contains("preflight ok"), "\(child.output)")
    }

    @Test(.needsSweepBinaries) func ctrlCSavesWritesTheReportAndExits130() throws {
        let local = try Local(variants: [
            "- { name: dense, techniques: [] }",
            "- { name: m50, techniques: [{ name: magnitude-pruning, sparsity: 0.5 }] }",
            "- { name: m90, techniques: [{ name: magnitude-pruning, sparsity: 0.9 }] }",
        ], seconds: 2)
        defer { try? FileManager.default.removeItem(at: local.root) }
        let child = try Child(SweepProcessTests.frontier!, ["local", local.grid.path, "--store", local.store.path,
                                                            "--device-class", "test-cpu"],
                              log: local.root.appendingPathComponent("local.log"))
        defer { child.stop() }
        // Interrupt once a trial runs.
        let deadline = Date().addingTimeInterval(60)
        var running = false
        while !running, Date() < deadline, child.process.isRunning {
            if let s = try? SweepStore(folder: local.store, readOnly: true) {
                running = (try? s.trials().contains { $0.state == .leased }) == true
            }
            if !running { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(running, "no trial started:\n\(child.output)")
        child.kill(SIGINT)
        try #require(child.wait(60), "frontier local did not stop after SIGINT:\n\(child.output)")
        #expect(child.process.terminationStatus == 130, "\(child.output)")
        #expect(FileManager.default.fileExists(atPath: local.store.appendingPathComponent("report/index.html").path),
                "\(child.output)")
        #expect(child.output.contains("stopping (SIGINT)"), "\(child.output)")
    }
}
