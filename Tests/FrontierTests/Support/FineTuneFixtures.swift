import Foundation
@testable import FrontierEngine
@testable import FrontierTraining

/// Small train/dev files for fine-tuning tests, written per test into a scratch folder, and
/// the settings of a fast run on `FrozenFinetuneTests.tinyBase`.
enum FineTuneFixtures {
    /// A scratch folder the caller removes.
    static func folder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-finetune-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// MRPC-style pairs (the GLUE download's columns) whose label is whether the pair shares its
    /// last word.
    static func writeMRPC(in root: URL, examples: Int = 12) throws -> URL {
        let data = root.appendingPathComponent("glue")
        let task = data.appendingPathComponent("MRPC")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        let words = ["cat", "dog", "mat", "world"]
        let rows: [String] = (0..<examples).map { (i: Int) -> String in
            let a = "the " + words[i % 4] + " sat", b = "a " + words[(i / 2) % 4] + " sat"
            let label = words[i % 4] == words[(i / 2) % 4] ? "1" : "0"
            return label + "\t" + String(i) + "\t" + String(i + 100) + "\t" + a + "\t" + b
        }
        let text: String = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + rows.joined(separator: "\n") + "\n"
        for split in ["train", "dev"] {
            try text.write(to: task.appendingPathComponent("\(split).tsv"), atomically: true, encoding: .utf8)
        }
        return data
    }

    /// The context of the SQuAD fixture: every word in the tiny vocabulary, about 40 tokens.
    static let squadContext = "the cat sat on the mat . a dog sat on the mat . hello world . the dogs sat . good fun . bad dull . the cat sat on a dog . hello the world ."

    /// SQuAD v1.1 JSON with one paragraph; each question's answer is a phrase of the context.
    static func writeSquad(in root: URL, answers: [String] = ["hello world", "good fun", "bad dull", "a dog", "the dogs"]) throws -> URL {
        let data = root.appendingPathComponent("squad")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let context = squadContext
        var questions: [[String: Any]] = []
        for (index, answer) in answers.enumerated() {
            // answer_start counts Unicode scalars (Python str indices); the first occurrence.
            let start = context.unicodeScalars.distance(from: context.unicodeScalars.startIndex, to: context.range(of: answer)!.lowerBound)
            questions.append(["id": "q\(index)", "question": " where is \(answer.split(separator: " ").last!) ?",
                              "answers": [["text": answer, "answer_start": start]]])
        }
        let json: [String: Any] = ["version": "1.1", "data": [["title": "tiny", "paragraphs": [["context": context, "qas": questions]]]]]
        let encoded = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        for name in ["train-v1.1.json", "dev-v1.1.json"] { try encoded.write(to: data.appendingPathComponent(name)) }
        return data
    }

    /// A quick full fine-tune of the tiny base on the SST-2 fixture: 48 examples in micro-batches
    /// of 4, two per update, two epochs (12 updates), dropout from the config (on).
    static func settings(base: URL, data: URL, task: String = "SST-2", regime: String = "full") -> FineTuneSettings {
        FineTuneSettings(task: task, base: base.path, data: data.path, regime: regime, epochs: 2, batchSize: 4, accumulation: 2,
                         maxSeqLen: 32, learningRate: 1e-3, warmupRatio: 0.1, seed: 7, threads: 2, evalEvery: 5, checkpointEvery: 2)
    }

    /// The job for `settings` on the folder's base, as the command builds it (no techniques).
    static func job(_ settings: FineTuneSettings, mask: [String: [Bool]]? = nil) throws -> FineTuneJob {
        let checkpoint = try Checkpoint.load(directory: URL(fileURLWithPath: settings.base))
        return try FineTuneSetup.job(checkpoint: checkpoint, settings: settings, mask: mask, inputs: try FineTuneSetup.inputs(settings: settings))
    }

    /// The parameters as bit patterns, so equality is bitwise (and NaN-safe).
    static func bits(_ model: TrainableModel) -> [UInt32] { model.parameters.values.map(\.bitPattern) }
}
