import Foundation
import FrontierEngine
import FrontierSupport

/// The lottery-ticket experiments as a loop over levels, each level one fine-tune in its own
/// checkpoint folder:
///
/// - **IMP** (Chen et al. 2020): level 0 fine-tunes the dense model from θ0 (the base with its
///   head); each next level prunes the smallest-magnitude weights of the last level's trained
///   weights, globally over the prunable matrices and among those still kept, rewinds the
///   encoder to θ0 (or to update `rewindStep` of level 0), keeps or rewinds the head, and
///   fine-tunes again under the mask.
/// - **Controls** at the per-matrix sparsities of an IMP folder's levels, each fine-tuned from
///   θ0 with the same recipe: `one-shot` prunes the dense fine-tuned weights (IMP's level 0)
///   by magnitude in each matrix, `random-pruning` draws the same number of positions at
///   random, `random-reinit` keeps IMP's mask on re-initialised blocks.
///
/// Training itself (meters, progress, writing the folder) is the caller's `train`; this type
/// decides masks and starting weights, and what a resumed search can read back instead of
/// training again.
public final class TicketSearch {
    /// A level's trained model and its `training.json`.
    public struct Trained {
        public var model: TrainableModel
        public var record: FineTuneRecord

        public init(model: TrainableModel, record: FineTuneRecord) {
            self.model = model
            self.record = record
        }
    }

    /// Fine-tunes `job` into `folder` (resuming the folder's training state if it has one),
    /// writes the checkpoint there with the mask, and returns the result. `afterUpdate` is
    /// `FineTuneHooks.afterUpdate`.
    public typealias Train = (_ job: FineTuneJob, _ folder: URL, _ mask: TicketMask,
                              _ afterUpdate: FineTuneHooks.AfterUpdate?) throws -> Trained

    public enum Event {
        /// A level starts training (`resumed`: its folder had a training state).
        case levelStarted(level: Int, levels: Int, sparsity: Double, resumed: Bool)
        case levelFinished(TicketLevel, levels: Int)
        /// A level finished by an earlier process (read back, not trained).
        case levelRead(TicketLevel)
    }

    public let settings: TicketSearchSettings
    public let store: TicketSearchStore
    /// The job of the dense model at θ0: the recipe, the data, the evaluator and the head.
    public let baseJob: FineTuneJob

    public init(settings: TicketSearchSettings, baseJob: FineTuneJob, store: TicketSearchStore) {
        self.settings = settings
        self.baseJob = baseJob
        self.store = store
    }

    /// The manifest this search writes (or checks against the one in the folder).
    public func manifest() throws -> TicketSearchManifest {
        // Weights IMP may prune; a control follows its IMP folder's choice for the pooler.
        func prunable(_ pooler: PoolerPruning) -> Int {
            let exempt = baseJob.model.exemptFromPruning(pooler: pooler)
            return TicketMask.dense(for: baseJob.model).matrices.filter { !exempt.contains($0.name) }.reduce(0) { $0 + $1.count }
        }
        switch settings.method {
        case .imp:
            try settings.schedule.validate()
            let prunable = prunable(settings.pooler)
            return TicketSearchManifest(settings: settings, prunable: prunable, pruned: settings.schedule.prunedCounts(prunable: prunable))
        case .oneShot, .randomPruning, .randomReinit:
            let source = try sourceManifest()
            let prunable = prunable(source.settings.pooler)
            guard source.prunable == prunable else {
                throw TrainingError.invalidSettings("\(settings.source ?? ""): its models have \(source.prunable) prunable weights; this base has \(prunable)")
            }
            return TicketSearchManifest(settings: settings, prunable: prunable, pruned: source.pruned)
        }
    }

    /// Levels this search trains, in order.
    public func plannedLevels(_ manifest: TicketSearchManifest) -> [Int] {
        switch settings.method {
        case .imp:
            // One level alone (a sweep's stage, or a search spread over machines): the level
            // before it must be in the folder.
            return settings.levels?.sorted() ?? Array(manifest.pruned.indices)
        default: return (settings.levels ?? Array(manifest.pruned.indices.dropFirst())).sorted()
        }
    }

    /// Runs every level not finished yet; returns all levels' records, in level order.
    public func run(train: Train, event: (Event) -> Void = { _ in }) throws -> [TicketLevel] {
        let manifest = try manifest()
        if let saved = try store.loadManifest() {
            guard saved.settings == manifest.settings else {
                let differences = manifest.settings.differences(from: saved.settings)
                throw TicketSearchError.otherSearch(folder: store.folder.path, differences: differences.isEmpty ? ["the settings differ"] : differences)
            }
        } else {
            try store.saveManifest(manifest)
        }
        let planned = plannedLevels(manifest)
        if let bad = planned.first(where: { !manifest.pruned.indices.contains($0) || (settings.method != .imp && $0 == 0) }) {
            throw TrainingError.invalidSettings("level \(bad) is not a pruned level of \(settings.source ?? "the schedule") (levels 1…\(manifest.pruned.count - 1))")
        }
        var finished = Dictionary(try store.levels().map { ($0.level, $0) }, uniquingKeysWith: { $1 })
        var trained: [Int: Trained] = [:]
        var masks: [Int: TicketMask] = [0: TicketMask.dense(for: baseJob.model)]

        for level in planned {
            if let done = finished[level] { event(.levelRead(done)); continue }
            let folder = store.levelFolder(level)
            if let record = try readFinished(folder) {
                let model = try loadModel(folder)
                let mask = try self.mask(level, manifest: manifest, trained: &trained, masks: &masks)
                let entry = levelRecord(level: level, mask: mask, prunable: manifest.prunable, record: record, folder: folder)
                try store.append(entry)
                finished[level] = entry
                trained[level] = Trained(model: model, record: record)
                event(.levelRead(entry))
                continue
            }
            let mask = try self.mask(level, manifest: manifest, trained: &trained, masks: &masks)
            var job = baseJob
            job.model = try start(level, mask: mask, trained: &trained)
            job.mask = mask.pruned > 0 ? try mask.weightMask(for: job.model) : nil
            if level > 0 || settings.method != .imp {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let maskURL = store.maskURL(level)
                if !FileManager.default.fileExists(atPath: maskURL.path) {
                    try mask.write(to: maskURL, metadata: ["method": settings.method.rawValue, "level": "\(level)"])
                }
                job.settings.mask = maskURL.path
                job.inputs.append(try InputFingerprint(url: maskURL))
            }
            var afterUpdate: FineTuneHooks.AfterUpdate?
            if settings.method == .imp, level == 0, let step = settings.rewindStep {
                let url = store.rewindPointURL
                afterUpdate = { current, model in
                    guard current == step else { return }
                    try SafetensorsWriter.write(Self.pointTensors(model().parameters), metadata: ["format": "frontier-rewind-point", "step": "\(step)"], to: url)
                }
            }
            event(.levelStarted(level: level, levels: manifest.pruned.count, sparsity: Self.sparsity(mask, prunable: manifest.prunable),
                                resumed: TrainingStateStore(output: folder).exists))
            let result = try train(job, folder, mask, afterUpdate)
            let entry = levelRecord(level: level, mask: mask, prunable: manifest.prunable, record: result.record, folder: folder)
            try store.append(entry)
            finished[level] = entry
            trained[level] = result
            event(.levelFinished(entry, levels: manifest.pruned.count))
        }
        return planned.compactMap { finished[$0] }
    }

    // MARK: Masks and starting points

    /// The mask a level trains under: from its folder when an earlier process derived it, else
    /// derived now (and written by `run` before training).
    func mask(_ level: Int, manifest: TicketSearchManifest, trained: inout [Int: Trained], masks: inout [Int: TicketMask]) throws -> TicketMask {
        if let mask = masks[level] { return mask }
        let url = store.maskURL(level)
        let mask: TicketMask
        if FileManager.default.fileExists(atPath: url.path) {
            mask = try TicketMask.read(from: url, for: baseJob.model)
        } else {
            switch settings.method {
            case .imp:
                let previous = try self.mask(level - 1, manifest: manifest, trained: &trained, masks: &masks)
                let model = try trainedModel(level - 1, trained: &trained)
                mask = try TicketPruning.magnitude(model, from: previous, pruned: manifest.pruned[level],
                                                   exempt: baseJob.model.exemptFromPruning(pooler: settings.pooler))
            case .oneShot:
                let dense = try sourceModel(0)
                mask = try TicketPruning.magnitudePerMatrix(dense, counts: TicketPruning.counts(of: try sourceMask(level)))
            case .randomPruning:
                mask = TicketPruning.random(like: try sourceMask(level), seed: settings.fineTune.seed &* 1_000_003 &+ UInt64(level))
            case .randomReinit:
                mask = try sourceMask(level)
            }
        }
        guard mask.pruned == manifest.pruned[level] else {
            throw TrainingError.checkpoint(path: url.path, detail: "the mask prunes \(mask.pruned) weights; level \(level) prunes \(manifest.pruned[level])")
        }
        masks[level] = mask
        return mask
    }

    /// The weights a level starts from, its mask applied.
    func start(_ level: Int, mask: TicketMask, trained: inout [Int: Trained]) throws -> TrainableModel {
        switch settings.method {
        case .imp:
            guard level > 0 else { return baseJob.model }
            let previous = try trainedModel(level - 1, trained: &trained)
            return TicketRewind.rewound(previous, to: try rewindPoint(), head: settings.head, mask: mask)
        case .oneShot, .randomPruning:
            var model = baseJob.model
            mask.apply(to: &model)
            return model
        case .randomReinit:
            var model = TicketRewind.reinitialised(baseJob.model, seed: settings.fineTune.seed &+ 0x5EED)
            mask.apply(to: &model)
            return model
        }
    }

    /// θ0, or the dense run's weights after `rewindStep` updates.
    func rewindPoint() throws -> ParameterVector {
        guard let step = settings.rewindStep else { return baseJob.model.parameters }
        let url = store.rewindPointURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.checkpoint(path: url.path, detail: "missing: level 0 should have written the weights after update \(step)")
        }
        let file = try SafetensorsFile(url: url)
        let layout = baseJob.model.layout
        var values = [Float](repeating: 0, count: layout.count)
        for slot in layout.slots {
            guard file.info(slot.name)?.shape == slot.shape else {
                throw TrainingError.checkpoint(path: url.path, detail: "'\(slot.name)' is missing or has another shape than the model's \(slot.shape)")
            }
            values.replaceSubrange(slot.range, with: try file.floats(slot.name))
        }
        return ParameterVector(layout: layout, values: values)
    }

    static func pointTensors(_ parameters: ParameterVector) -> [SafetensorsWriter.Tensor] {
        parameters.layout.slots.map { SafetensorsWriter.Tensor(name: $0.name, dtype: .f32, shape: $0.shape, values: Array(parameters.values[$0.range])) }
    }

    // MARK: Reading levels back

    func trainedModel(_ level: Int, trained: inout [Int: Trained]) throws -> TrainableModel {
        if let done = trained[level] { return done.model }
        let folder = store.levelFolder(level)
        guard let record = try readFinished(folder) else {
            throw TrainingError.checkpoint(path: folder.path, detail: "level \(level) has not finished (no \(FineTunedCheckpoint.recordFile))")
        }
        let model = try loadModel(folder)
        trained[level] = Trained(model: model, record: record)
        return model
    }

    func readFinished(_ folder: URL) throws -> FineTuneRecord? { try Self.readRecord(folder) }

    /// The `training.json` of a finished fine-tune folder (nil: not finished).
    public static func readRecord(_ folder: URL) throws -> FineTuneRecord? {
        let url = folder.appendingPathComponent(FineTunedCheckpoint.recordFile)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do {
            return try JSONCoding.decoder.decode(FineTuneRecord.self, from: data)
        } catch {
            throw TrainingError.checkpoint(path: url.path, detail: "not a fine-tune record (\(error))")
        }
    }

    func loadModel(_ folder: URL) throws -> TrainableModel { try Self.load(folder, like: baseJob.model) }

    /// A fine-tuned folder's model in `model`'s layout (the same tensors, in the same order).
    public static func load(_ folder: URL, like model: TrainableModel) throws -> TrainableModel {
        let checkpoint = try Checkpoint.load(directory: folder)
        var result = model
        let values = try TrainableModel(checkpoint.model).parameters
        guard values.layout.names == model.layout.names, values.layout.count == model.layout.count else {
            throw TrainingError.checkpoint(path: folder.path, detail: "its tensors are not the searched model's (another base or task?)")
        }
        result.parameters = ParameterVector(layout: model.layout, values: values.values)
        return result
    }

    // MARK: Controls' source

    func sourceStore() throws -> TicketSearchStore {
        guard let source = settings.source else { throw TrainingError.invalidSettings("a control needs the IMP folder whose masks it follows") }
        return TicketSearchStore(folder: URL(fileURLWithPath: source))
    }

    func sourceManifest() throws -> TicketSearchManifest {
        let store = try sourceStore()
        guard let manifest = try store.loadManifest() else {
            throw TrainingError.invalidSettings("\(store.folder.path): no \(TicketSearchStore.manifestFile); give the folder an imp run wrote")
        }
        guard manifest.settings.method == .imp else {
            throw TrainingError.invalidSettings("\(store.folder.path) holds a \(manifest.settings.method.rawValue) control, not an imp run")
        }
        return manifest
    }

    func sourceMask(_ level: Int) throws -> TicketMask {
        let url = try sourceStore().maskURL(level)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.invalidSettings("\(url.path) is missing: the imp run has not reached level \(level) yet")
        }
        return try TicketMask.read(from: url, for: baseJob.model)
    }

    func sourceModel(_ level: Int) throws -> TrainableModel {
        let folder = try sourceStore().levelFolder(level)
        guard try readFinished(folder) != nil else {
            throw TrainingError.invalidSettings("\(folder.path) has not finished: one-shot pruning needs the imp run's dense fine-tuned model")
        }
        return try loadModel(folder)
    }

    /// Pruned over the search's prunable count (which leaves out a pooler kept dense).
    static func sparsity(_ mask: TicketMask, prunable: Int) -> Double {
        prunable == 0 ? 0 : Double(mask.pruned) / Double(prunable)
    }

    func levelRecord(level: Int, mask: TicketMask, prunable: Int, record: FineTuneRecord, folder: URL) -> TicketLevel {
        TicketLevel(method: settings.method, level: level, sparsity: Self.sparsity(mask, prunable: prunable), pruned: mask.pruned, prunable: prunable,
                    task: record.task, seed: record.settings.seed, metrics: record.finalMetrics, folder: folder.lastPathComponent,
                    steps: record.schedule.totalSteps, trainingS: record.throughput.trainingS, wallS: record.wallS,
                    examplesPerS: record.throughput.examplesPerS, trainingJ: record.energy?.trainingJ, energySource: record.energy?.source,
                    finishedAt: record.finishedAt)
    }
}
