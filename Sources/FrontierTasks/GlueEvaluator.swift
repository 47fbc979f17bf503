import Foundation
import FrontierEngine

/// One dev example's outcome, for writing a predictions file.
public struct GluePrediction: Sendable, Equatable {
    /// The file the example came from (`dev`, `dev_matched`, `dev_mismatched`): MNLI ids repeat
    /// between its two dev files.
    public var split: String
    public var id: String
    /// The predicted class name (the task's name, or the model's own name for a class the task
    /// does not have), or the predicted STS-B score.
    public var prediction: String
    /// The gold class name or score.
    public var gold: String

    public init(split: String, id: String, prediction: String, gold: String) {
        self.split = split
        self.id = id
        self.prediction = prediction
        self.gold = gold
    }
}

/// The result of evaluating a checkpoint on a GLUE task's dev split(s).
public struct GlueEvaluation: Sendable {
    /// The task's GLUE folder name (`SST-2`, `MNLI`, …).
    public var task: String
    /// Examples scored, over all splits.
    public var examples: Int
    /// Examples scored per split (`dev`, or MNLI's `dev_matched` / `dev_mismatched`).
    public var splitExamples: [String: Int]
    /// Keys of HF `evaluate`'s glue metric (`GlueTask.metricKeys`): `accuracy`; `accuracy`, `f1`
    /// (MRPC, QQP); `matthews_correlation` (CoLA); `pearson`, `spearmanr` (STS-B);
    /// `accuracy_matched`, `accuracy_mismatched` (MNLI). Correlations are NaN when undefined
    /// (fewer than two examples, constant predictions), as in SciPy.
    public var metrics: [String: Double]
    /// How model classes were matched to the task's; nil for STS-B (one regression output).
    public var labelMapping: GlueLabelMap.Source?
    /// The truncation length actually used, special tokens included.
    public var maxSeqLen: Int
    /// In split order, then file order.
    public var predictions: [GluePrediction]
    /// Floating-point operations the engine counted over all examples.
    public var flops: Double = 0
    /// With early exit: layers each example went through, in prediction order.
    public var exitLayers: [Int] = []

    public var meanExitLayer: Double? {
        exitLayers.isEmpty ? nil : Double(exitLayers.reduce(0, +)) / Double(exitLayers.count)
    }
}

/// Why a checkpoint cannot be evaluated on a task (data problems are `TaskDataError`s).
public enum GlueEvaluationError: Error, CustomStringConvertible, Equatable {
    case unknownTask(String)
    /// The checkpoint's head cannot answer the task (wrong kind, too few classes, regression
    /// vs classification).
    case headMismatch(task: String, detail: String)
    case invalidArgument(String)
    /// A NaN or infinite logit: scoring it would give an arbitrary class (numpy's argmax picks
    /// the first NaN), so the run stops instead of reporting a meaningless number.
    case nonFiniteOutput(split: String, id: String)

    public var description: String {
        switch self {
        case let .unknownTask(name):
            return "unknown task '\(name)' (supported: \(GlueTask.allCases.map(\.folderName).joined(separator: ", ")))"
        case let .headMismatch(task, detail):
            return "the checkpoint cannot be evaluated on \(task): \(detail)"
        case let .invalidArgument(detail):
            return detail
        case let .nonFiniteOutput(split, id):
            return "the model produced a non-finite logit for \(split) example \(id)"
        }
    }
}

/// Scores a sequence-classification checkpoint on GLUE dev data: tokenizes each example (pairs
/// as `[CLS] A [SEP] B [SEP]`, longest-first truncation), runs the engine in batches, takes the
/// argmax class (the first of equal maxima, like `numpy.argmax`) or, for STS-B, the single raw
/// output, and computes the task's official metrics with `TaskMetrics`.
public enum GlueEvaluator {
    /// `run_glue`'s default `max_seq_length`. Not the model's 512 positions: fine-tuned GLUE
    /// checkpoints and their published scores (these folders' `training.json` included) use
    /// 128, and the few longer dev examples (RTE, QNLI) would otherwise score differently.
    public static let defaultMaxSeqLen = 128

    /// Reads the task's dev split(s) under `dataRoot` (GLUE layout) and evaluates them.
    ///
    /// - Parameters:
    ///   - task: a GLUE task name (`GlueTask.init(name:)`: `SST-2`, `sst2`, `MNLI`, …).
    ///   - limit: score only the first N examples *of each split* (MNLI: N matched + N
    ///     mismatched), so both MNLI numbers stay defined.
    ///   - maxSeqLen: tokens per example including specials; nil → `defaultMaxSeqLen`. Capped at
    ///     the model's position table, which cannot take more.
    ///   - progress: called after each batch with (examples done, total).
    public static func evaluate(
        checkpoint: Checkpoint, task: String, dataRoot: URL, limit: Int? = nil, batchSize: Int = 32,
        maxSeqLen: Int? = nil, workspace: Workspace, options: ForwardOptions = ForwardOptions(),
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> GlueEvaluation {
        guard let glueTask = GlueTask(name: task) else { throw GlueEvaluationError.unknownTask(task) }
        if let limit, limit < 1 { throw GlueEvaluationError.invalidArgument("limit must be at least 1; got \(limit)") }
        // Check the head before reading possibly large files, so a wrong model fails at once.
        _ = try checkHead(checkpoint.model.config, head: checkpoint.model.head, task: glueTask)
        var splits = try GlueReader.readDev(task: glueTask, dataRoot: dataRoot)
        if let limit { splits = splits.map { ($0.split, Array($0.examples.prefix(limit))) } }
        return try evaluate(checkpoint: checkpoint, task: glueTask, splits: splits, batchSize: batchSize,
                            maxSeqLen: maxSeqLen, workspace: workspace, options: options, progress: progress)
    }

    /// Evaluates given examples (one entry per split, each scored and reported separately).
    public static func evaluate(
        checkpoint: Checkpoint, task: GlueTask, splits: [(split: String, examples: [GlueExample])],
        batchSize: Int = 32, maxSeqLen: Int? = nil, workspace: Workspace,
        options: ForwardOptions = ForwardOptions(), progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> GlueEvaluation {
        let model = checkpoint.model, config = model.config
        let labelMap = try checkHead(config, head: model.head, task: task)
        guard batchSize >= 1 else { throw GlueEvaluationError.invalidArgument("batch size must be at least 1; got \(batchSize)") }
        if let maxSeqLen, maxSeqLen < 3 {
            throw GlueEvaluationError.invalidArgument("max sequence length must be at least 3 ([CLS], a token, [SEP]); got \(maxSeqLen)")
        }
        let maxLength = min(maxSeqLen ?? defaultMaxSeqLen, config.maxPositions)
        let total = splits.reduce(0) { $0 + $1.examples.count }

        var evaluation = GlueEvaluation(task: task.folderName, examples: total, splitExamples: [:], metrics: [:],
                                        labelMapping: labelMap?.source, maxSeqLen: maxLength, predictions: [])
        evaluation.predictions.reserveCapacity(total)
        var done = 0
        for (split, examples) in splits {
            evaluation.splitExamples[split] = examples.count
            var logits: [[Float]] = []
            logits.reserveCapacity(examples.count)
            for start in stride(from: 0, to: examples.count, by: batchSize) {
                let slice = examples[start..<min(start + batchSize, examples.count)]
                let batch = EncoderBatch(slice.map { checkpoint.tokenizer.encode($0.textA, pair: $0.textB, maxLength: maxLength) })
                let output = try model.forward(batch, workspace: workspace, options: options)
                evaluation.flops += output.flops
                evaluation.exitLayers += output.exitLayers
                guard output.logits.count == slice.count, output.logits.allSatisfy({ $0.count == config.numLabels }) else {
                    throw GlueEvaluationError.headMismatch(task: task.folderName, detail: "the forward pass returned \(output.logits.count) logit rows for \(slice.count) examples, expected \(config.numLabels) logits each")
                }
                for (example, row) in zip(slice, output.logits) where !row.allSatisfy(\.isFinite) {
                    throw GlueEvaluationError.nonFiniteOutput(split: split, id: example.id)
                }
                logits += output.logits
                done += slice.count
                progress(done, total)
            }
            let (metrics, predictions) = score(task: task, split: split, examples: examples, logits: logits,
                                               labelMap: labelMap, modelLabels: config.labels)
            evaluation.metrics.merge(metrics) { $1 }
            evaluation.predictions += predictions
        }
        return evaluation
    }

    /// Index of the largest value, the first one on ties (`numpy.argmax`). -1 for an empty row.
    public static func argmax(_ values: [Float]) -> Int {
        var best = -1
        for (index, value) in values.enumerated() where best < 0 || value > values[best] { best = index }
        return best
    }

    /// The task's metrics for one split from the model's logits (pure; the evaluator's last step).
    package static func score(task: GlueTask, split: String, examples: [GlueExample], logits: [[Float]],
                      labelMap: GlueLabelMap?, modelLabels: [String]) -> (metrics: [String: Double], predictions: [GluePrediction]) {
        var metrics: [String: Double] = [:]
        var predictions: [GluePrediction] = []
        predictions.reserveCapacity(examples.count)
        if task.isRegression {
            var predicted: [Double] = [], gold: [Double] = []
            for (example, row) in zip(examples, logits) {
                let value = row.first ?? .nan
                // A classification example in a regression task cannot come from GlueReader; a
                // NaN gold would surface as a NaN correlation rather than be dropped.
                let score = example.score ?? .nan
                predicted.append(Double(value))
                gold.append(score)
                predictions.append(GluePrediction(split: split, id: example.id, prediction: "\(value)", gold: "\(score)"))
            }
            metrics[task.metricKey("pearson", split: split)] = TaskMetrics.pearson(predicted, gold)
            metrics[task.metricKey("spearmanr", split: split)] = TaskMetrics.spearman(predicted, gold)
            return (metrics, predictions)
        }
        var predicted: [Int] = [], gold: [Int] = []
        for (example, row) in zip(examples, logits) {
            let modelClass = argmax(row)
            // -1: a model class the task does not have; it matches no gold label.
            let taskClass = labelMap.flatMap { map in map.taskClass.indices.contains(modelClass) ? map.taskClass[modelClass] : nil } ?? -1
            predicted.append(taskClass)
            gold.append(example.label)
            let predictedName = taskClass >= 0 ? task.labels[taskClass]
                : (modelLabels.indices.contains(modelClass) ? modelLabels[modelClass] : "\(modelClass)")
            let goldName = task.labels.indices.contains(example.label) ? task.labels[example.label] : "\(example.label)"
            predictions.append(GluePrediction(split: split, id: example.id, prediction: predictedName, gold: goldName))
        }
        for name in task.metricNames {
            let key = task.metricKey(name, split: split)
            switch name {
            case "accuracy": metrics[key] = TaskMetrics.accuracy(predictions: predicted, labels: gold)
            case "f1": metrics[key] = TaskMetrics.f1(predictions: predicted, labels: gold, positive: 1)
            case "matthews_correlation": metrics[key] = TaskMetrics.matthewsCorrelation(predictions: predicted, labels: gold)
            default: break
            }
        }
        return (metrics, predictions)
    }

    /// Checks that the head can answer the task; returns the class mapping (nil for STS-B).
    static func checkHead(_ config: ModelConfig, head: TaskHead, task: GlueTask) throws -> GlueLabelMap? {
        guard case .sequenceClassification = head else {
            throw GlueEvaluationError.headMismatch(task: task.folderName, detail: "it has a \(head.name) head; GLUE needs a sequence-classification head")
        }
        if task.isRegression {
            guard config.isRegression, config.numLabels == 1 else {
                throw GlueEvaluationError.headMismatch(task: task.folderName, detail: "STS-B is a regression task and needs one regression output (num_labels 1); the model has \(config.numLabels) classes \(config.labels)")
            }
            return nil
        }
        guard !config.isRegression else {
            throw GlueEvaluationError.headMismatch(task: task.folderName, detail: "the model has a regression head (one output); \(task.folderName) is a classification task with classes \(task.labels)")
        }
        guard let map = GlueLabelMap(task: task, modelLabels: config.labels) else {
            throw GlueEvaluationError.headMismatch(task: task.folderName, detail: "the model has \(config.numLabels) classes \(config.labels); \(task.folderName) needs at least \(task.labels.count) (\(task.labels.joined(separator: ", ")))")
        }
        return map
    }
}
