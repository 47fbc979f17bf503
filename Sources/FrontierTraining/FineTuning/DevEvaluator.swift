import Foundation
import FrontierEngine
import FrontierTasks

/// Scores the model being trained on the task's dev data with the evaluators `eval` uses
/// (`GlueEvaluator`, `SquadEvaluator`), so a metric in `training.json` means what the same
/// metric from `frontier-agent eval` means. The dev files are read once, up front: a missing
/// dev file stops the run before training rather than at the first evaluation.
public struct DevEvaluator: Sendable {
    public let task: FineTuneTask
    public let tokenizer: BertTokenizer
    public let batchSize: Int
    public let maxSeqLen: Int
    /// SQuAD featurisation (run_qa's: no question limit); nil for GLUE.
    public let squadSettings: SquadSettings?
    public let options: ForwardOptions
    public let threads: Int
    /// The base checkpoint folder, which the evaluated models stand in for.
    public let base: URL
    private let glueSplits: [(split: String, examples: [GlueExample])]
    private let squadExamples: [SquadExample]

    /// Reads the dev split(s) under `dataRoot`, the first `limit` examples of each.
    public init(task: FineTuneTask, dataRoot: URL, limit: Int?, tokenizer: BertTokenizer, batchSize: Int, maxSeqLen: Int,
                squadSettings: SquadSettings?, options: ForwardOptions, threads: Int, base: URL) throws {
        self.task = task
        self.base = base
        self.tokenizer = tokenizer
        self.batchSize = batchSize
        self.maxSeqLen = maxSeqLen
        self.squadSettings = squadSettings
        self.options = options
        self.threads = threads
        switch task {
        case let .glue(glueTask):
            var splits = try GlueReader.readDev(task: glueTask, dataRoot: dataRoot)
            if let limit { splits = splits.map { ($0.split, Array($0.examples.prefix(limit))) } }
            glueSplits = splits
            squadExamples = []
        case .squad:
            var examples = try SquadReader.read(path: dataRoot.appendingPathComponent("dev-v1.1.json").path)
            if let limit { examples = Array(examples.prefix(limit)) }
            squadExamples = examples
            glueSplits = []
        }
    }

    /// Dev examples per evaluation (SQuAD: questions).
    public var examples: Int { task.isQuestionAnswering ? squadExamples.count : glueSplits.reduce(0) { $0 + $1.examples.count } }

    /// The task's official metrics for `model`.
    public func evaluate(_ model: EncoderModel) throws -> [String: Double] {
        let workspace = Workspace(threads: threads)
        switch task {
        case let .glue(glueTask):
            let checkpoint = Checkpoint(directory: base, model: model, tokenizer: tokenizer)
            return try GlueEvaluator.evaluate(checkpoint: checkpoint, task: glueTask, splits: glueSplits, batchSize: batchSize,
                                              maxSeqLen: maxSeqLen, workspace: workspace, options: options).metrics
        case .squad:
            return try SquadEvaluator.evaluate(examples: squadExamples, model: model, tokenizer: tokenizer, batchSize: batchSize,
                                               settings: squadSettings ?? SquadSettings(), workspace: workspace, options: options).metrics
        }
    }
}
