import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierTraining

struct ImpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imp",
        abstract: "Find lottery tickets by iterative magnitude pruning with rewinding (Chen et al. 2020).",
        discussion: """
            Level 0 fine-tunes the dense model from θ0: the base's weights and its head (a new head \
            from --seed for a bare encoder). Each next level prunes the smallest-magnitude weights of \
            the last level's fine-tuned weights, globally over the prunable matrices (per block query, \
            key, value, attention output, intermediate and output, and the pooler; embeddings, biases, \
            LayerNorms and the classifier stay dense; --pooler dense leaves the pooler out too) among \
            those still kept, rewinds the encoder to θ0 \
            (or to the dense run's weights after --rewind-step updates), keeps the head the last level \
            trained (--head keep, as the authors' code) or rewinds it too, and fine-tunes again with \
            the pruned weights, their gradients and their Adam moments held at zero. It stops at \
            --target-sparsity.

            --of original prunes --per-round of the original prunable count per round (the authors' \
            code: 10 rounds to 90 %); --of remaining prunes --per-round of what is left (the paper's \
            1 − 0.9^r: 22 rounds to 90 %). Every level fine-tunes with the same recipe and seed.

            OUT holds tickets.json (the settings and every level's sparsity), levels.jsonl (one JSON \
            line per finished level: sparsity, dev metrics, training time, energy with its source) and \
            level-00 … level-NN: each a fine-tuned checkpoint folder (training.json, and from level 1 \
            mask.safetensors under the lottery-ticket key names, float32 0/1). The masks plug into \
            --mask of eval, bench, run, grids and finetune (e.g. on another task: a transferred \
            ticket), and the level folders run on the sparse kernels as they are.

            --level K trains level K alone, from level K−1's folder: OUT/level-(K−1), or the folder \
            --previous names (linked there; a level another machine or a sweep stage trained). \
            The schedule is the one --per-round, --of and --target-sparsity give, so every level of \
            one search must be run with the same three. A sweep runs its IMP levels this way, one \
            stage per level.

            Interrupted searches resume: run the same command again. Finished levels are read back, \
            and the level that was training resumes from its last saved state (--checkpoint-every). \
            The controls at the same per-matrix sparsities are imp-control.

            Prints a JSON summary on stdout; progress goes to stderr. Exit status: 0 finished; 1 \
            training failed (the message names the level and the update); 64 nothing ran (bad options \
            or inputs, an OUT of another search); 70 a state or checkpoint could not be written.
            """
    )

    @OptionGroup var inputs: TicketInputs

    @Option(help: "The search folder (created; run the same command again to resume it).")
    var out: String

    @Option(name: .customLong("target-sparsity"), help: "The last level's fraction of prunable weights pruned.")
    var targetSparsity: Double = 0.9

    @Option(name: .customLong("per-round"), help: "Fraction pruned per round (of the original count or of what remains, --of).")
    var perRound: Double = 0.1

    @Option(help: "original: --per-round of the original prunable count per round (the authors' code); remaining: of the weights left (the paper's formula).")
    var of: PruningSchedule.Basis = .original

    @Option(name: .customLong("rewind-step"), help: "Rewind to the dense run's weights after N updates instead of θ0 (N less than the run's updates).")
    var rewindStep: Int?

    @Option(help: "keep: the head keeps what the last level trained (the authors' code); rewind: it goes back to the rewind point too.")
    var head: TicketRewind.HeadPolicy = .keep

    @Option(help: "prune: the pooler is pruned with the encoder's matrices (Chen et al.); dense: it is left out of the prunable set (a sentence-embedding model's pooler, unused by its mean pooling, can be the smallest matrix by far, and global pruning then empties it first).")
    var pooler: PoolerPruning = .prune

    @Option(help: "Train this level alone (1 and up), from level K−1's folder in OUT or --previous.")
    var level: Int?

    @Option(help: "With --level K: level K−1's finished folder (training.json, and mask.safetensors from level 1), linked into OUT.")
    var previous: String?

    @OptionGroup(title: "Training (every level)") var training: TrainingOptions

    @Flag(help: "Write into an existing --out that holds other files.")
    var overwrite = false

    func validate() throws {
        guard let fineTuneTask = FineTuneTask(name: inputs.task) else {
            throw ValidationError("unknown --task '\(inputs.task)'; imp trains on \(FineTuneTask.names.joined(separator: ", ")).")
        }
        try training.validateRecipe(task: fineTuneTask)
        do {
            try settings().schedule.validate()
            try settings().fineTune.validate()
        } catch { throw ValidationError("\(error)") }
        if let rewindStep, rewindStep < 1 { throw ValidationError("--rewind-step must be at least 1 (leave it out to rewind to θ0); got \(rewindStep).") }
        if let level, level < 1 { throw ValidationError("--level must be at least 1 (level 0 is the dense fine-tune: leave --level out); got \(level).") }
        if previous != nil, level == nil { throw ValidationError("--previous needs --level (the level trained from it).") }
        if level != nil, rewindStep != nil, previous != nil {
            throw ValidationError("--rewind-step with --previous: the rewind point is level 0's, in OUT; run the levels in one folder.")
        }
    }

    func settings() -> TicketSearchSettings {
        TicketSearchSettings(method: .imp, fineTune: training.settings(task: inputs.task, base: inputs.base, data: inputs.data, regime: "full"),
                             schedule: PruningSchedule(perRound: perRound, basis: of, target: targetSparsity),
                             rewindStep: rewindStep, head: head, pooler: pooler, levels: level.map { [$0] })
    }

    func run() throws {
        var run = TicketSearchRun(settings: settings(), out: out, overwrite: overwrite, energy: training.energy)
        if let level, let previous { run.previous = (level - 1, previous) }
        try run.run()
    }
}

struct ImpControlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imp-control",
        abstract: "The controls of a lottery-ticket search, at the per-matrix sparsities of its levels.",
        discussion: """
            For each pruned level of the imp folder --imp (all, or --levels), fine-tunes from θ0 with \
            the imp run's recipe under a mask with the same number of pruned weights in every matrix:

              one-shot         the dense fine-tuned weights (the imp run's level 0) pruned by \
            magnitude in one shot, matrix by matrix;
              random-pruning   positions drawn at random (from --seed and the level);
              random-reinit    the imp level's own mask, on encoder blocks and pooler re-initialised \
            as BERT initialises them (normal weights with std 0.02, zero biases, unit LayerNorms); the \
            embeddings stay pre-trained.

            OUT has the layout of an imp folder (tickets.json, levels.jsonl, level-NN with mask and \
            checkpoint), resumes the same way, and the same exit statuses apply.
            """
    )

    @Option(help: "The imp folder whose levels and masks the control follows (its level 0 must have finished for one-shot).")
    var imp: String

    @Option(help: "one-shot, random-pruning or random-reinit.")
    var control: TicketMethod

    @Option(help: "The control's folder (created; run the same command again to resume it).")
    var out: String

    @Option(help: "Comma-separated levels of the imp run to follow (default: every pruned level).")
    var levels: String?

    @Option(help: "Seed for the data order, dropout, the head, random masks and re-initialisation (default: the imp run's).")
    var seed: UInt64?

    @Option(help: "Engine threads (default: the imp run's; the results depend on it).")
    var threads: Int?

    @Option(help: "Energy meter: auto (RAPL/NVML, else hwmon, else estimated, each fallback noted), rapl, nvml, hwmon or estimated.")
    var energy: EnergyMeterChoice = .auto

    @Flag(help: "Write into an existing --out that holds other files.")
    var overwrite = false

    func validate() throws {
        guard control != .imp else { throw ValidationError("--control is one-shot, random-pruning or random-reinit; the search itself is imp.") }
        _ = try levelList()
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1; got \(threads).") }
    }

    func levelList() throws -> [Int]? {
        guard let levels else { return nil }
        let parts = levels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, !numbers.isEmpty, numbers.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--levels takes level numbers from 1, separated by commas (e.g. 1,3,5); got '\(levels)'.")
        }
        return Array(Set(numbers)).sorted()
    }

    func run() throws {
        let source = TicketSearchStore(folder: URL(fileURLWithPath: imp))
        let manifest: TicketSearchManifest
        do {
            guard let saved = try source.loadManifest() else {
                throw TrainingError.invalidSettings("\(source.folder.path): no \(TicketSearchStore.manifestFile); give the folder an imp run wrote")
            }
            manifest = saved
        } catch {
            note("Error: \(error)")
            throw ExitCode(64)
        }
        var fineTune = manifest.settings.fineTune
        if let seed { fineTune.seed = seed }
        if let threads { fineTune.threads = threads }
        let settings = TicketSearchSettings(method: control, fineTune: fineTune, schedule: manifest.settings.schedule,
                                            source: source.folder.path, levels: try levelList())
        try TicketSearchRun(settings: settings, out: out, overwrite: overwrite, energy: energy).run()
    }
}

/// The base θ0, the task and its data, as the ticket searches take them.
struct TicketInputs: ParsableArguments {
    @Option(help: "The base checkpoint folder (θ0): a bare BERT/DistilBERT encoder or a checkpoint fine-tuned on this task.")
    var base: String

    @Option(help: "The task: a GLUE folder name (\(GlueTask.allCases.map(\.folderName).joined(separator: ", "))) or squad.")
    var task: String

    @Option(help: "For GLUE, the folder holding the task folders (DATA/SST-2/train.tsv and dev.tsv); for squad, the folder holding train-v1.1.json and dev-v1.1.json.")
    var data: String
}

extension PruningSchedule.Basis: ExpressibleByArgument {}
extension TicketRewind.HeadPolicy: ExpressibleByArgument {}
extension PoolerPruning: ExpressibleByArgument {}
extension TicketMethod: ExpressibleByArgument {}

/// Runs a ticket search or control from its settings: checks the output folder, builds the
/// dense job at θ0, trains each level with `FineTuneRun`, prints the summary.
struct TicketSearchRun {
    let settings: TicketSearchSettings
    let out: String
    let overwrite: Bool
    let energy: EnergyMeterChoice
    /// A finished level's folder from elsewhere, linked into the output as that level.
    var previous: (level: Int, folder: String)?

    func run() throws {
        let output = URL(fileURLWithPath: out).standardizedFileURL
        let store = TicketSearchStore(folder: output)
        let fineTune = settings.fineTune
        Blas.setThreads(fineTune.threads)
        let meter: TrainingEnergyMeter
        let search: TicketSearch
        do {
            try checkOutput(output)
            if let previous { try link(previous.folder, asLevel: previous.level, of: store) }
            meter = try TrainingEnergyMeter(choice: energy)
            let inputs = try FineTuneSetup.inputs(settings: fineTune)
            let checkpoint = try Checkpoint.load(directory: URL(fileURLWithPath: fineTune.base))
            let job = try FineTuneSetup.job(checkpoint: checkpoint, settings: fineTune, mask: nil, inputs: inputs)
            note("\(settings.method.rawValue): \(job.data.sequences.count) training sequences from \(job.data.examples) examples of \(job.data.file); head \(job.head)")
            search = TicketSearch(settings: settings, baseJob: job, store: store)
            _ = try search.manifest()
        } catch {
            throw FinetuneTraining.fail(error, status: 64)
        }
        defer { meter.stop() }

        var levelCount = 0
        let levels: [TicketLevel]
        do {
            levels = try search.run(
                train: { job, folder, mask, afterUpdate in
                    let label = "level \(Int(folder.lastPathComponent.dropFirst("level-".count)) ?? 0)/\(max(0, levelCount - 1)) \(job.settings.task)"
                    return try FineTuneRun(meter: meter, energy: energy, started: MonotonicClock.now(), label: label)
                        .train(job, into: folder, maskedWeights: mask.pruned > 0 ? mask.pruned : nil, afterUpdate: afterUpdate) { _ in }
                },
                event: { event in
                    switch event {
                    case let .levelStarted(level, levels, sparsity, resumed):
                        levelCount = levels
                        note(String(format: "%@ level %d of %d: sparsity %.1f%%%@", settings.method.rawValue, level, levels - 1, 100 * sparsity,
                                    resumed ? " (resuming its saved state)" : ""))
                    case let .levelFinished(entry, _), let .levelRead(entry):
                        let metrics = entry.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }
                        note(String(format: "%@ level %d (sparsity %.1f%%): dev %@, %.0f s training", settings.method.rawValue, entry.level,
                                    100 * entry.sparsity, metrics.joined(separator: ", "), entry.trainingS))
                    }
            })
        } catch {
            throw searchFailure(error, otherwise: 70)
        }
        try JSONOutput.write(TicketSearchReport(method: settings.method.rawValue, task: fineTune.task, out: output.path,
                                                source: settings.source, levels: levels))
    }

    /// Links a finished level's folder into the search as `level-NN` (the same link again is
    /// fine: a resumed run; another folder already there is refused).
    func link(_ folder: String, asLevel level: Int, of store: TicketSearchStore) throws {
        let manager = FileManager.default
        let source = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath()
        guard try TicketSearch.readRecord(source) != nil else {
            throw FineTuneError.invalidOutput(folder: source.path, detail: "--previous is not a finished fine-tune folder (no training.json)")
        }
        if level > 0, !manager.fileExists(atPath: source.appendingPathComponent(TicketSearchStore.maskFile).path) {
            throw FineTuneError.invalidOutput(folder: source.path, detail: "--previous has no \(TicketSearchStore.maskFile): level \(level) of a search has one")
        }
        let target = store.levelFolder(level)
        if manager.fileExists(atPath: target.path) {
            guard target.resolvingSymlinksInPath().path == source.path else {
                throw FineTuneError.invalidOutput(folder: target.path, detail: "holds another level \(level) than --previous \(source.path)")
            }
            return
        }
        try manager.createDirectory(at: store.folder, withIntermediateDirectories: true)
        try manager.createSymbolicLink(at: target, withDestinationURL: source)
    }

    /// A new folder, a folder of this search (resumed), or an occupied one (--overwrite).
    func checkOutput(_ output: URL) throws {
        let manager = FileManager.default
        func canonical(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
        guard canonical(output.path) != canonical(settings.fineTune.base) else {
            throw FineTuneError.invalidOutput(folder: output.path, detail: "the output folder is the base folder; write the search somewhere else")
        }
        if let source = settings.source, canonical(source) == canonical(output.path) {
            throw FineTuneError.invalidOutput(folder: output.path, detail: "the output folder is the imp folder the control follows")
        }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: output.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw FineTuneError.invalidOutput(folder: output.path, detail: "exists and is not a folder") }
        if manager.fileExists(atPath: output.appendingPathComponent(TicketSearchStore.manifestFile).path) { return }
        // The link to --previous may be all a killed first run left.
        let entries = try manager.contentsOfDirectory(atPath: output.path).filter { $0 != previous.map { TicketSearchStore.levelName($0.level) } }
        guard entries.isEmpty || overwrite else { throw FineTuneError.outputOccupied(folder: output.path, entries: entries) }
    }
}

/// The exit status of a search that stopped on `error` (a failed level has its status already):
/// 70 when a state or checkpoint could not be written, 64 for settings, masks or folders that do
/// not fit, `otherwise` for anything else.
func searchFailure(_ error: Error, otherwise: Int32) -> Error {
    switch error {
    case let exit as ExitCode: return exit
    case let error as TrainingError:
        if case .checkpoint = error { return FinetuneTraining.fail(error, status: 70) }
        return FinetuneTraining.fail(error, status: 64)
    case is FineTuneError, is TicketSearchError: return FinetuneTraining.fail(error, status: 64)
    default: return FinetuneTraining.fail(error, status: otherwise)
    }
}

/// What imp and imp-control print on stdout.
struct TicketSearchReport: Codable {
    var method: String
    var task: String
    var out: String
    var source: String?
    var levels: [TicketLevel]
}
