import Foundation
import Testing
@testable import FrontierEngine
import FrontierSupport
@testable import FrontierTraining

/// `frontier-agent finetune` as a user runs it: killed with SIGKILL mid-epoch and run again,
/// it ends with the bytes of a run that was never killed; another command against its state
/// is refused (64) naming the difference; a finished folder run again exits 0; a non-finite
/// loss exits 1 naming the update, leaving the last state.
@Suite(.serialized) struct FineTuneRecoveryTests {
    /// A base, the SST-2 fixture and the arguments of a run long enough to be killed part-way
    /// (about 2,000 updates of batch 1 on the tiny model, a state every 150).
    static func setUp(_ root: URL) throws -> (base: URL, data: URL, arguments: (URL) -> [String]) {
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root, examples: 400)
        let arguments = { (out: URL) in
            ["finetune", "--base", base.path, "--task", "SST-2", "--data", data.path, "--out", out.path, "--regime", "full",
             "--epochs", "5", "--batch", "1", "--max-seq-len", "16", "--lr", "1e-3", "--warmup-ratio", "0.06", "--seed", "11",
             "--threads", "2", "--checkpoint-every", "150", "--eval-every", "1000", "--energy", "estimated"]
        }
        return (base, data, arguments)
    }

    /// Starts the agent with output going to files (nothing to drain), returns the process.
    static func start(_ arguments: [String], logs: URL) throws -> Process {
        let process = Process()
        process.executableURL = AgentCommandLineTests.agent
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: logs.path + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: logs.path + ".err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logs.path + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logs.path + ".err"))
        try process.run()
        return process
    }

    @Test(.needsAgentBinary) func killedRunResumesToTheBytesOfAnUninterruptedOne() throws {
        let root = try FineTuneFixtures.folder("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        let (_, _, arguments) = try Self.setUp(root)
        let whole = root.appendingPathComponent("whole"), killed = root.appendingPathComponent("killed")

        let uninterrupted = try AgentCommandLineTests.run(arguments(whole))
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        // Killed once its first state is on disk, well before the end.
        let process = try Self.start(arguments(killed), logs: root.appendingPathComponent("first"))
        let manifest = killed.appendingPathComponent(".training-state/state.json")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: manifest.path), process.isRunning, Date() < deadline { usleep(2_000) }
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(wasRunning && process.terminationReason == .uncaughtSignal, "the run ended before it could be killed")
        let saved = try #require(try TrainingStateStore(output: killed).loadManifest())
        #expect(saved.step >= 150 && saved.step < saved.totalSteps, "killed after update \(saved.step) of \(saved.totalSteps)")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("model.safetensors").path))

        let resumed = try AgentCommandLineTests.run(arguments(killed))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming from the state in"), "\(resumed.stderr)")
        let a = try Data(contentsOf: whole.appendingPathComponent("model.safetensors"))
        let b = try Data(contentsOf: killed.appendingPathComponent("model.safetensors"))
        #expect(a == b, "the resumed run's model.safetensors differs from the uninterrupted run's")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent(".training-state").path), "the state is removed once the folder is written")

        let record = try JSONCoding.decoder.decode(FineTuneRecord.self, from: Data(contentsOf: killed.appendingPathComponent("training.json")))
        #expect(record.segments.map(\.fromStep) == [0, saved.step] && record.lossCurve.count == record.schedule.totalSteps)
        #expect(record.energy?.source == "estimated" && (record.energy?.trainingJ ?? 0) > 0 && record.peakRssMb != nil)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect(summary["start_steps"] as? [Int] == [0, saved.step] && summary["status"] as? String == "finished")

        // The same command once more: nothing to do.
        let again = try AgentCommandLineTests.run(arguments(killed))
        #expect(again.status == 0 && again.stderr.contains("already holds this fine-tune"), "\(again.stderr)")
        #expect(try Data(contentsOf: killed.appendingPathComponent("model.safetensors")) == b)
    }

    @Test(.needsAgentBinary) func anotherCommandIsRefusedAndANonFiniteLossExitsOne() throws {
        let root = try FineTuneFixtures.folder("refuse")
        defer { try? FileManager.default.removeItem(at: root) }
        let (_, _, arguments) = try Self.setUp(root)
        let out = root.appendingPathComponent("out")
        let short = arguments(out).replacingOption("--epochs", with: "1") + ["--limit", "40"]

        // A state of this command (left by a run stopped by a non-finite loss) …
        let exploding = short.replacingOption("--lr", with: "1e30").replacingOption("--warmup-ratio", with: "0")
            .replacingOption("--checkpoint-every", with: "1")
        let failed = try AgentCommandLineTests.run(exploding)
        #expect(failed.status == 1, "\(failed.stderr)")
        let step = try #require(try TrainingStateStore(output: out).loadManifest()?.step)
        #expect(failed.stderr.contains("at optimizer step \(step + 1)") && failed.stderr.contains("last good checkpoint was kept"), "\(failed.stderr)")

        // … is not resumed by another one, which is told what differs.
        let other = try AgentCommandLineTests.run(exploding.replacingOption("--lr", with: "1e-3"))
        #expect(other.status == 64, "\(other.stderr)")
        #expect(other.stderr.contains("--lr: 1e+30 in the saved state, 0.001 now"), "\(other.stderr)")
        #expect(try TrainingStateStore(output: out).loadManifest()?.step == step, "the refused command left the state alone")

        // --restart discards it and trains.
        let restarted = try AgentCommandLineTests.run(exploding.replacingOption("--lr", with: "1e-3") + ["--restart"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))

        // A folder of something else, and bad options, are usage errors.
        let foreign = root.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try "x".write(to: foreign.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let occupied = try AgentCommandLineTests.run(arguments(foreign))
        #expect(occupied.status == 64 && occupied.stderr.contains("exists and is not empty (notes.txt"), "\(occupied.stderr)")
        let probeFull = try AgentCommandLineTests.run(arguments(root.appendingPathComponent("p")) + ["--probe", "lbfgs"])
        #expect(probeFull.status == 64 && probeFull.stderr.contains("needs --regime frozen"), "\(probeFull.stderr)")
        let l2 = try AgentCommandLineTests.run(arguments(root.appendingPathComponent("q")) + ["--l2", "0.1"])
        #expect(l2.status == 64 && l2.stderr.contains("add --probe lbfgs"), "\(l2.stderr)")
        let quantize = try AgentCommandLineTests.run(arguments(root.appendingPathComponent("r")) + ["--quantize", "int8"])
        #expect(quantize.status == 64, "\(quantize.stderr)")
    }
}

private extension Array where Element == String {
    /// The arguments with the value after `option` replaced.
    func replacingOption(_ option: String, with value: String) -> [String] {
        guard let index = firstIndex(of: option), index + 1 < count else { return self + [option, value] }
        var copy = self
        copy[index + 1] = value
        return copy
    }
}
