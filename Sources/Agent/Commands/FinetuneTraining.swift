import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierTechniques
import FrontierTraining

/// `finetune` by backprop: checks the output folder (resume, finished, or new), prepares the
/// base (techniques, masks, head), runs `FineTuner` with the energy meter and a progress bar,
/// writes the checkpoint folder and removes the training state.
///
/// Exit statuses: 64 when the run cannot start (its options, inputs or output folder), 1 when
/// training fails (a non-finite loss, a failed evaluation), 70 when the state or the
/// checkpoint cannot be written.
struct FinetuneTraining {
    let command: FinetuneCommand

    /// Where the output folder stands before training.
    enum Start {
        case fresh
        case resume(step: Int, total: Int)
        case finished(FineTuneRecord)
    }

    func run() throws {
        ParentWatch.honourRequest()
        let started = MonotonicClock.now()
        let settings = command.trainingSettings()
        let output = URL(fileURLWithPath: command.out).standardizedFileURL
        let store = TrainingStateStore(output: output)
        Blas.setThreads(settings.threads)

        let meter: TrainingEnergyMeter
        let start: Start
        let inputs: [InputFingerprint]
        do {
            meter = try TrainingEnergyMeter(choice: command.training.energy)
            inputs = try FineTuneSetup.inputs(settings: settings)
            start = try checkOutput(output, store: store, settings: settings, inputs: inputs)
        } catch {
            throw Self.fail(error, status: 64)
        }
        defer { meter.stop() }
        if case let .finished(record) = start {
            note("finetune: \(output.path) already holds this fine-tune, finished \(record.finishedAt); nothing to do (--restart trains it again)")
            try JSONOutput.write(FinetuneTrainingReport(record: record, out: output.path, status: "already finished"))
            return
        }
        if case let .resume(step, total) = start {
            note("finetune: resuming from the state in \(store.folder.path) after update \(step) of \(total)")
        }

        let job: FineTuneJob
        let masks: MagnitudePruning.Masks?
        do {
            (job, masks) = try prepare(settings: settings, inputs: inputs)
        } catch {
            throw Self.fail(error, status: 64)
        }
        note("finetune: \(job.data.sequences.count) training sequences from \(job.data.examples) examples of \(job.data.file); head \(job.head)")

        let masked = masks.map { $0.reduce(0) { $0 + $1.keep.filter { !$0 }.count } }
        let record = try FineTuneRun(meter: meter, energy: command.training.energy, started: started).train(
            job, into: output, maskedWeights: masked) { folder in
            guard let masks else { return }
            try MagnitudePruning.save(masks, to: folder.appendingPathComponent("mask.safetensors"))
            if let path = command.techniqueOptions.saveMask { try MagnitudePruning.save(masks, to: URL(fileURLWithPath: path)) }
        }.record
        try JSONOutput.write(FinetuneTrainingReport(record: record, out: output.path, status: "finished"))
    }

    /// Decides what the folder allows: resume its state, report it finished, or start.
    func checkOutput(_ output: URL, store: TrainingStateStore, settings: FineTuneSettings,
                     inputs: [InputFingerprint]) throws -> Start {
        let manager = FileManager.default
        func canonical(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
        guard canonical(output.path) != canonical(settings.base) else {
            throw FineTuneError.invalidOutput(folder: output.path, detail: "the output folder is the base folder; write the fine-tuned checkpoint somewhere else")
        }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: output.path, isDirectory: &isDirectory) else { return .fresh }
        guard isDirectory.boolValue else { throw FineTuneError.invalidOutput(folder: output.path, detail: "exists and is not a folder") }
        let recordURL = output.appendingPathComponent(FineTunedCheckpoint.recordFile)
        if command.restart {
            try store.remove()
            if manager.fileExists(atPath: recordURL.path) { try manager.removeItem(at: recordURL) }
            return .fresh
        }
        if let manifest = try store.loadManifest() {
            try FineTuner.checkResumable(manifest, settings: settings, inputs: inputs, folder: output)
            return .resume(step: manifest.step, total: manifest.totalSteps)
        }
        if let data = manager.contents(atPath: recordURL.path),
           let record = try? JSONCoding.decoder.decode(FineTuneRecord.self, from: data) {
            let differences = settings.differences(from: record.settings)
            guard differences.isEmpty else { throw FineTuneError.finishedWithOtherSettings(folder: output.path, differences: differences) }
            return .finished(record)
        }
        // A first save a crash interrupted leaves only `.training-state.next`: not a foreign file.
        let entries = try manager.contentsOfDirectory(atPath: output.path).filter { !$0.hasPrefix(TrainingStateStore.folderName) }
        guard entries.isEmpty || command.overwrite else { throw FineTuneError.outputOccupied(folder: output.path, entries: entries) }
        return .fresh
    }

    /// Loads the base, applies the structural techniques, computes the masks and builds the job.
    func prepare(settings: FineTuneSettings, inputs: [InputFingerprint]) throws -> (FineTuneJob, MagnitudePruning.Masks?) {
        var checkpoint = try Checkpoint.load(directory: URL(fileURLWithPath: settings.base))
        let structural = command.techniqueOptions.structural
        if !structural.isEmpty {
            let applied = try TechniquePipeline.apply(structural, to: consume checkpoint, data: .none, base: ForwardOptions(),
                                                      workspace: Workspace(threads: settings.threads),
                                                      progress: { note("techniques: " + $0) })
            checkpoint = applied.checkpoint
            note("techniques: \(applied.applied.techniques.joined(separator: ", ")): \(applied.applied.parameterCount) parameters in \(applied.applied.layers) layers")
        }
        var masks: MagnitudePruning.Masks?
        if let sparsity = settings.sparsity {
            let scope = settings.sparsityScope.flatMap(MagnitudePruning.Scope.init(rawValue:)) ?? .global
            masks = try MagnitudePruning.masks(for: checkpoint.model, sparsity: sparsity, scope: scope)
        } else if let path = settings.mask {
            masks = try MagnitudePruning.load(from: URL(fileURLWithPath: path), for: checkpoint.model)
        }
        if let masks {
            let pruned = masks.reduce(0) { $0 + $1.keep.filter { !$0 }.count }, count = masks.reduce(0) { $0 + $1.keep.count }
            note(String(format: "finetune: %d of %d prunable weights held at zero (%.1f%%)", pruned, count, 100 * Double(pruned) / Double(max(1, count))))
        }
        let keep = masks.map { Dictionary($0.map { ($0.weight.name + ".weight", $0.keep) }, uniquingKeysWith: { $1 }) }
        let job = try FineTuneSetup.job(checkpoint: checkpoint, settings: settings, mask: keep, inputs: inputs)
        return (job, masks)
    }

    /// Prints the error as the command's failure and returns the exit status to throw.
    static func fail(_ error: Error, status: Int32, context: String = "") -> ExitCode {
        note("Error: \(context)\(error)")
        return ExitCode(status)
    }
}

/// The summary `finetune` prints on stdout after backprop (the full story is training.json).
struct FinetuneTrainingReport: Codable {
    var status: String
    var task: String
    var regime: String
    var base: String
    var out: String
    var head: String
    var steps: Int
    var epochs: Int
    var trainExamples: Int
    var trainSequences: Int
    var finalMetrics: [String: Double]
    var finalLoss: Float?
    var examplesPerS: Double
    var tokensPerS: Double
    var trainingS: Double
    var wallS: Double
    /// Joules over the training updates and over the whole run, and where they come from.
    var trainingJ: Double?
    var totalJ: Double?
    var energySource: String?
    var peakRssMb: Double?
    /// Updates already taken when each process started; more than one entry: it was resumed.
    var startSteps: [Int]

    init(record: FineTuneRecord, out: String, status: String) {
        self.status = status
        task = record.task
        regime = record.regime
        base = record.base
        self.out = out
        head = record.head
        steps = record.schedule.totalSteps
        epochs = record.settings.epochs
        trainExamples = record.train.examples
        trainSequences = record.train.sequences
        finalMetrics = record.finalMetrics
        finalLoss = record.lossCurve.last?.loss
        examplesPerS = record.throughput.examplesPerS
        tokensPerS = record.throughput.tokensPerS
        trainingS = record.throughput.trainingS
        wallS = record.wallS
        trainingJ = record.energy?.trainingJ
        totalJ = record.energy?.totalJ
        energySource = record.energy?.source
        peakRssMb = record.peakRssMb
        startSteps = record.segments.map(\.fromStep)
    }
}
