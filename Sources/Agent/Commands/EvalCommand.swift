import ArgumentParser
import Core
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a task's dev set and print the metrics as JSON.",
        discussion: """
            TASK is a GLUE folder name and DATA the folder that holds the task folders \
            (DATA/SST-2/dev.tsv). Prints one JSON object on stdout with the task, the number of \
            examples, the metrics and the wall time; a progress bar goes to stderr.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var compute: ComputeOptions

    @Option(help: "The task (supported: \(TaskRegistry.benchmarkTasks.joined(separator: ", "))).")
    var task: String

    @Option(help: "The folder holding the task folders.")
    var data: String

    @Option(help: "The split to evaluate.")
    var split: String = "dev"

    @Option(help: "Evaluate only the first N examples.")
    var limit: Int?

    @Option(help: "Write one line per example: id, prediction, gold (tab-separated).")
    var predictions: String?

    func validate() throws {
        guard split == "dev" else { throw ValidationError("only --split dev is supported (GLUE test labels are not public); got '\(split)'.") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
    }

    func run() throws {
        let started = MonotonicClock.now()
        let checkpoint = try modelOptions.loadCheckpoint()
        guard case let .sequenceClassification(_, _, classifier) = checkpoint.model.head else {
            throw ValidationError("\(modelOptions.model) is not a sequence-classification checkpoint (head: \(checkpoint.model.head.name)).")
        }
        var examples = try TaskRegistry.readDev(task: task, data: data)
        if let limit { examples = Array(examples.prefix(limit)) }
        let maxLength = min(modelOptions.maxSeqLen ?? checkpoint.model.config.maxPositions, checkpoint.model.config.maxPositions)
        Blas.setThreads(compute.threads)
        let workspace = Workspace(threads: compute.threads)
        let progress = ProgressBar(label: "eval \(task)", total: examples.count)
        var predicted: [Int] = []
        predicted.reserveCapacity(examples.count)
        for start in stride(from: 0, to: examples.count, by: compute.batch) {
            let slice = examples[start..<min(start + compute.batch, examples.count)]
            let batch = EncoderBatch(slice.map { checkpoint.tokenizer.encode($0.textA, pair: $0.textB, maxLength: maxLength) })
            let output = try checkpoint.model.forward(batch, workspace: workspace, options: compute.forwardOptions)
            for logits in output.logits {
                precondition(logits.count == classifier.outFeatures)
                predicted.append(logits.indices.max { logits[$0] < logits[$1] } ?? 0)
            }
            progress.update(predicted.count)
        }
        let correct = zip(predicted, examples).filter { $0 == $1.label }.count
        if let predictions {
            let lines = zip(examples, predicted).map { "\($0.id)\t\($1)\t\($0.label)" }.joined(separator: "\n") + "\n"
            try Data(lines.utf8).write(to: URL(fileURLWithPath: predictions), options: .atomic)
        }
        let result = EvalReport(task: task, model: modelOptions.model, examples: examples.count,
                                metrics: ["accuracy": examples.isEmpty ? 0 : Double(correct) / Double(examples.count)],
                                wallS: MonotonicClock.now() - started)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
    }
}

struct EvalReport: Codable {
    var task: String
    var model: String
    var examples: Int
    var metrics: [String: Double]
    var wallS: Double
}
