import Foundation
import FrontierAnalysis
import FrontierEngine
import FrontierTasks
import FrontierTechniques

/// A trial's task data made ready for the engine: the accuracy pass (the official evaluator,
/// run once) and the model inputs the timed scenarios repeat.
///
/// Scenarios replay the exact inputs the evaluator scored (the same truncation; SQuAD's
/// windows), so throughput and energy belong to the computation that produced the metric.
public struct TrialWorkload: Sendable {
    /// Dataset examples (questions for SQuAD).
    public let examples: Int
    /// Model inputs, in dataset order: one per example for GLUE, one per window for SQuAD.
    public let inputs: [Input]
    public var tokens: Int { inputs.reduce(0) { $0 + $1.ids.count } }

    /// One model input: token ids and segment ids.
    public struct Input: Sendable {
        public var ids: [Int32]
        public var typeIds: [Int32]
    }

    /// Inputs `range` as one packed batch.
    public func batch(_ range: Range<Int>) -> EncoderBatch {
        var batch = EncoderBatch()
        for input in inputs[range] { batch.append(ids: input.ids, typeIds: input.typeIds) }
        return batch
    }
    private let evaluate: @Sendable (Checkpoint, Workspace, ForwardOptions, (Int, Int) -> Void) throws -> TrialAccuracy

    /// Reads the task's dev data and prepares both parts.
    public static func load(spec: TrialSpec, checkpoint: Checkpoint) throws -> TrialWorkload {
        if spec.isSquad {
            let file = URL(fileURLWithPath: spec.data).appendingPathComponent("dev-v1.1.json")
            var questions = try SquadReader.read(path: file.path)
            if let limit = spec.limit { questions = Array(questions.prefix(limit)) }
            var settings = SquadSettings()
            if let maxSeqLen = spec.effectiveMaxSeqLen { settings.maxLength = maxSeqLen }
            var inputs: [Input] = []
            for (index, question) in questions.enumerated() {
                for feature in try SquadFeaturizer.features(question: question.question, context: question.context, exampleIndex: index,
                                                            tokenizer: checkpoint.tokenizer, settings: settings, id: question.id) {
                    inputs.append(Input(ids: feature.ids, typeIds: feature.typeIds))
                }
            }
            let batch = spec.batch, frozenQuestions = questions, frozenSettings = settings
            return TrialWorkload(examples: questions.count, inputs: inputs) { checkpoint, workspace, options, progress in
                let questions = frozenQuestions, settings = frozenSettings
                let result = try SquadEvaluator.evaluate(examples: questions, model: checkpoint.model, tokenizer: checkpoint.tokenizer,
                                                         batchSize: batch, settings: settings, workspace: workspace,
                                                         options: options, progress: progress)
                // A question is "correct" when its answer matches a gold exactly (the EM count).
                let correct = result.metrics["exact_match"].map { Int(($0 / 100 * Double(result.examples)).rounded()) }
                return TrialAccuracy(metrics: result.metrics, examples: result.examples, correct: correct, maxSeqLen: settings.maxLength,
                                     flops: result.flops, meanExitLayer: nil,
                                     metricIntervals: AccuracyUncertainty.squad(predictions: result.predictions), chance: nil)
            }
        }
        guard let task = GlueTask(name: spec.task) else { throw TrialSpecError.invalid("unknown task '\(spec.task)'") }
        var splits = try GlueReader.readDev(task: task, dataRoot: URL(fileURLWithPath: spec.data))
        if let limit = spec.limit { splits = splits.map { ($0.split, Array($0.examples.prefix(limit))) } }
        let maxLength = min(spec.effectiveMaxSeqLen ?? GlueEvaluator.defaultMaxSeqLen, checkpoint.model.config.maxPositions)
        let inputs = splits.flatMap(\.examples).map { example -> Input in
            let encoding = checkpoint.tokenizer.encode(example.textA, pair: example.textB, maxLength: maxLength)
            return Input(ids: encoding.ids, typeIds: encoding.typeIds)
        }
        let batch = spec.batch, maxSeqLen = spec.effectiveMaxSeqLen
        let frozenSplits = splits
        return TrialWorkload(examples: inputs.count, inputs: inputs) { checkpoint, workspace, options, progress in
            let result = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: task, splits: frozenSplits, batchSize: batch,
                                                    maxSeqLen: maxSeqLen, workspace: workspace, options: options, progress: progress)
            let correct = task.isRegression ? nil : result.predictions.filter { $0.prediction == $0.gold }.count
            let uncertainty = AccuracyUncertainty.glue(task: task, predictions: result.predictions, metrics: result.metrics)
            return TrialAccuracy(metrics: result.metrics, examples: result.examples, correct: correct, maxSeqLen: result.maxSeqLen,
                                 flops: result.flops, meanExitLayer: result.meanExitLayer,
                                 metricIntervals: uncertainty.intervals, chance: uncertainty.chance)
        }
    }

    init(examples: Int, inputs: [Input],
         evaluate: @escaping @Sendable (Checkpoint, Workspace, ForwardOptions, (Int, Int) -> Void) throws -> TrialAccuracy) {
        self.examples = examples
        self.inputs = inputs
        self.evaluate = evaluate
    }

    /// The official metrics over the dev data (one pass).
    public func accuracy(checkpoint: Checkpoint, workspace: Workspace, options: ForwardOptions,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> TrialAccuracy {
        try evaluate(checkpoint, workspace, options, progress)
    }
}

/// What the accuracy pass found.
public struct TrialAccuracy: Sendable, Codable, Equatable {
    public var metrics: [String: Double]
    public var examples: Int
    /// Correct predictions (classification: prediction equals gold; SQuAD: exact matches);
    /// nil for regression, where "correct" has no meaning.
    public var correct: Int?
    public var maxSeqLen: Int
    /// Counted by the engine over the pass.
    public var flops: Double
    public var meanExitLayer: Double?
    /// Per metric key: Wilson for accuracy, a bootstrap over examples for the others.
    public var metricIntervals: [String: ConfidenceInterval] = [:]
    /// The majority-class (constant) predictor's metrics on the same examples.
    public var chance: ChanceLevel?
}

extension TrialWorkload {
    /// The task's train split as labelled model inputs, for techniques that calibrate or train
    /// (head importance, exit heads): the first `limit` examples, truncated like the dev inputs.
    public static func techniqueData(spec: TrialSpec, tokenizer: BertTokenizer, maxPositions: Int) -> TechniqueData {
        let data = spec.data, taskName = spec.task, isSquad = spec.isSquad
        let maxLength = min(spec.effectiveMaxSeqLen ?? GlueEvaluator.defaultMaxSeqLen, maxPositions)
        return TechniqueData { limit in
            guard !isSquad, let task = GlueTask(name: taskName) else {
                throw TechniqueError.needsData("\(taskName) has no classification train split here; give head-pruning explicit heads")
            }
            let examples = try GlueReader.read(task: task, split: "train", dataRoot: URL(fileURLWithPath: data)).prefix(limit)
            return examples.map { example in
                let encoding = tokenizer.encode(example.textA, pair: example.textB, maxLength: maxLength)
                return HeadImportance.Example(ids: encoding.ids, typeIds: encoding.typeIds,
                                              label: task.isRegression ? nil : example.label, target: example.score)
            }
        }
    }
}
