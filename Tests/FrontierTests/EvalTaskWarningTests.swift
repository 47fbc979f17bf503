import Foundation
import Testing


/// `frontier-agent eval` on a model fine-tuned for another task says so on stderr: the
/// metrics it prints would otherwise look like any others.
@Suite(.serialized) struct EvalTaskWarningTests {
    typealias CLI = AgentCommandLineTests

    static func eval(task: String, recorded: String?, file: String = "training.json") throws -> CLI.Run {
        let folder = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        if let recorded {
            try "{\"task\": \"\(recorded)\", \"finetuning_task\": \"\(recorded)\"}"
                .write(to: folder.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return try CLI.run(["eval", "--model", folder.path, "--task", task, "--data", RunCommandTests.glue, "--limit", "4"])
    }

    @Test(.needsAgentBinary) func aModelTrainedForAnotherTaskIsNamedWithBoth() throws {
        let run = try Self.eval(task: "MRPC", recorded: "sst2")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("training.json says this model was fine-tuned on sst2, but --task is MRPC"), "\(run.stderr)")
    }

    @Test(.needsAgentBinary) func configFinetuningTaskCountsToo() throws {
        // Only config.json's field here: training.json is absent. (The tiny config is rewritten
        // with the field, which ModelConfig ignores.)
        let folder = try CLI.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"model_type\": \"bert\"",
                                                                                       with: "\"model_type\": \"bert\", \"finetuning_task\": \"mrpc\"")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let run = try CLI.run(["eval", "--model", folder.path, "--task", "SST-2", "--data", RunCommandTests.glue, "--limit", "4"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("config.json says this model was fine-tuned on mrpc, but --task is SST-2"), "\(run.stderr)")
    }

    @Test(.needsAgentBinary, arguments: [("SST-2", "sst2"), ("sst2", "SST-2"), ("SST-2", nil)])
    func theSameTaskOrNoneSaysNothing(task: String, recorded: String?) throws {
        let run = try Self.eval(task: task, recorded: recorded)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("warning"), "\(run.stderr)")
    }
}
