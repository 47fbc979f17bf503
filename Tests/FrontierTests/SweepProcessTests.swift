import Foundation
import Testing
@testable import FrontierStore


/// Whole sweeps as an operator runs them: `frontier serve` and several `frontier-agent connect`
/// processes on loopback, real trials on a tiny checkpoint, and processes killed with SIGKILL
/// at the worst moment. In the end every grid point has exactly one accepted result.
@Suite(.serialized) struct SweepProcessTests {
    typealias CLI = AgentCommandLineTests

    static var frontier: URL? {
        guard let agent = CLI.agent else { return nil }
        let url = agent.deletingLastPathComponent().appendingPathComponent("frontier")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }


    /// A started child with its output collected in a file (never a pipe nobody reads).
    final class Child {
        let process = Process()
        let log: URL
        init(_ executable: URL, _ arguments: [String], log: URL, environment: [String: String]? = nil) throws {
            self.log = log
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.executableURL = executable
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            if let environment { process.environment = environment }
            try process.run()
        }
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        func kill(_ signal: Int32) { Foundation.kill(process.processIdentifier, signal) }
        /// Waits up to `seconds`; true when it exited.
        func wait(_ seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            return !process.isRunning
        }
        func stop() {
            if process.isRunning { kill(SIGKILL) }
            process.waitUntilExit()
        }
    }

    struct Sweep {
        let root: URL
        let grid: URL
        let store: URL
        let port: Int
        let points: Int
        var endpoint: String { "tcp://127.0.0.1:\(port)" }

        /// `variants` technique pipelines over a tiny model, each trial ~`seconds` long.
        init(variants: Int = 6, seconds: Double = 1.0) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-sweep-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let model = try CLI.tinyCheckpoint()
            let all = [
                "- { name: dense, techniques: [] }",
                "- { name: m50, techniques: [{ name: magnitude-pruning, sparsity: 0.5 }] }",
                "- { name: m70, techniques: [{ name: magnitude-pruning, sparsity: 0.7 }] }",
                "- { name: m90, techniques: [{ name: magnitude-pruning, sparsity: 0.9 }] }",
                "- { name: int8, techniques: [{ name: quantization, mode: int8 }] }",
                "- { name: fp16, techniques: [{ name: quantization, mode: fp16 }] }",
                "- { name: bf16, techniques: [{ name: quantization, mode: bf16 }] }",
                "- { name: m80, techniques: [{ name: magnitude-pruning, sparsity: 0.8 }] }",
            ]
            points = variants
            let text = """
                name: process-test
                data_root: \(RunCommandTests.glue)
                tasks: [SST-2]
                models: [\(model.path)]
                placement: every-device-class
                measurement:
                  batch: 4
                  threads: 1
                  min_duration_s: \(seconds / 2)
                  idle_baseline_s: 0
                  single_stream_min_queries: 8
                  warmup_queries: 1
                  timeout_s: 60
                  energy: { meter: estimated }
                  # Protocol, not measurement: the rest of the suite loads this machine, and
                  # re-measuring disturbed windows would only stretch the timings under test.
                  interference: { max_remeasures: 0 }
                variants:
                \(all.prefix(variants).map { "  " + $0 }.joined(separator: "\n"))
                """
            grid = root.appendingPathComponent("grid.yaml")
            try text.write(to: grid, atomically: true, encoding: .utf8)
            store = root.appendingPathComponent("store")
            port = LoopbackPort.free()
        }

        func serve(_ extra: [String] = [], log: String = "serve.log") throws -> Child {
            try Child(SweepProcessTests.frontier!, ["serve", grid.path, "--bind", endpoint, "--store", store.path,
                                                    "--lease-s", "2", "--exit-when-done"] + extra,
                      log: root.appendingPathComponent(log))
        }

        func agent(_ name: String) throws -> Child {
            try Child(CLI.agent!, ["connect", endpoint, "--agent-id", name, "--device-class", "test-cpu",
                                   "--spool", root.appendingPathComponent("spool-\(name)").path],
                      log: root.appendingPathComponent("\(name).log"))
        }

        /// Polls the store until `condition` holds or `seconds` pass.
        func until(_ seconds: Double, _ condition: (SweepStore) throws -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let s = try? SweepStore(folder: store, readOnly: true), (try? condition(s)) == true { return true }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return false
        }

        func assertExactlyOnce(_ children: [Child], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let s = try SweepStore(folder: store, readOnly: true)
            let counts = try s.counts()
            let logs = children.map { "\($0.log.lastPathComponent):\n\($0.output.suffix(1500))" }.joined(separator: "\n")
            #expect(counts.total == points, "\(counts)\n\(logs)", sourceLocation: sourceLocation)
            #expect(counts.done == points, "\(counts)\n\(logs)", sourceLocation: sourceLocation)
            let results = try s.resultCounts()
            #expect(results.count == points, sourceLocation: sourceLocation)
            #expect(results.values.allSatisfy { $0 == 1 }, sourceLocation: sourceLocation)
        }
    }

    @Test(.needsSweepBinaries) func anAgentKilledMidTrialHasItsTrialRerunElsewhere() throws {
        let sweep = try Sweep(variants: 6, seconds: 1.5)
        defer { try? FileManager.default.removeItem(at: sweep.root) }
        let serve = try sweep.serve()
        let agents = try ["a1", "a2", "a3"].map { try sweep.agent($0) }
        defer { ([serve] + agents).forEach { $0.stop() } }
        // Wait until a1 holds a trial, then kill it without warning.
        var victim: String?
        let leased = sweep.until(60) { s in
            victim = try s.trials().first { $0.state == .leased && $0.agentId == "a1" }?.trialId
            return victim != nil
        }
        #expect(leased, "a1 never got a trial:\n\(agents[0].output)\n\(serve.output)")
        agents[0].kill(SIGKILL)
        try #require(serve.wait(120), "the sweep did not finish:\n\(serve.output)")
        #expect(serve.process.terminationStatus == 0, "\(serve.output)")
        try sweep.assertExactlyOnce([serve] + agents)
        let s = try SweepStore(folder: sweep.store, readOnly: true)
        let moved = try #require(try s.storedTrials().first { $0.trial.trialId == victim })
        #expect(moved.resultAgentId != "a1")
        #expect(moved.trial.reasons.contains { $0.contains("lease expired") }, "\(moved.trial.reasons)")
        for agent in agents.dropFirst() {
            try #require(agent.wait(30), "\(agent.output)")
            #expect(agent.process.terminationStatus == 0, "\(agent.output)")
        }
    }

    @Test(.needsSweepBinaries) func aCoordinatorKilledAndRestartedLosesAndRepeatsNothing() throws {
        let sweep = try Sweep(variants: 6, seconds: 1.0)
        defer { try? FileManager.default.removeItem(at: sweep.root) }
        var serve = try sweep.serve()
        let agents = try ["b1", "b2"].map { try sweep.agent($0) }
        defer { ([serve] + agents).forEach { $0.stop() } }
        var doneBefore: Set<String> = []
        #expect(sweep.until(90) { s in
            doneBefore = Set(try s.trials().filter { $0.state == .done }.map(\.trialId))
            return doneBefore.count >= 2
        }, "no results:\n\(serve.output)")
        serve.kill(SIGKILL)
        serve.process.waitUntilExit()
        let first = serve
        // Agents finish their trials meanwhile and spool the results.
        Thread.sleep(forTimeInterval: 1.5)
        serve = try sweep.serve(log: "serve-2.log")
        try #require(serve.wait(150), "the resumed sweep did not finish:\n\(serve.output)")
        #expect(serve.output.contains("resuming"), "\(serve.output)")
        try sweep.assertExactlyOnce([first, serve] + agents)
        // What was done before the kill was never run again.
        let s = try SweepStore(folder: sweep.store, readOnly: true)
        for stored in try s.storedTrials() where doneBefore.contains(stored.trial.trialId) {
            #expect(stored.trial.attempt == 1)
        }
    }

    @Test(.needsSweepBinaries) func aBadGridIsANamedErrorAndStartsNothing() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-badgrid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let grid = root.appendingPathComponent("bad.yaml")
        try "name: bad\ndata_root: /d\ntasks: [SST-2]\nmodels: [m]\nvariants:\n  - name: x\n    techniques: [{ name: magnitude-pruning, sparsity: lots }]\n"
            .write(to: grid, atomically: true, encoding: .utf8)
        let serve = try Child(Self.frontier!, ["serve", grid.path, "--store", root.appendingPathComponent("s").path],
                              log: root.appendingPathComponent("log"))
        try #require(serve.wait(20))
        #expect(serve.process.terminationStatus == 64)
        #expect(serve.output.contains("bad.yaml:7:"), "\(serve.output)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("s/frontier.sqlite").path))
    }

    @Test(.needsSweepBinaries) func aPlainBindOffLoopbackIsRefused() throws {
        let sweep = try Sweep(variants: 1)
        defer { try? FileManager.default.removeItem(at: sweep.root) }
        let serve = try Child(Self.frontier!, ["serve", sweep.grid.path, "--bind", "tcp://0.0.0.0:\(sweep.port)",
                                               "--store", sweep.store.path], log: sweep.root.appendingPathComponent("log"))
        try #require(serve.wait(20))
        #expect(serve.process.terminationStatus == 64)
        #expect(serve.output.contains("--keys"), "\(serve.output)")
    }
}
