import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierTraining

struct PruneStructuredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune-structured",
        abstract: "Find a structured subnetwork (attention heads and feed-forward blocks) by importance, and retrain it beside random and bad ones (Prasanna et al. 2020).",
        discussion: """
            1. Fine-tunes the full model from θ0 (OUT/full).
            2. On that fine-tuned model, scores every head and feed-forward block by the mean over \
            --importance-examples train examples of |∂L/∂ξ|, ξ a unit gate on its output (Michel et \
            al. 2019; head scores L2-normalised per block), removes the least important --per-step of \
            the heads and one block, and scores again; a step that takes the dev metric below \
            --threshold × the full model's is tried with the heads alone, then the block alone, and the \
            removal stops when none passes. What is left is the "good" subnetwork.
            3. Fine-tunes from θ0 the good subnetwork, a random one and a "bad" one (the full model's \
            most important heads and blocks removed) of the same size (OUT/good, OUT/random, OUT/bad).

            Removed heads and blocks are trained as zeros held by a mask, which computes what the \
            shrunk model computes. Each folder is a checkpoint with its structure.json; OUT/steps.jsonl \
            lists the removal steps and OUT/subnetworks.jsonl the four models (heads and blocks kept, \
            dev metrics, training time and energy). Running the same command again resumes: finished \
            fine-tunes are read back. Exit statuses as imp.
            """
    )

    @OptionGroup var inputs: TicketInputs

    @Option(help: "The search folder (created; run the same command again to resume it).")
    var out: String

    @Option(name: .customLong("per-step"), help: "Share of all heads removed per step (rounded, at least one), with one feed-forward block.")
    var perStep: Double = 0.1

    @Option(help: "Stop before the dev metric falls below this fraction of the full fine-tuned model's.")
    var threshold: Double = 0.9

    @Option(name: .customLong("importance-examples"), help: "Train examples the importance scores average over (the first N of the train file).")
    var importanceExamples: Int = 2048

    @OptionGroup(title: "Training (the full model and each subnetwork)") var training: TrainingOptions

    @Flag(help: "Write into an existing --out that holds other files.")
    var overwrite = false

    func settings() -> StructuredSearchSettings {
        StructuredSearchSettings(fineTune: training.settings(task: inputs.task, base: inputs.base, data: inputs.data, regime: "full"),
                                 perStep: perStep, threshold: threshold, importanceExamples: importanceExamples)
    }

    func validate() throws {
        guard let fineTuneTask = FineTuneTask(name: inputs.task) else {
            throw ValidationError("unknown --task '\(inputs.task)'; prune-structured trains on \(FineTuneTask.names.joined(separator: ", ")).")
        }
        try training.validateRecipe(task: fineTuneTask)
        do {
            try settings().validate()
            try settings().fineTune.validate()
        } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let settings = settings()
        let output = URL(fileURLWithPath: out).standardizedFileURL
        Blas.setThreads(settings.fineTune.threads)
        let meter: TrainingEnergyMeter
        let search: StructuredSearch
        do {
            let manager = FileManager.default
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: output.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw FineTuneError.invalidOutput(folder: output.path, detail: "exists and is not a folder") }
                let entries = try manager.contentsOfDirectory(atPath: output.path)
                guard entries.isEmpty || entries.contains(StructuredSearch.manifestFile) || overwrite else {
                    throw FineTuneError.outputOccupied(folder: output.path, entries: entries)
                }
            }
            meter = try TrainingEnergyMeter(choice: training.energy)
            let fineTune = settings.fineTune
            let checkpoint = try Checkpoint.load(directory: URL(fileURLWithPath: fineTune.base))
            let job = try FineTuneSetup.job(checkpoint: checkpoint, settings: fineTune, mask: nil, inputs: try FineTuneSetup.inputs(settings: fineTune))
            note("prune-structured: \(job.data.sequences.count) training sequences from \(job.data.examples) examples of \(job.data.file); head \(job.head)")
            search = StructuredSearch(settings: settings, baseJob: job, folder: output)
        } catch {
            throw FinetuneTraining.fail(error, status: 64)
        }
        defer { meter.stop() }
        func describe(_ result: StructuredResult) -> String {
            String(format: "%d/%d heads, %d/%d feed-forward blocks: %@ %.4f", result.keptHeads, result.heads, result.keptFeedForward,
                   result.feedForward, result.metric, result.value)
        }
        let results: [StructuredResult]
        do {
            results = try search.run(
                train: { job, folder, _, afterUpdate in
                    try FineTuneRun(meter: meter, energy: training.energy, started: MonotonicClock.now(),
                                    label: "\(folder.lastPathComponent) \(job.settings.task)")
                        .train(job, into: folder, maskedWeights: nil, afterUpdate: afterUpdate) { _ in }
                },
                event: { event in
                    switch event {
                    case let .training(name): note("prune-structured: fine-tuning \(name) from θ0")
                    case let .scored(examples): note("prune-structured: scored heads and blocks over \(examples) train examples")
                    case let .step(result, accepted): note("prune-structured: \(result.name) \(describe(result)) \(accepted ? "kept" : "below the threshold")")
                    case let .finished(result): note("prune-structured: \(result.name) \(describe(result))")
                    }
                })
        } catch {
            throw searchFailure(error, otherwise: 1)
        }
        try JSONOutput.write(StructuredSearchReport(task: settings.fineTune.task, out: output.path, subnetworks: results))
    }
}

/// What prune-structured prints on stdout.
struct StructuredSearchReport: Codable {
    var task: String
    var out: String
    var subnetworks: [StructuredResult]
}
