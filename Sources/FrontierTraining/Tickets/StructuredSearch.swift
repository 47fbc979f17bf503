import Foundation
import FrontierSupport
import FrontierTasks

/// Settings of a structured-pruning search; a folder resumes only under the same.
public struct StructuredSearchSettings: Codable, Sendable, Equatable {
    /// The recipe of the full fine-tune and of every retrained subnetwork.
    public var fineTune: FineTuneSettings
    /// Share of the heads (and of the feed-forward blocks, at least one) removed per step.
    public var perStep: Double
    /// Removal stops before the dev metric falls below this fraction of the full model's.
    public var threshold: Double
    /// Train sequences the importance scores average over (the first N; nil: all).
    public var importanceExamples: Int?

    public init(fineTune: FineTuneSettings, perStep: Double = 0.1, threshold: Double = 0.9, importanceExamples: Int? = 2048) {
        self.fineTune = fineTune
        self.perStep = perStep
        self.threshold = threshold
        self.importanceExamples = importanceExamples
    }

    public func validate() throws {
        guard perStep.isFinite, perStep > 0, perStep < 1 else { throw TrainingError.invalidSettings("--per-step must be in (0, 1); got \(perStep)") }
        guard threshold.isFinite, threshold > 0, threshold <= 1 else { throw TrainingError.invalidSettings("--threshold must be in (0, 1]; got \(threshold)") }
        if let importanceExamples, importanceExamples < 1 {
            throw TrainingError.invalidSettings("--importance-examples must be at least 1; got \(importanceExamples)")
        }
    }
}

/// One step of the removal, or one retrained subnetwork: a line of `steps.jsonl` or
/// `subnetworks.jsonl`.
public struct StructuredResult: Codable, Sendable, Equatable {
    /// `step-3`, or `full`, `good`, `random`, `bad`.
    public var name: String
    public var keptHeads: Int
    public var heads: Int
    public var keptFeedForward: Int
    public var feedForward: Int
    /// The metric the threshold reads, and every dev metric.
    public var metric: String
    public var value: Double
    public var metrics: [String: Double]
    /// Retrained subnetworks: the folder, training time and energy.
    public var folder: String?
    public var trainingS: Double?
    public var trainingJ: Double?
    public var energySource: String?
    public var structure: StructureMask
}

/// Structured pruning after Michel et al. 2019 and Prasanna et al. 2020:
///
/// 1. fine-tune the full model from θ0 (`full/`);
/// 2. on that fine-tuned model, repeatedly score every remaining head and feed-forward block
///    (`StructureImportance`) and remove the least important `perStep` of the heads and one
///    block — or, when that falls below `threshold` × the full dev metric, the heads alone, then
///    the block alone — until no removal keeps the metric above the threshold (the "good"
///    subnetwork);
/// 3. fine-tune from θ0 the good subnetwork, a random one and a "bad" one (the most important
///    heads and blocks of the full model removed) of the same size (`good/`, `random/`, `bad/`).
///
/// Every fine-tune is the caller's `train` into its own folder; finished ones are read back,
/// so a killed search resumes (the removal steps are recomputed: they are deterministic).
public final class StructuredSearch {
    public let settings: StructuredSearchSettings
    public let baseJob: FineTuneJob
    public let folder: URL

    public enum Event {
        case training(String)
        case scored(examples: Int)
        case step(StructuredResult, accepted: Bool)
        case finished(StructuredResult)
    }

    public init(settings: StructuredSearchSettings, baseJob: FineTuneJob, folder: URL) {
        self.settings = settings
        self.baseJob = baseJob
        self.folder = folder.standardizedFileURL
    }

    public static let manifestFile = "structured.json"

    /// The task's headline metric among `metrics` (GLUE's first official one; SQuAD's F1).
    static func headline(task: String, metrics: [String: Double]) -> String? {
        if let glue = GlueTask(name: task) { return glue.metricKeys.first { metrics[$0] != nil } }
        return metrics["f1"] != nil ? "f1" : metrics.keys.sorted().first
    }

    public func run(train: TicketSearch.Train, event: (Event) -> Void = { _ in }) throws -> [StructuredResult] {
        try settings.validate()
        let manager = FileManager.default
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        let manifestURL = folder.appendingPathComponent(Self.manifestFile)
        if let data = manager.contents(atPath: manifestURL.path) {
            let saved = try JSONCoding.decoder.decode(StructuredSearchSettings.self, from: data)
            guard saved == settings else {
                var differences = settings.fineTune.differences(from: saved.fineTune).map { $0.replacingOccurrences(of: "in the saved state", with: "in the folder") }
                if saved.perStep != settings.perStep { differences.append("--per-step: \(saved.perStep) in the folder, \(settings.perStep) now") }
                if saved.threshold != settings.threshold { differences.append("--threshold: \(saved.threshold) in the folder, \(settings.threshold) now") }
                if saved.importanceExamples != settings.importanceExamples { differences.append("--importance-examples differs") }
                throw TicketSearchError.otherSearch(folder: folder.path, differences: differences)
            }
        } else {
            try DurableFiles.write(try JSONCoding.encoder.encode(settings) + Data("\n".utf8), to: manifestURL)
        }
        let full = StructureMask.full(for: baseJob.model)
        let task = settings.fineTune.task

        func trained(_ name: String, structure: StructureMask) throws -> (TicketSearch.Trained, StructuredResult) {
            let output = folder.appendingPathComponent(name)
            var job = baseJob
            var model = baseJob.model
            try structure.apply(to: &model)
            job.model = model
            job.mask = structure == full ? nil : try structure.weightMask(for: model)
            let done: TicketSearch.Trained
            if let record = try TicketSearch.readRecord(output) {
                done = TicketSearch.Trained(model: try TicketSearch.load(output, like: baseJob.model), record: record)
            } else {
                event(.training(name))
                try manager.createDirectory(at: output, withIntermediateDirectories: true)
                try DurableFiles.write(try JSONCoding.encoder.encode(structure) + Data("\n".utf8), to: output.appendingPathComponent("structure.json"))
                done = try train(job, output, TicketMask.dense(for: model), nil)
            }
            let metrics = done.record.finalMetrics
            let metric = Self.headline(task: task, metrics: metrics) ?? "loss"
            let result = StructuredResult(name: name, keptHeads: structure.keptHeads, heads: structure.headCount,
                                          keptFeedForward: structure.keptFeedForward, feedForward: structure.feedForward.count,
                                          metric: metric, value: metrics[metric] ?? .nan, metrics: metrics, folder: name,
                                          trainingS: done.record.throughput.trainingS, trainingJ: done.record.energy?.trainingJ,
                                          energySource: done.record.energy?.source, structure: structure)
            event(.finished(result))
            return (done, result)
        }

        // 1. The full fine-tune.
        let (fullTrained, fullResult) = try trained("full", structure: full)
        let goal = settings.threshold * fullResult.value

        // 2. Removal on the fine-tuned model, without retraining.
        let engine = GradientEngine(threads: settings.fineTune.threads)
        let sequences = Array(baseJob.data.sequences.prefix(settings.importanceExamples ?? baseJob.data.sequences.count))
        func score(_ structure: StructureMask) throws -> StructureImportance {
            var model = fullTrained.model
            try structure.apply(to: &model)
            let importance = try StructureImportance.measure(model, sequences: sequences, engine: engine)
            event(.scored(examples: importance.examples))
            return importance
        }
        func evaluate(_ structure: StructureMask, name: String) throws -> StructuredResult {
            var model = fullTrained.model
            try structure.apply(to: &model)
            let metrics = try baseJob.evaluator.evaluate(model.encoderModel())
            let metric = Self.headline(task: task, metrics: metrics) ?? "loss"
            return StructuredResult(name: name, keptHeads: structure.keptHeads, heads: structure.headCount, keptFeedForward: structure.keptFeedForward,
                                    feedForward: structure.feedForward.count, metric: metric, value: metrics[metric] ?? .nan, metrics: metrics,
                                    folder: nil, trainingS: nil, trainingJ: nil, energySource: nil, structure: structure)
        }
        let headStep = max(1, Int((settings.perStep * Double(full.headCount)).rounded()))
        let blockStep = max(1, Int((settings.perStep * Double(full.feedForward.count)).rounded()))
        let initial = try score(full)
        var good = full
        var steps: [StructuredResult] = []
        var importance = initial
        removal: while good.keptHeads > 0 || good.keptFeedForward > 0 {
            let tries = [(min(headStep, good.keptHeads), min(blockStep, good.keptFeedForward)),
                         (min(headStep, good.keptHeads), 0), (0, min(blockStep, good.keptFeedForward))]
            for (heads, blocks) in tries where heads + blocks > 0 {
                let candidate = importance.removing(from: good, heads: heads, feedForward: blocks)
                let result = try evaluate(candidate, name: "step-\(steps.count + 1)")
                let accepted = result.value >= goal
                event(.step(result, accepted: accepted))
                if accepted {
                    steps.append(result)
                    good = candidate
                    importance = try score(good)
                    continue removal
                }
            }
            break
        }
        try writeLines(steps, to: folder.appendingPathComponent("steps.jsonl"))

        // 3. Good, random and bad subnetworks of the same size, retrained from θ0.
        let removedHeads = full.keptHeads - good.keptHeads, removedBlocks = full.keptFeedForward - good.keptFeedForward
        let random = full.removingRandomly(heads: removedHeads, feedForward: removedBlocks, seed: settings.fineTune.seed &+ 0x5EED)
        let bad = initial.removing(from: full, heads: removedHeads, feedForward: removedBlocks, mostImportant: true)
        var results = [fullResult]
        for (name, structure) in [("good", good), ("random", random), ("bad", bad)] {
            results.append(try trained(name, structure: structure).1)
            try writeLines(results, to: folder.appendingPathComponent("subnetworks.jsonl"))
        }
        return results
    }

    func writeLines<T: Encodable>(_ values: [T], to url: URL) throws {
        try DurableFiles.replaceJSONLines(url, with: values)
    }
}
