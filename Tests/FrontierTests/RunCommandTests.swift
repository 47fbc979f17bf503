import Foundation
import Testing


/// `frontier-agent run` as a user or the sweep agent runs it: a real trial in a worker
/// process on a tiny checkpoint and the fixture SST-2 file, and every way a worker can go
/// wrong ending as a `failed` result while the agent process itself finishes normally.
@Suite(.serialized) struct RunCommandTests {
    static let glue = SharedData.packageRoot.appendingPathComponent("Tests/FrontierTests/Fixtures/glue").path

    typealias CLI = AgentCommandLineTests

    func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }

    func quickTrial(_ model: URL, _ extra: [String]) -> [String] {
        ["run", "--model", model.path, "--task", "SST-2", "--data", Self.glue, "--idle-seconds", "0.2",
         "--min-duration", "0.2", "--single-stream-queries", "20", "--warmup", "2"] + extra
    }

    @Test(.needsAgentBinary) func estimatedTrialReportsEnergyLatencyThroughputAndMemory() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let run = try CLI.run(quickTrial(model, ["--energy", "estimated", "--watts-per-core", "8", "--idle-watts", "3", "--trial-id", "t1"]))
        #expect(run.status == 0, "\(run.stderr)")
        let result = try json(run.stdout)
        #expect(result["status"] as? String == "ok")
        #expect(result["trial_id"] as? String == "t1")
        #expect(result["energy_source"] as? String == "estimated")
        let energy = try #require(result["energy"] as? [String: Any])
        let estimate = try #require(energy["estimate"] as? [String: Any])
        #expect(estimate["watts_per_core"] as? Double == 8)
        #expect(estimate["idle_watts"] as? Double == 3)
        #expect((energy["gross_j"] as? Double ?? 0) > 0)
        #expect(energy["net_j"] != nil, "an idle baseline was measured, so net energy is reported")
        #expect((result["energy_j_per_example"] as? Double ?? 0) > 0)
        #expect(result["energy_j_per_correct"] != nil)
        let metrics = try #require(result["metrics"] as? [String: Any])
        #expect(metrics["accuracy"] != nil)
        for key in ["latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "throughput_examples_per_s", "peak_rss_mb", "flops_per_example"] {
            #expect((result[key] as? Double ?? 0) > 0, "\(key)")
        }
        #expect((result["model_file_bytes"] as? Int ?? 0) > 0)
        let offline = try #require(result["offline"] as? [String: Any])
        #expect((offline["passes"] as? Int ?? 0) >= 1)
        #expect((offline["seconds"] as? Double ?? 0) >= 0.2)
        let single = try #require(result["single_stream"] as? [String: Any])
        #expect((single["queries"] as? Int ?? 0) >= 20)
        let device = try #require(result["device"] as? [String: Any])
        #expect((device["device_class"] as? String)?.isEmpty == false)
        #expect(device["threads_used"] as? Int == 1)
        let worker = try #require(result["worker"] as? [String: Any])
        #expect(worker["exit_code"] as? Int == 0)
        #expect(run.stderr.contains("worker"), "progress goes to stderr")
    }

    /// A RAPL tree whose counters never move: the window is extended up to max-duration and
    /// the per-example energy is left out with a note — never reported as 0 J.
    @Test(.needsAgentBinary) func meterThatNeverMovesIsNotReportedAsZero() throws {
        let model = try CLI.tinyCheckpoint()
        let tree = try FakeSysfsTree()
        try tree.raplZone("intel-rapl:0", name: "package-0", energy: 5_000_000)
        defer { try? FileManager.default.removeItem(at: model) }
        let run = try CLI.run(quickTrial(model, ["--sysfs-root", tree.root.path, "--scenario", "offline", "--max-duration", "2",
                                                 "--idle-seconds", "0"]))
        #expect(run.status == 0, "\(run.stderr)")
        let result = try json(run.stdout)
        #expect(result["energy_source"] as? String == "rapl")
        #expect(result["energy_j_per_example"] == nil)
        let offline = try #require(result["offline"] as? [String: Any])
        #expect(offline["extended_for_resolution"] as? Bool == true)
        #expect((offline["seconds"] as? Double ?? 0) >= 2)
        let notes = (result["energy"] as? [String: Any])?["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("package-0 read 0 J") }, "\(notes)")
    }

    @Test(.needsAgentBinary) func timeoutKillsTheWorkerAndIsAFailedResult() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let run = try CLI.run(quickTrial(model, ["--energy", "estimated", "--min-duration", "60", "--max-duration", "60", "--timeout", "1.5"]))
        #expect(run.status == 1)
        let result = try json(run.stdout)
        #expect(result["status"] as? String == "failed")
        #expect((result["failure_reason"] as? String)?.contains("timed out after 1.5 s") == true, "\(result["failure_reason"] ?? "")")
        #expect((result["worker"] as? [String: Any])?["signal"] as? Int == 9)
    }

    @Test(.needsAgentBinary) func exhaustingTheMemoryLimitIsAFailedResult() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let run = try CLI.run(quickTrial(model, ["--energy", "estimated", "--memory-limit-mb", "2"]))
        #expect(run.status == 1)
        let result = try json(run.stdout)
        #expect(result["status"] as? String == "failed")
        #expect((result["failure_reason"] as? String)?.contains("exceeded the memory limit") == true, "\(result["failure_reason"] ?? "")")
    }

    /// Another process SIGKILLs the worker mid-trial (as the OOM killer would).
    @Test(.needsAgentBinary) func workerKilledMidTrialIsAFailedResult() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let process = Process()
        process.executableURL = CLI.agent
        process.arguments = quickTrial(model, ["--energy", "estimated", "--min-duration", "60", "--max-duration", "60", "--idle-seconds", "0"])
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        var stderr = Data()
        var killed: Int32?
        let deadline = Date().addingTimeInterval(30)
        while killed == nil, Date() < deadline {
            let chunk = error.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            stderr += chunk
            let text = String(decoding: stderr, as: UTF8.self)
            // Kill once the worker is measuring, not while it starts.
            if text.contains("offline: pass"), let line = text.split(separator: "\n").first(where: { $0.contains("worker ") && $0.hasSuffix(" started") }),
               let pid = Int32(line.split(separator: " ").dropLast().last ?? "") {
                kill(pid, SIGKILL)
                killed = pid
            }
        }
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = error.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        #expect(killed != nil, "never saw the worker start: \(String(decoding: stderr, as: UTF8.self))")
        #expect(process.terminationStatus == 1)
        let result = try json(String(decoding: out, as: UTF8.self))
        #expect(result["status"] as? String == "failed")
        #expect((result["failure_reason"] as? String)?.contains("SIGKILL") == true, "\(result["failure_reason"] ?? "")")
    }

    @Test(.needsAgentBinary) func workerErrorsBecomeFailedResultsNamingTheProblem() throws {
        let missing = "/nonexistent/frontier-model-\(UUID().uuidString)"
        let run = try CLI.run(["run", "--model", missing, "--task", "SST-2", "--data", Self.glue, "--energy", "estimated", "--idle-seconds", "0"])
        #expect(run.status == 1)
        let result = try json(run.stdout)
        #expect(result["status"] as? String == "failed")
        #expect((result["failure_reason"] as? String)?.contains(missing) == true)
    }

    @Test(.needsAgentBinary) func specFileErrorsNameTheFileAndKey() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try #"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"min_duraton_s": 3}}"#.write(to: file, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", "--spec", file.path])
        #expect(run.status != 0 && run.status != 1)
        #expect(run.stderr.contains(file.path) && run.stderr.contains("unknown key 'measurement.min_duraton_s'"), "\(run.stderr)")

        let mixed = try CLI.run(["run", "--spec", file.path, "--model", "m"])
        #expect(mixed.stderr.contains("don't also pass --model"))
        let none = try CLI.run(["run"])
        #expect(none.stderr.contains("--spec FILE, or --model, --task and --data"))
    }

    @Test(.needsAgentBinary) func specFromStdinRuns() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let spec = """
            {"model": "\(model.path)", "task": "sst2", "data": "\(Self.glue)", "batch": 2, "device_class": "lab-bench",
             "measurement": {"scenarios": ["offline"], "min_duration_s": 0.1, "idle_baseline_s": 0, "energy": {"meter": "estimated"}}}
            """
        let run = try CLI.run(["run", "--spec", "-"], stdin: Data(spec.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let result = try json(run.stdout)
        #expect(result["task"] as? String == "SST-2")
        #expect(result["single_stream"] == nil && result["latency_p50_ms"] == nil)
        #expect((result["configuration"] as? [String: Any])?["batch"] as? Int == 2)
        let device = try #require(result["device"] as? [String: Any])
        #expect(device["device_class"] as? String == "lab-bench")
        #expect(device["device_class_source"] as? String == "override")
    }

    @Test(.needsAgentBinary) func techniqueFlagsChangeTheModelAndAreRecorded() throws {
        let model = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let run = try CLI.run(quickTrial(model, ["--energy", "estimated", "--scenario", "offline", "--sparsity", "0.5", "--keep-layers", "1",
                                                 "--prune-ffn", "0.25"]))
        #expect(run.status == 0, "\(run.stderr)")
        let result = try json(run.stdout)
        let techniques = try #require(result["techniques"] as? [String: Any])
        #expect(techniques["layers"] as? Int == 1)
        #expect((techniques["techniques"] as? [String])?.first == "magnitude-pruning(sparsity=0.5)")
        let parameters = try #require(result["parameter_count"] as? Int), nonZero = try #require(result["non_zero_parameter_count"] as? Int)
        #expect(nonZero < parameters)
        let configuration = try #require(result["configuration"] as? [String: Any])
        #expect((configuration["techniques"] as? [Any])?.count == 3)
    }
}
