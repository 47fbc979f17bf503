import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierTasks

/// What the coordinator checks before the first trial, so that a grid that cannot work fails in
/// seconds with the file named, instead of every trial failing one by one in a worker minutes
/// later: each model folder opens (config.json parses, vocab.txt is there, the safetensors
/// header is readable and its tensors have the shapes the config implies), each task's dev
/// data is there, each model's head fits each task it is paired with (and a model that
/// records the task it was fine-tuned on is not paired with another), and each configuration
/// validates.
///
/// Cheap by design: the safetensors file is mapped and only its header is read, never the
/// weights, and each model, data folder and configuration is checked once however many points
/// share it.
///
/// Paths are expanded as an agent expands them (`TrialSpec.expandingPaths`), with this
/// machine's environment and shared root. `Files.required` (`frontier local`, whose agents
/// share this machine's files) makes a path that is not here an error; `Files.whereFound`
/// (`frontier serve`, whose agents may keep models elsewhere) checks what is here — a model
/// folder whose config.json is here, a data file that is here — and only notes the rest.
public struct GridPreflight: Sendable {
    public enum Files: Sendable, Equatable {
        case required
        case whereFound
    }

    /// One thing that would make trials fail, with the file or folder at fault first.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The file or folder at fault, or the configuration when no file is.
        public var subject: String
        public var message: String
        /// The configurations it affects (`dense on SST-2 with minilm-l6-sst2`; the first few).
        public var points: [String]
        public var pointCount: Int

        public var description: String {
            let shown = points.prefix(3).joined(separator: "; ")
            let more = pointCount > 3 ? " and \(pointCount - 3) more" : ""
            return "\(subject): \(message) (\(pointCount == 1 ? "point" : "\(pointCount) points"): \(shown)\(more))"
        }
    }

    public struct Report: Sendable {
        public var problems: [Problem] = []
        /// What was left unchecked, and why (paths not on this machine under `whereFound`).
        public var notes: [String] = []
        public var modelsChecked = 0
        public var dataChecked = 0
        public var configurationsChecked = 0
        public var ok: Bool { problems.isEmpty }
    }

    public var files: Files
    public var environment: [String: String]
    public var sharedRoot: URL

    public init(files: Files, environment: [String: String] = ProcessInfo.processInfo.environment, sharedRoot: URL) {
        self.files = files
        self.environment = environment
        self.sharedRoot = sharedRoot
    }

    public func check(_ points: [SweepPoint]) -> Report {
        var report = Report()
        var problems: [String: (problem: Problem, order: Int)] = [:]
        func add(_ subject: String, _ message: String, point: String) {
            let key = subject + "\u{0}" + message
            if var entry = problems[key] {
                entry.problem.pointCount += 1
                if entry.problem.points.count < 3 { entry.problem.points.append(point) }
                problems[key] = entry
            } else {
                problems[key] = (Problem(subject: subject, message: message, points: [point], pointCount: 1), problems.count)
            }
        }
        var unchecked: [String: Int] = [:]
        // model path → what its folder says (or why it could not be read); data file → present.
        var models: [String: Result<ModelFacts, PreflightError>] = [:]
        var dataFiles: [String: Bool] = [:]
        var seenConfigurations: Set<String> = []

        // A training stage's spec is the stage, checked when the grid expanded; its model and
        // data paths are the ones its points name.
        for sweepPoint in points where !sweepPoint.isTrainingStage && seenConfigurations.insert(sweepPoint.configKey).inserted {
            report.configurationsChecked += 1
            let point = (label: "\(sweepPoint.label) on \(sweepPoint.task) with \(sweepPoint.model)", specJSON: sweepPoint.specJSON)
            let spec: TrialSpec
            do {
                spec = try TrialSpec.decode(point.specJSON, source: "grid point \(point.label)")
                try spec.validate()
            } catch {
                add(point.label, "invalid configuration: \(error)", point: point.label)
                continue
            }
            let expanded: TrialSpec
            do {
                expanded = try spec.expandingPaths(environment: environment, sharedRoot: sharedRoot)
            } catch {
                if files == .required {
                    add(spec.model, "cannot resolve the path here: \(error)", point: point.label)
                } else {
                    unchecked["\(error)", default: 0] += 1
                }
                continue
            }

            // The model folder, once.
            let facts: ModelFacts?
            if let known = models[expanded.model] {
                facts = try? known.get()
                if case let .failure(error) = known { add(error.subject, error.message, point: point.label) }
            } else if files == .whereFound,
                      !FileManager.default.fileExists(atPath: URL(fileURLWithPath: expanded.model).appendingPathComponent("config.json").path) {
                // A folder without config.json (absent, or a placeholder) is not this machine's copy.
                unchecked["model \(expanded.model) is not on this machine (no config.json)", default: 0] += 1
                facts = nil
            } else {
                report.modelsChecked += 1
                let result = Result { try ModelFacts.read(folder: URL(fileURLWithPath: expanded.model)) }
                    .mapError { $0 as? PreflightError ?? PreflightError(subject: expanded.model, message: "\($0)") }
                models[expanded.model] = result
                facts = try? result.get()
                if case let .failure(error) = result { add(error.subject, error.message, point: point.label) }
            }
            // A trained point is measured on its stage's checkpoint, whose head the stage fits to
            // the task (a bare encoder gets one): the grid model's head is not what runs.
            if let facts, !sweepPoint.inputs.contains(where: { $0.role == "checkpoint" }) {
                for problem in facts.problems(for: expanded.task) { add(problem.subject, problem.message, point: point.label) }
            }

            // The task's dev data, once per file.
            for file in Self.devFiles(of: expanded) {
                let present: Bool
                if let known = dataFiles[file] {
                    present = known
                } else {
                    present = FileManager.default.fileExists(atPath: file)
                    if present || files == .required { report.dataChecked += 1 }
                    dataFiles[file] = present
                }
                guard !present else { continue }
                if files == .required {
                    add(file, "\(expanded.task) dev data not found (the grid's data_root or the task's data: is "
                        + "\(spec.data)\(spec.data == expanded.data ? "" : ", here \(expanded.data)"))", point: point.label)
                } else {
                    unchecked["\(expanded.task) data \(file) is not on this machine", default: 0] += 1
                }
            }

            // A mask file a magnitude-pruning step reads.
            for technique in expanded.techniques {
                guard let mask = technique.mask, technique.name == .magnitudePruning else { continue }
                if !FileManager.default.fileExists(atPath: mask) {
                    if files == .required {
                        add(mask, "mask file not found", point: point.label)
                    } else {
                        unchecked["mask \(mask) is not on this machine", default: 0] += 1
                    }
                }
            }
        }
        report.problems = problems.values.sorted { $0.order < $1.order }.map(\.problem)
        report.notes = unchecked.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) configuration(s)): left to the agents" }
        return report
    }

    /// The files a trial on `spec` reads its dev examples from (`TrialWorkload`'s layout).
    static func devFiles(of spec: TrialSpec) -> [String] {
        let root = URL(fileURLWithPath: spec.data)
        if spec.isSquad { return [root.appendingPathComponent("dev-v1.1.json").path] }
        guard let task = GlueTask(name: spec.task) else { return [] }
        return task.devSplits.map { root.appendingPathComponent(task.folderName).appendingPathComponent("\($0).tsv").path }
    }
}

/// A preflight finding that names its file.
struct PreflightError: Error, Sendable {
    var subject: String
    var message: String
}

/// What a checkpoint folder says about itself, read without loading its weights.
struct ModelFacts: Sendable {
    enum Head: Sendable, Equatable { case sequenceClassification, questionAnswering, encoderOnly }

    var folder: String
    var config: ModelConfig
    var head: Head
    /// The task the folder records it was fine-tuned on, and the file that says so.
    var recordedTask: RecordedTask?

    /// Opens config.json, vocab.txt and the safetensors header; throws the first problem,
    /// naming its file. The shape checks mirror `EncoderModel.init` (which does them for real,
    /// with the weights, in the worker): embeddings, every layer's projections, no extra
    /// layer, and the head.
    static func read(folder url: URL) throws -> ModelFacts {
        let folder = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PreflightError(subject: folder, message: "model folder not found (a checkpoint folder holds config.json, vocab.txt and model.safetensors)")
        }
        let configURL = url.appendingPathComponent("config.json")
        let config: ModelConfig
        do { config = try ModelConfig.load(from: configURL) } catch {
            throw PreflightError(subject: configURL.path, message: Self.withoutPath("\(error)", configURL.path))
        }
        let vocab = url.appendingPathComponent("vocab.txt")
        guard let vocabText = try? String(contentsOf: vocab, encoding: .utf8) else {
            throw PreflightError(subject: vocab.path, message: "not found or not UTF-8 text (the WordPiece vocabulary, one token a line)")
        }
        let tokens = vocabText.split(separator: "\n", omittingEmptySubsequences: false).count - (vocabText.hasSuffix("\n") ? 1 : 0)
        guard tokens <= config.vocabSize else {
            throw PreflightError(subject: vocab.path, message: "has \(tokens) tokens but config.json's vocab_size is \(config.vocabSize)")
        }
        let weightsURL = url.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw PreflightError(subject: weightsURL.path, message: "not found (only safetensors checkpoints are supported)")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: weightsURL) } catch {
            throw PreflightError(subject: weightsURL.path, message: Self.withoutPath("\(error)", weightsURL.path))
        }
        let head = try checkShapes(file, config: config, path: weightsURL.path)
        return ModelFacts(folder: folder, config: config, head: head, recordedTask: RecordedTask(folder: url))
    }

    static func checkShapes(_ file: SafetensorsFile, config c: ModelConfig, path: String) throws -> Head {
        let names = CheckpointNames(family: c.family, tensorNames: file.tensorNames)
        let h = c.hiddenSize
        func expect(_ name: String, _ shape: [Int]) throws {
            guard let actual = file.info(name)?.shape else {
                throw PreflightError(subject: path, message: "tensor '\(name)' is missing (config.json: \(c.family.rawValue), "
                    + "\(c.numLayers) layers, hidden size \(h))")
            }
            guard actual == shape else {
                throw PreflightError(subject: path, message: "tensor '\(name)' has shape \(actual), but config.json implies \(shape)")
            }
        }
        try expect(names.wordEmbeddings + ".weight", [c.vocabSize, h])
        try expect(names.positionEmbeddings + ".weight", [c.maxPositions, h])
        if c.typeVocabSize > 0 { try expect(names.tokenTypeEmbeddings + ".weight", [c.typeVocabSize, h]) }
        for index in 0..<c.numLayers {
            let n = names.layer(index)
            for name in [n.query, n.key, n.value, n.attentionOutput] { try expect(name + ".weight", [h, h]) }
            try expect(n.intermediate + ".weight", [c.intermediateSize, h])
            try expect(n.output + ".weight", [h, c.intermediateSize])
        }
        let extra = names.layer(c.numLayers).query + ".weight"
        if file.info(extra) != nil {
            throw PreflightError(subject: path, message: "has a layer \(c.numLayers) ('\(extra)') but config.json says \(c.numLayers) layers")
        }
        let wantsClassifier = c.architectures.contains { $0.hasSuffix("ForSequenceClassification") }
        let wantsQA = c.architectures.contains { $0.hasSuffix("ForQuestionAnswering") }
        if file.info(names.questionAnswering + ".weight") != nil || wantsQA {
            try expect(names.questionAnswering + ".weight", [2, h])
            return .questionAnswering
        }
        if file.info(names.classifier + ".weight") != nil || wantsClassifier {
            try expect(names.classifier + ".weight", [c.numLabels, h])
            return .sequenceClassification
        }
        return .encoderOnly
    }

    /// Whether this model can be scored on `task`: its head, and the task it records.
    func problems(for task: String) -> [PreflightError] {
        var out: [PreflightError] = []
        let isSquad = ["squad", "squad1.1", "squad-v1.1"].contains(task.lowercased())
        let configPath = URL(fileURLWithPath: folder).appendingPathComponent("config.json").path
        if let recorded = recordedTask {
            let same = recorded.matches(task)
            if same == false {
                out.append(PreflightError(subject: recorded.file, message: "this model was fine-tuned on \(recorded.name), not "
                    + "\(task): its scores on \(task) would mean nothing (pair it only with its task, e.g. an exclude rule "
                    + "{ task: \(task), model: \(URL(fileURLWithPath: folder).lastPathComponent) })"))
            }
        }
        if isSquad {
            if head != .questionAnswering {
                out.append(PreflightError(subject: configPath, message: "squad needs a question-answering head (qa_outputs); this model has none"))
            }
            return out
        }
        guard let glue = GlueTask(name: task) else { return out }
        guard head == .sequenceClassification else {
            out.append(PreflightError(subject: configPath, message: "\(glue.folderName) needs a sequence-classification head; this model has "
                + (head == .questionAnswering ? "a question-answering head" : "no task head (an encoder only: fine-tune one with `frontier-agent finetune`)")))
            return out
        }
        if glue.isRegression {
            if !(config.isRegression && config.numLabels == 1) {
                out.append(PreflightError(subject: configPath, message: "STS-B is a regression task and needs one regression output "
                    + "(num_labels 1); the model has \(config.numLabels) classes \(config.labels)"))
            }
        } else if config.isRegression {
            out.append(PreflightError(subject: configPath, message: "the model has a regression head (one output); \(glue.folderName) is a "
                + "classification task with classes \(glue.labels)"))
        } else if GlueLabelMap(task: glue, modelLabels: config.labels) == nil {
            out.append(PreflightError(subject: configPath, message: "the model has \(config.numLabels) classes \(config.labels); "
                + "\(glue.folderName) needs at least \(glue.labels.count) (\(glue.labels.joined(separator: ", ")))"))
        }
        return out
    }

    /// An engine error's text without the path it starts with (the problem's subject says it).
    static func withoutPath(_ text: String, _ path: String) -> String {
        text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
    }
}
