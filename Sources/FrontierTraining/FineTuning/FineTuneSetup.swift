import Foundation
import FrontierEngine
import FrontierTasks

/// Turns settings and a loaded base into a `FineTuneJob`: the head (kept or new), the
/// tokenized train split, the dev evaluator, the dropout rates and the inputs' fingerprints.
public enum FineTuneSetup {
    /// The inputs a run reads and a resume checks: the base's config, weights and vocabulary,
    /// the train file, and the mask file if any.
    public static func inputs(settings: FineTuneSettings) throws -> [InputFingerprint] {
        let base = URL(fileURLWithPath: settings.base)
        var files = ["config.json", "model.safetensors", "vocab.txt"].map { base.appendingPathComponent($0) }
        files.append(trainFile(settings: settings))
        if let mask = settings.mask { files.append(URL(fileURLWithPath: mask)) }
        return try files.map { try InputFingerprint(url: $0) }
    }

    /// The train file of the task under `--data`.
    public static func trainFile(settings: FineTuneSettings) -> URL {
        let data = URL(fileURLWithPath: settings.data)
        switch settings.fineTuneTask {
        case let .glue(task): return GlueReader.url(task: task, split: GlueTrainingData.split, dataRoot: data)
        case .squad: return data.appendingPathComponent(SquadTrainingFeatures.trainFile)
        }
    }

    /// The job for `checkpoint` (the base, with any techniques already applied) under `settings`.
    ///
    /// - Parameter mask: weights to hold at zero, by `<weight name>.weight` in the layout.
    public static func job(checkpoint: Checkpoint, settings: FineTuneSettings, mask: [String: [Bool]]?,
                           inputs: [InputFingerprint]) throws -> FineTuneJob {
        try settings.validate()
        let task = settings.fineTuneTask
        let config = checkpoint.model.config
        guard settings.maxSeqLen <= config.maxPositions else {
            throw TrainingError.invalidSettings("--max-seq-len \(settings.maxSeqLen) is more than the model's \(config.maxPositions) positions")
        }
        let (model, head) = try trainableModel(checkpoint.model, base: checkpoint.directory, task: task, seed: settings.seed)
        let weightMask = try mask.map { try WeightMask(keep: $0, layout: model.layout) }
        let dataRoot = URL(fileURLWithPath: settings.data)
        let data: TrainingSet
        let squad: SquadSettings?
        switch task {
        case let .glue(glueTask):
            squad = nil
            data = try GlueTrainingData.load(task: glueTask, dataRoot: dataRoot, limit: settings.limit, tokenizer: checkpoint.tokenizer,
                                             maxSeqLen: settings.maxSeqLen, modelLabels: model.config.labels)
        case .squad:
            let featurisation = SquadTrainingFeatures.settings(maxLength: settings.maxSeqLen, docStride: settings.docStride ?? 128)
            try featurisation.validate()
            squad = featurisation
            data = try SquadTrainingFeatures.load(file: trainFile(settings: settings), limit: settings.limit,
                                                  tokenizer: checkpoint.tokenizer, settings: featurisation)
        }
        guard !data.sequences.isEmpty else { throw TrainingError.invalidSettings("\(data.file): no training examples") }
        let evaluator = try DevEvaluator(task: task, dataRoot: dataRoot, limit: settings.evalLimit, tokenizer: checkpoint.tokenizer,
                                         batchSize: settings.batchSize, maxSeqLen: settings.maxSeqLen, squadSettings: squad,
                                         options: ForwardOptions(gemm: GemmBackend(rawValue: settings.gemm) ?? .packed),
                                         threads: settings.threads, base: checkpoint.directory)
        let dropout = settings.dropout.map { DropoutRates.uniform(Float($0)) }
            ?? DropoutRates(config: model.config, questionAnswering: task.isQuestionAnswering)
        return FineTuneJob(settings: settings, model: model, mask: weightMask, data: data, evaluator: evaluator, dropout: dropout,
                           inputs: inputs, head: head)
    }

    /// The model to train and how its head came about. The base's head is kept when it
    /// answers the task (kind and outputs) and the base does not say it was fine-tuned on
    /// another task (`RecordedTask`); otherwise a new head is initialised from `seed`. The
    /// config's labels are rewritten to the task's, in the head's class order, so evaluation
    /// and the written config.json agree with the targets.
    public static func trainableModel(_ model: EncoderModel, base: URL, task: FineTuneTask, seed: UInt64) throws -> (TrainableModel, head: String) {
        let recorded = RecordedTask(folder: base)
        let keep = task.fits(model.head, config: model.config) && recorded?.matches(task.description) != false
        var config = model.config
        config.numLayers = model.layers.count
        if let width = model.layers.first?.intermediateSize { config.intermediateSize = width }
        config.problemType = task.problemType
        switch task {
        case let .glue(glueTask) where keep && !glueTask.isRegression:
            // GlueLabelMap exists: `fits` checked it.
            let map = GlueLabelMap(task: glueTask, modelLabels: config.labels)!
            config.labels = map.taskClass.enumerated().map { index, taskClass in taskClass.map { glueTask.labels[$0] } ?? config.labels[index] }
        default:
            config.labels = task.newHeadLabels
        }
        let relabelled = EncoderModel(config: config, embeddings: model.embeddings, layers: model.layers, head: model.head)
        if keep { return (try TrainableModel(relabelled), "kept from the base") }
        let replaced: String
        switch model.head {
        case .encoderOnly: replaced = ""
        default: replaced = " (the base's \(model.head.name) head\(recorded.map { " for \($0.name)" } ?? "") was replaced)"
        }
        return (try TrainableModel(relabelled, newHead: task.newHead, seed: seed), "new, initialised from seed \(seed)" + replaced)
    }
}
