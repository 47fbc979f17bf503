import Foundation
import FrontierEngine
import FrontierSupport
import FrontierTasks

/// The frozen-encoder baseline: the base model's weights stay as they are and only a linear
/// head is trained, on the pooled features the encoder gives each training example.
///
/// It is the floor every fine-tuning technique has to beat (how much does adapting the encoder
/// buy?), and it needs no backward pass. The result is an ordinary
/// `BertForSequenceClassification` folder, so the engine, `GlueEvaluator`, the sweep and
/// Hugging Face all load it like any other checkpoint:
///
/// - `config.json`: the base's, with the architecture, the task's labels (`id2label`,
///   `label2id`, `num_labels`), `problem_type` and `finetuning_task`;
/// - `model.safetensors`: every encoder tensor of the base (pooler included) in its own dtype,
///   under `bert.`-prefixed names, plus `classifier.weight` / `classifier.bias` in F32;
/// - the tokenizer files, copied; `training.json`, how the head was made (`FrozenTrainingRecord`).
///
/// The features are what the classification head reads, the tanh pooler over the last
/// [CLS] row (`EncoderOutput.pooled`), so the probe trained on them is exactly the classifier
/// the written model applies. That is why a BERT base without a pooler and DistilBERT (whose
/// head puts a ReLU layer before the classifier) are refused: no probe on their features can
/// be written as their sequence-classification architecture.
public enum FrozenFinetune {
    /// The GLUE split the head is trained on.
    public static let trainSplit = "train"
    /// Tokenizer files copied from the base when present (`vocab.txt` is required).
    public static let tokenizerFiles = TaskModelConfig.tokenizerFiles

    /// What `run` is doing, for a progress display.
    public enum Event: Sendable {
        /// Features of `done` of `total` training examples computed (after each batch).
        case extracted(done: Int, total: Int)
        /// Fitting the head on `examples` feature vectors of `features` values.
        case training(examples: Int, features: Int)
        /// Writing the checkpoint folder.
        case writing(URL)
    }

    /// Trains the head on `dataRoot/<task>/train.tsv` and writes the checkpoint to `output`.
    ///
    /// - Parameters:
    ///   - base: a BERT checkpoint folder with a pooler (bare `BertModel` or a classifier, whose
    ///     head is replaced).
    ///   - task: a GLUE task name (`GlueTask.init(name:)`).
    ///   - output: created if absent; an existing non-empty folder is refused unless
    ///     `overwrite`, and the base folder always is.
    ///   - options: forward options for feature extraction; techniques in them (head masks,
    ///     token pruning) change the features, so callers normally pass only a GEMM choice.
    public static func run(base: URL, task: String, dataRoot: URL, output: URL,
                           settings: FrozenFinetuneSettings = FrozenFinetuneSettings(), workspace: Workspace,
                           options: ForwardOptions = ForwardOptions(), overwrite: Bool = false,
                           progress: (Event) -> Void = { _ in }) throws -> FrozenFinetuneResult {
        let started = MonotonicClock.now()
        guard let glueTask = GlueTask(name: task) else { throw GlueEvaluationError.unknownTask(task) }
        try settings.validate()
        try checkOutput(output, base: base, overwrite: overwrite)
        let checkpoint = try Checkpoint.load(directory: base)
        let featureKind = try featureSource(checkpoint.model, base: base)

        let all = try GlueReader.read(task: glueTask, split: trainSplit, dataRoot: dataRoot)
        let examples = settings.limit.map { Array(all.prefix($0)) } ?? all
        let maxLength = min(settings.maxSeqLen ?? GlueEvaluator.defaultMaxSeqLen, checkpoint.model.config.maxPositions)

        let extractionStart = MonotonicClock.now()
        let features = try extractFeatures(checkpoint: checkpoint, examples: examples, maxSeqLen: maxLength,
                                           batchSize: settings.batchSize, workspace: workspace, options: options) {
            progress(.extracted(done: $0, total: $1))
        }
        let extractionSeconds = MonotonicClock.now() - extractionStart

        let h = checkpoint.model.config.hiddenSize
        progress(.training(examples: examples.count, features: h))
        let trainingStart = MonotonicClock.now()
        let fit = try train(features: features, examples: examples, task: glueTask, settings: settings.probe)
        let trainingSeconds = MonotonicClock.now() - trainingStart
        let labels = modelLabels(glueTask)
        let metrics = trainMetrics(probe: fit.probe, features: features, examples: examples, task: glueTask, labels: labels)

        progress(.writing(output))
        var record = FrozenTrainingRecord(
            regime: "frozen", base: base.path, task: glueTask.folderName,
            trainFile: GlueReader.url(task: glueTask, split: trainSplit, dataRoot: dataRoot).path,
            trainExamples: examples.count, availableTrainExamples: all.count, features: featureKind, maxSeqLen: maxLength,
            batchSize: settings.batchSize, threads: workspace.threads,
            head: glueTask.isRegression ? "ridge regression, closed form (Cholesky)" : "multinomial logistic regression, full-batch L-BFGS",
            probe: settings.probe, iterations: fit.iterations, evaluations: fit.evaluations, stop: fit.stop,
            gradientMax: fit.gradientMax, trainLoss: fit.loss, trainObjective: fit.objective, trainMetrics: metrics,
            droppedTensors: [], extractionS: extractionSeconds, trainingS: trainingSeconds, wallS: 0,
            engineVersion: FrontierVersion.string)
        try write(output: output, base: base, config: checkpoint.model.config, task: glueTask, labels: labels,
                  probe: fit.probe, record: &record, started: started)
        // The folder must load like any checkpoint; failing here beats a broken folder found later.
        _ = try Checkpoint.load(directory: output)
        return FrozenFinetuneResult(output: output, probe: fit.probe, record: record)
    }

    /// The pooled features of `examples`, `(examples, hidden)` row-major, tokenized as
    /// `GlueEvaluator` tokenizes (pairs longest-first truncated to `maxSeqLen`).
    public static func extractFeatures(checkpoint: Checkpoint, examples: [GlueExample], maxSeqLen: Int, batchSize: Int,
                                       workspace: Workspace, options: ForwardOptions = ForwardOptions(),
                                       progress: (Int, Int) -> Void = { _, _ in }) throws -> [Float] {
        guard batchSize >= 1 else { throw TechniqueError.invalid("batch size must be at least 1; got \(batchSize)") }
        let h = checkpoint.model.config.hiddenSize
        var features: [Float] = []
        features.reserveCapacity(examples.count * h)
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let slice = examples[start..<min(start + batchSize, examples.count)]
            let batch = EncoderBatch(slice.map { checkpoint.tokenizer.encode($0.textA, pair: $0.textB, maxLength: maxSeqLen) })
            let output = try checkpoint.model.forward(batch, workspace: workspace, options: options)
            guard output.pooled.count == slice.count, output.pooled.allSatisfy({ $0.count == h }) else {
                throw TechniqueError.invalid("the forward pass returned \(output.pooled.count) pooled rows for \(slice.count) examples, expected \(h) values each")
            }
            for (example, row) in zip(slice, output.pooled) {
                guard row.allSatisfy(\.isFinite) else {
                    throw TechniqueError.invalid("the encoder produced a non-finite feature for train example \(example.id)")
                }
                features += row
            }
            progress(start + slice.count, examples.count)
        }
        return features
    }

    /// Fits the task's head: a classifier on the gold class indices (`GlueTask.labels` order,
    /// which is the written model's class order), or ridge on the STS-B scores.
    public static func train(features: [Float], examples: [GlueExample], task: GlueTask,
                             settings: LinearProbeSettings) throws -> LinearProbeFit {
        if task.isRegression {
            let targets = try examples.map { example -> Double in
                guard let score = example.score else { throw TechniqueError.invalid("STS-B example \(example.id) has no score") }
                return score
            }
            return try LinearProbeTrainer.fitRegressor(features: features, targets: targets, settings: settings)
        }
        return try LinearProbeTrainer.fitClassifier(features: features, labels: examples.map(\.label),
                                                    classes: task.labels.count, settings: settings)
    }

    /// The written model's class names: the task's (so `GlueLabelMap` matches them by name),
    /// or one generic output for a regression.
    public static func modelLabels(_ task: GlueTask) -> [String] {
        task.isRegression ? ["LABEL_0"] : task.labels
    }

    /// The task's official metrics on the training examples (plus `accuracy` for every
    /// classification task, `mse` for STS-B): how well the head fits what it saw.
    static func trainMetrics(probe: LinearProbe, features: [Float], examples: [GlueExample], task: GlueTask,
                             labels: [String]) -> [String: Double] {
        let d = probe.features
        let logits = features.withUnsafeBufferPointer { x in
            examples.indices.map { probe.logits(x.baseAddress! + $0 * d) }
        }
        let map = task.isRegression ? nil : GlueLabelMap(task: task, modelLabels: labels)
        var metrics = GlueEvaluator.score(task: task, split: trainSplit, examples: examples, logits: logits,
                                          labelMap: map, modelLabels: labels).metrics
        if task.isRegression {
            let errors = zip(examples, logits).map { pow(Double($1[0]) - ($0.score ?? .nan), 2) }
            metrics["mse"] = errors.reduce(0, +) / Double(max(1, errors.count))
        } else {
            metrics["accuracy"] = TaskMetrics.accuracy(predictions: logits.map(GlueEvaluator.argmax), labels: examples.map(\.label))
        }
        return metrics
    }

    /// Which features the written head reads, or why this base cannot have a frozen head.
    static func featureSource(_ model: EncoderModel, base: URL) throws -> String {
        guard model.config.family == .bert else {
            throw TechniqueError.invalid("\(base.path): frozen fine-tuning supports BERT bases with a pooler; DistilBERT's classifier reads a ReLU pre-classifier layer, so a linear head on its [CLS] row cannot be written as DistilBertForSequenceClassification")
        }
        switch model.head {
        case .encoderOnly(pooler: .some(_)), .sequenceClassification(pooler: .some(_), _, _):
            return "pooler: tanh(dense([CLS] after the last layer))"
        case .encoderOnly(pooler: nil), .sequenceClassification(pooler: nil, _, _):
            throw TechniqueError.invalid("\(base.path): the base has no pooler (pooler.dense); BertForSequenceClassification applies one before its classifier, so a head trained on the raw [CLS] row could not be written as that architecture")
        case .questionAnswering:
            throw TechniqueError.invalid("\(base.path): the base has a question-answering head; give a bare BERT encoder (BertModel) or a sequence classifier")
        }
    }

    static func checkOutput(_ output: URL, base: URL, overwrite: Bool) throws {
        func canonical(_ url: URL) -> String { url.standardizedFileURL.resolvingSymlinksInPath().path }
        guard canonical(output) != canonical(base) else {
            throw TechniqueError.invalid("\(output.path): the output folder is the base folder; write the fine-tuned checkpoint somewhere else")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw TechniqueError.invalid("\(output.path): exists and is not a folder") }
        let entries = try FileManager.default.contentsOfDirectory(atPath: output.path)
        guard entries.isEmpty || overwrite else {
            throw TechniqueError.invalid("\(output.path): the output folder exists and is not empty (\(entries.sorted().prefix(3).joined(separator: ", "))…); choose a new folder or allow overwriting")
        }
    }

    // MARK: - Writing the folder

    private static func write(output: URL, base: URL, config: ModelConfig, task: GlueTask, labels: [String],
                              probe: LinearProbe, record: inout FrozenTrainingRecord, started: Double) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: output, withIntermediateDirectories: true)
        try writeConfig(from: base.appendingPathComponent("config.json"), to: output.appendingPathComponent("config.json"),
                        task: task, labels: labels)
        for name in tokenizerFiles {
            let source = base.appendingPathComponent(name), destination = output.appendingPathComponent(name)
            guard manager.fileExists(atPath: source.path) else { continue }
            if manager.fileExists(atPath: destination.path) { try manager.removeItem(at: destination) }
            try manager.copyItem(at: source, to: destination)
        }
        record.droppedTensors = try writeWeights(from: base.appendingPathComponent("model.safetensors"),
                                                 to: output.appendingPathComponent("model.safetensors"),
                                                 family: config.family, probe: probe)
        record.wallS = MonotonicClock.now() - started
        try JSONCoding.encoder.encode(record).write(to: output.appendingPathComponent("training.json"), options: .atomic)
    }

    /// The base's `config.json` with the classification keys replaced (`TaskModelConfig`);
    /// every other key (hyper-parameters, `_name_or_path`, dtypes) is kept as the base wrote it.
    static func writeConfig(from source: URL, to destination: URL, task: GlueTask, labels: [String]) throws {
        try TaskModelConfig.write(from: source, to: destination, architecture: "BertForSequenceClassification", labels: labels,
                                  problemType: task.isRegression ? "regression" : "single_label_classification",
                                  finetuningTask: task.rawValue)
    }

    /// Copies the encoder tensors under task-model names and adds the classifier. Returns the
    /// tensors left out: buffers and pre-training heads the loader ignores (`position_ids`,
    /// `cls.*`) and a classifier the base already had.
    static func writeWeights(from source: URL, to destination: URL, family: ModelConfig.Family,
                             probe: LinearProbe) throws -> [String] {
        let file = try SafetensorsFile(url: source)
        let names = CheckpointNames(family: family, tensorNames: file.tensorNames)
        var tensors: [SafetensorsWriter.Tensor] = []
        var dropped: [String] = []
        for name in file.tensorNames {
            guard let info = file.info(name) else { continue }
            if name.hasPrefix(names.classifier + ".") || names.isKnownUnused(name) {
                dropped.append(name)
                continue
            }
            guard info.dtype.isFloatConvertible else {
                throw SafetensorsError(.unsupportedDType, path: source.path, tensor: name,
                                       "has dtype \(info.dtype.rawValue); only F32, F16 and BF16 weights can be copied")
            }
            let renamed = names.prefix.isEmpty ? family.rawValue + "." + name : name
            tensors.append(SafetensorsWriter.Tensor(name: renamed, dtype: info.dtype, shape: info.shape, values: try file.floats(name)))
        }
        tensors.append(SafetensorsWriter.Tensor(name: names.classifier + ".weight", dtype: .f32,
                                                shape: [probe.classes, probe.features], values: probe.weight))
        tensors.append(SafetensorsWriter.Tensor(name: names.classifier + ".bias", dtype: .f32,
                                                shape: [probe.classes], values: probe.bias))
        // transformers refuses safetensors files without a `format` entry.
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: destination)
        return dropped
    }
}

/// How `FrozenFinetune.run` extracts features and fits the head.
public struct FrozenFinetuneSettings: Sendable, Codable, Equatable {
    /// Train on the first N examples of the train split only (nil: all of them).
    public var limit: Int?
    /// Sequences per forward pass while extracting features.
    public var batchSize: Int
    /// Tokens per example, specials included; nil: `GlueEvaluator.defaultMaxSeqLen` (128), the
    /// length the written model is then evaluated at.
    public var maxSeqLen: Int?
    public var probe: LinearProbeSettings

    public init(limit: Int? = nil, batchSize: Int = 32, maxSeqLen: Int? = nil, probe: LinearProbeSettings = LinearProbeSettings()) {
        self.limit = limit
        self.batchSize = batchSize
        self.maxSeqLen = maxSeqLen
        self.probe = probe
    }

    public func validate() throws {
        if let limit, limit < 1 { throw TechniqueError.invalid("train limit must be at least 1; got \(limit)") }
        guard batchSize >= 1 else { throw TechniqueError.invalid("batch size must be at least 1; got \(batchSize)") }
        if let maxSeqLen, maxSeqLen < 3 {
            throw TechniqueError.invalid("max sequence length must be at least 3 ([CLS], a token, [SEP]); got \(maxSeqLen)")
        }
        try probe.validate()
    }
}

/// What a frozen fine-tune produced.
public struct FrozenFinetuneResult: Sendable {
    /// The checkpoint folder written.
    public var output: URL
    /// The head, exactly as written to `classifier.weight` / `classifier.bias`.
    public var probe: LinearProbe
    /// The contents of the folder's `training.json`.
    public var record: FrozenTrainingRecord
}

/// `training.json` of a frozen fine-tune: enough to tell how the head was made and to redo it.
public struct FrozenTrainingRecord: Sendable, Codable, Equatable {
    /// Always `frozen`: the encoder was not trained.
    public var regime: String
    /// The base checkpoint folder, as given.
    public var base: String
    /// The GLUE folder name (`SST-2`, …).
    public var task: String
    public var trainFile: String
    /// Examples the head was trained on (the first ones of the file, under a limit).
    public var trainExamples: Int
    public var availableTrainExamples: Int
    /// What the head reads.
    public var features: String
    public var maxSeqLen: Int
    public var batchSize: Int
    public var threads: Int
    /// The kind of head and how it was fitted.
    public var head: String
    public var probe: LinearProbeSettings
    public var iterations: Int
    public var evaluations: Int
    public var stop: LinearProbeFit.Stop
    public var gradientMax: Double
    /// Mean cross-entropy (classification) or mean squared error (STS-B) on the training set.
    public var trainLoss: Double
    public var trainObjective: Double
    /// The task's metrics on the training examples (`accuracy` for every classifier).
    public var trainMetrics: [String: Double]
    /// Tensors of the base not written (buffers, pre-training heads, a replaced classifier).
    public var droppedTensors: [String]
    /// Seconds spent extracting features, fitting, and in all (loading and writing included).
    public var extractionS: Double
    public var trainingS: Double
    public var wallS: Double
    public var engineVersion: String
}
