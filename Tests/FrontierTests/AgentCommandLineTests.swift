import Foundation
import Testing
@testable import FrontierEngine


/// The agent as a user runs it: a built `frontier-agent` fed bad input must exit non-zero with
/// a message naming the problem, never crash; good input must print what the engine computes.
@Suite(.serialized) struct AgentCommandLineTests {
    /// `swift test` builds every product into the same folder as the test bundle.
    static let agent: URL? = {
        var candidates: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["FRONTIER_AGENT_BINARY"] {
            candidates.append(URL(fileURLWithPath: explicit))
        }
        let bundleFolder = Bundle.main.bundleURL.deletingLastPathComponent()
        candidates.append(bundleFolder.appendingPathComponent("frontier-agent"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("frontier-agent"))
        // scripts/test.sh builds into .build-test; a plain `swift build` into .build.
        for folder in [".build-test", ".build"] {
            for configuration in ["release", "debug"] {
                candidates.append(SharedData.packageRoot.appendingPathComponent("\(folder)/\(configuration)/frontier-agent"))
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()


    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = agent
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        // Drain stderr concurrently: a child blocked on a full stderr pipe (as small as one page
        // when the user has many pipes open) would otherwise never close stdout.
        nonisolated(unsafe) var err = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            err = error.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: err, as: UTF8.self))
    }

    /// A tiny random BERT classifier on disk with a 40-token vocabulary.
    static func tinyCheckpoint() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", ".", "!", "##s", "hello", "world"]
        let vocab = words + (words.count..<40).map { "tok\($0)" }
        try (vocab.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let config = TinyCheckpoint.config(.bert, vocab: 40, labels: 2, architectures: ["BertForSequenceClassification"])
        let json = """
            {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": 40, "hidden_size": 16,
             "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 24, "max_position_embeddings": 64,
             "type_vocab_size": 2, "id2label": {"0": "negative", "1": "positive"}}
            """
        try json.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 2)).tensors.map {
            SafetensorsWriter.Tensor(name: $0.key, dtype: .f32, shape: $0.value.shape, values: $0.value.values)
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    @Test(.needsAgentBinary) func tokenizeAndLogitsAgreeWithTheLibrary() throws {
        let folder = try Self.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = "the cat sat on the mat.\nhello dogs!\n"
        let tokens = try Self.run(["tokenize", "--model", folder.path], stdin: Data(text.utf8))
        #expect(tokens.status == 0, "\(tokens.stderr)")
        #expect(tokens.stdout == "2 5 6 7 8 5 9 12 3\n2 15 11 14 13 3\n")

        let logits = try Self.run(["logits", "--model", folder.path, "--threads", "2"], stdin: Data(text.utf8))
        #expect(logits.status == 0, "\(logits.stderr)")
        let checkpoint = try Checkpoint.load(directory: folder)
        let expected = try checkpoint.model.forward(
            EncoderBatch(["the cat sat on the mat.", "hello dogs!"].map { checkpoint.tokenizer.encode($0) }),
            workspace: Workspace()).logits
        let printed = logits.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Float($0) } }
        #expect(printed.count == 2)
        #expect(zip(printed, expected).allSatisfy { zip($0, $1).allSatisfy { abs($0 - $1) < 1e-6 } })
    }

    @Test(.needsAgentBinary) func badInputLinesAreNamedErrors() throws {
        let folder = try Self.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(arguments: [String], stdin: [UInt8], message: String)] = [
            (["tokenize"], Array("the cat\n".utf8) + [0xFF, 0xFE, 0x0A], "stdin line 2: invalid UTF-8"),
            (["logits"], Array("the cat\n\nthe mat\n".utf8), "stdin line 2: empty input line"),
            (["tokenize", "--pair"], Array("the cat sat\n".utf8), "stdin line 1: --pair expects two texts separated by one TAB"),
            (["logits", "--pair"], Array("the cat\t\n".utf8), "stdin line 1: empty text in pair"),
        ]
        for item in cases {
            let result = try Self.run(item.arguments + ["--model", folder.path], stdin: Data(item.stdin))
            #expect(result.status != 0 && result.status < 128, "\(item.arguments) exited \(result.status)")
            #expect(result.stderr.contains(item.message), "\(item.arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test(.needsAgentBinary) func brokenCheckpointsAreNamedErrors() throws {
        let folder = try Self.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: weights)

        try bytes.prefix(bytes.count - 100).write(to: weights)
        var result = try Self.run(["info", "--model", folder.path])
        #expect(result.status != 0 && result.status < 128)
        #expect(result.stderr.contains("model.safetensors"), "\(result.stderr)")

        try bytes.prefix(5).write(to: weights)
        result = try Self.run(["info", "--model", folder.path])
        #expect(result.status != 0 && result.status < 128 && result.stderr.contains("model.safetensors"), "\(result.stderr)")

        try bytes.write(to: weights)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("vocab.txt"))
        result = try Self.run(["tokenize", "--model", folder.path], stdin: Data("the cat\n".utf8))
        #expect(result.status != 0 && result.status < 128 && result.stderr.contains("vocab.txt"), "\(result.stderr)")

        result = try Self.run(["info", "--model", folder.appendingPathComponent("absent").path])
        #expect(result.status != 0 && result.stderr.contains("absent"), "\(result.stderr)")
    }

    /// `bench --task squad` times the questions' features (as evaluation builds them) on a
    /// question-answering checkpoint, and says what it needs when given another head.
    @Test(.needsAgentBinary) func benchRunsSquadFeaturesOnAQuestionAnsweringCheckpoint() throws {
        let folder = try Self.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("squad")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let context = Array(repeating: "the cat sat on the mat.", count: 60).joined(separator: " ")
        let squad = """
            {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "\(context)", "qas": [
              {"id": "q1", "question": "the cat?", "answers": [{"answer_start": 0, "text": "the cat"}]},
              {"id": "q2", "question": "a dog!", "answers": [{"answer_start": 4, "text": "cat"}]}]}]}]}
            """
        try squad.write(to: data.appendingPathComponent("dev-v1.1.json"), atomically: true, encoding: .utf8)

        let refused = try Self.run(["bench", "--model", folder.path, "--task", "squad", "--data", data.path, "--repeats", "1"])
        #expect(refused.status != 0 && refused.status < 128)
        #expect(refused.stderr.contains("question-answering checkpoint"), "\(refused.stderr)")

        let qa = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-cli-qa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: qa, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: qa) }
        try FileManager.default.copyItem(at: folder.appendingPathComponent("vocab.txt"), to: qa.appendingPathComponent("vocab.txt"))
        let json = """
            {"model_type": "bert", "architectures": ["BertForQuestionAnswering"], "vocab_size": 40, "hidden_size": 16,
             "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 24, "max_position_embeddings": 512,
             "type_vocab_size": 2}
            """
        try json.write(to: qa.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let config = TinyCheckpoint.config(.bert, vocab: 40, maxPositions: 512, architectures: ["BertForQuestionAnswering"])
        let tensors = TinyCheckpoint.tensors(config, head: .questionAnswering).tensors.map {
            SafetensorsWriter.Tensor(name: $0.key, dtype: .f32, shape: $0.value.shape, values: $0.value.values)
        }
        try SafetensorsWriter.write(tensors, to: qa.appendingPathComponent("model.safetensors"))

        let result = try Self.run(["bench", "--model", qa.path, "--task", "squad", "--data", data.path, "--repeats", "1",
                                   "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        // 420 context tokens do not fit one 384-token window beside the question: each question
        // gives two features (stride 128).
        #expect(result.stderr.contains("2 SQuAD questions give 4 features"), "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["examples"] as? Int == 4)
        #expect((report?["kernel_paths"] as? [String: String])?["attention"] != nil)

        // FRONTIER_CPU_CAP=avx2 times what an AVX2-only machine runs: no family reports an
        // AVX-512 path, and the numbers still come out.
        let capped = try Self.run(["bench", "--model", qa.path, "--task", "squad", "--data", data.path, "--repeats", "1"],
                                  environment: ["FRONTIER_CPU_CAP": "avx2"])
        #expect(capped.status == 0, "\(capped.stderr)")
        let cappedReport = try JSONSerialization.jsonObject(with: Data(capped.stdout.utf8)) as? [String: Any]
        let paths = cappedReport?["kernel_paths"] as? [String: String] ?? [:]
        #expect(!paths.isEmpty && paths.values.allSatisfy { !$0.contains("avx512") }, "\(paths)")
        #expect(cappedReport?["examples"] as? Int == 4)
    }

    @Test(.needsAgentBinary) func helpExplainsTheCommands() throws {
        let help = try Self.run(["--help"])
        #expect(help.status == 0)
        for command in ["info", "tokenize", "logits", "eval", "bench"] { #expect(help.stdout.contains(command)) }
        let tokenize = try Self.run(["help", "tokenize"])
        #expect(tokenize.stdout.contains("--max-seq-len") && tokenize.stdout.contains("--pair"))
        let badOption = try Self.run(["logits", "--model", "x", "--threads", "0"])
        #expect(badOption.status != 0 && badOption.stderr.contains("--threads must be at least 1"))
    }
}
