import Foundation
import Testing


/// The coordinator against an agent written from proto/frontier.proto alone: a Python process
/// (`Tests/python/outside_agent.py`, pyzmq and protoc-generated classes) that plays an honest
/// agent and a forger side by side. The coordinator must refuse every forged, late, malformed
/// or mis-identified message with the reason the proto names, and still finish the sweep with
/// exactly one result per trial, from the agent that held its lease.
///
/// The script prints `PASS name` / `FAIL name: why` per check and exits non-zero on any FAIL;
/// its whole output is in the failure message. Every process started here is killed by its
/// PID if it outlives its bound.
@Suite(.serialized) struct OutsideAgentTests {
    typealias Child = SweepProcessTests.Child

    struct Setup {
        let root: URL
        /// Where the coordinator listens: it binds port 0 (`*`) and says which port it got, so no
        /// other test's socket can take the port between choosing it and binding it.
        var store: URL { root.appendingPathComponent("store") }
        var pb2: URL { root.appendingPathComponent("pb2") }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-outside-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try PythonWire.generate(into: pb2)
        }

        /// An SST-2 grid of `variants` points, placement `any`. The coordinator never opens the
        /// model, so its folder is an empty one.
        func grid(variants: Int) throws -> URL {
            let model = root.appendingPathComponent("model")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            let all = ["- { name: dense, techniques: [] }",
                       "- { name: m50, techniques: [{ name: magnitude-pruning, sparsity: 0.5 }] }",
                       "- { name: m70, techniques: [{ name: magnitude-pruning, sparsity: 0.7 }] }",
                       "- { name: m90, techniques: [{ name: magnitude-pruning, sparsity: 0.9 }] }"]
            let text = """
                name: outside-agent
                data_root: \(RunCommandTests.glue)
                tasks: [SST-2]
                models: [\(model.path)]
                placement: any
                measurement:
                  batch: 4
                  threads: 1
                  limit: 8
                  min_duration_s: 0.1
                  idle_baseline_s: 0
                  timeout_s: 60
                  energy: { meter: estimated }
                  # Protocol, not measurement: the rest of the suite loads this machine, and
                  # re-measuring disturbed windows would only stretch the timings under test.
                  interference: { max_remeasures: 0 }
                variants:
                \(all.prefix(variants).map { "  " + $0 }.joined(separator: "\n"))
                """
            let url = root.appendingPathComponent("grid.yaml")
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        func serve(_ grid: URL, _ extra: [String] = []) throws -> (Child, String) {
            let serve = try Child(SweepProcessTests.frontier!, ["serve", grid.path, "--bind", "tcp://127.0.0.1:*", "--store", store.path,
                                                                "--lease-s", "2", "--exit-when-done"] + extra,
                                  log: root.appendingPathComponent("serve.log"))
            // Agents may connect before the bind (ZeroMQ retries); waiting only makes logs tidier.
            let deadline = Date().addingTimeInterval(30)
            while serve.process.isRunning, !serve.output.contains("listening on tcp://"), Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            let line = serve.output.split(separator: "\n").first { $0.contains("listening on tcp://") }
            let endpoint = line.flatMap { text in text.range(of: "tcp://").map { String(text[$0.lowerBound...]) } }
            return (serve, try #require(endpoint, "frontier serve did not say where it listens:\n\(serve.output)"))
        }

        /// Runs the outside agent to its end (killed after `seconds`); its status and output.
        func python(_ arguments: [String], log: String, seconds: Double = 300) throws -> (status: Int32, output: String) {
            let child = try Child(PythonWire.python!, ["-u", PythonWire.script.path, "--pb2-dir", pb2.path,
                                                       "--deadline-s", "\(Int(seconds - 20))"] + arguments,
                                  log: root.appendingPathComponent(log))
            if !child.wait(seconds) { child.stop() }
            child.process.waitUntilExit()
            return (child.process.terminationStatus, child.output)
        }

        func keygen(_ dir: URL, _ name: String) throws {
            let child = try Child(SweepProcessTests.frontier!, ["keygen", "--out", dir.path, "--name", name],
                                  log: root.appendingPathComponent("keygen-\(name).log"))
            if !child.wait(30) { child.stop() }
            try #require(child.process.terminationStatus == 0, "frontier keygen \(name): \(child.output)")
        }
    }

    /// Waits for the coordinator (`--exit-when-done`) to end, then checks its status and the
    /// store through the script's `verify-store` (exactly one result per trial, from the
    /// expected agent and attempt).
    func finish(_ setup: Setup, _ serve: Child) throws {
        let exited = serve.wait(30)
        serve.stop()
        #expect(exited, "the coordinator did not exit after the sweep:\n\(serve.output.suffix(4000))")
        if exited {
            #expect(serve.process.terminationStatus == 0, "frontier serve exited \(serve.process.terminationStatus):\n\(serve.output.suffix(4000))")
        }
        let expect = setup.root.appendingPathComponent("expect.json")
        guard FileManager.default.fileExists(atPath: expect.path) else { return }
        let verify = try setup.python(["verify-store", "--store", setup.store.path, "--expect", expect.path],
                                      log: "verify.log", seconds: 60)
        #expect(verify.status == 0, "store checks:\n\(verify.output)\nserve.log:\n\(serve.output.suffix(4000))")
    }

    @Test(.needsSweepBinaries, .needsPythonWire)
    func forgedLateAndMalformedResultsAreRefusedAndTheSweepFinishes() throws {
        let setup = try Setup()
        defer { try? FileManager.default.removeItem(at: setup.root) }
        // Nine malformed results each end an attempt, and a retried trial may be handed out
        // again first, so all nine can land on one trial: --max-attempts leaves room for that.
        let (serve, endpoint) = try setup.serve(try setup.grid(variants: 4), ["--max-attempts", "12"])
        defer { serve.stop() }
        let agent = try setup.python(["loopback", "--endpoint", endpoint, "--store", setup.store.path,
                                      "--lease-s", "2", "--expect-out", setup.root.appendingPathComponent("expect.json").path],
                                     log: "agent.log")
        #expect(agent.status == 0, "outside agent (loopback):\n\(agent.output)\nserve.log:\n\(serve.output.suffix(6000))")
        try finish(setup, serve)
    }

    @Test(.needsSweepBinaries, .needsPythonWire)
    func underCurveAnAgentIdIsBoundToItsKey() throws {
        let setup = try Setup()
        defer { try? FileManager.default.removeItem(at: setup.root) }
        let keys = setup.root.appendingPathComponent("keys")
        let coordinator = keys.appendingPathComponent("coordinator")
        try setup.keygen(coordinator, "coordinator")
        for name in ["node7", "victim3"] {
            try setup.keygen(keys.appendingPathComponent(name), name)
            try FileManager.default.createDirectory(at: coordinator.appendingPathComponent("authorized"),
                                                    withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: keys.appendingPathComponent("\(name)/\(name).pub"),
                                             to: coordinator.appendingPathComponent("authorized/\(name).pub"))
        }
        let (serve, endpoint) = try setup.serve(try setup.grid(variants: 1), ["--keys", coordinator.path])
        defer { serve.stop() }
        let agent = try setup.python(["curve", "--endpoint", endpoint,
                                      "--server-key", coordinator.appendingPathComponent("coordinator.pub").path,
                                      "--key-dir", keys.appendingPathComponent("node7").path, "--key-name", "node7",
                                      "--agent-id", "node7", "--refused-id", "victim3",
                                      "--expect-out", setup.root.appendingPathComponent("expect.json").path],
                                     log: "agent.log", seconds: 120)
        #expect(agent.status == 0, "outside agent (curve):\n\(agent.output)\nserve.log:\n\(serve.output.suffix(6000))")
        try finish(setup, serve)
    }
}
