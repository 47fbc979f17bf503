import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierTasks
import FrontierTechniques
import FrontierTraining

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a base checkpoint on a task's train split and write a new checkpoint folder.",
        discussion: """
            Trains by backpropagation with AdamW (decoupled weight decay, not on biases and \
            LayerNorms), a linear warm-up then linear decay of the learning rate over all updates, \
            gradient clipping and the base's dropout rates, as transformers' Trainer does. --regime \
            full trains every weight, top-K (e.g. top-2) the last K encoder blocks, the pooler and \
            the head, frozen the head only. --base is a bare encoder (a new head is initialised from \
            --seed) or a checkpoint already fine-tuned on the task (its head is kept). TASK is a GLUE \
            folder name with DATA the folder holding the task folders (DATA/SST-2/train.tsv, \
            dev.tsv), or squad with DATA the folder holding train-v1.1.json and dev-v1.1.json.

            The output is a Hugging Face folder that transformers' from_pretrained and every \
            frontier-agent command load: config.json, model.safetensors (F32), the tokenizer files, \
            mask.safetensors when weights were pruned (0/1 per weight, the --mask format), and \
            training.json: the settings, the loss curve (loss, gradient norm and learning rate per \
            update), the dev metric at each evaluation and at the end, examples/s and real tokens/s \
            over the training updates, wall time, energy in joules with its source (as run measures \
            it: RAPL, NVML or hwmon when readable, else a labelled estimate), peak memory, the CPU, \
            the threads and the frontier version.

            Crash safety: every --checkpoint-every updates, and after the last, the parameters, the \
            optimizer's moments and the position in the data are saved in OUT/.training-state \
            (atomically: the last good state survives a crash at any moment). Running the same \
            command again resumes there and ends with exactly the weights of a run that never \
            stopped (the data order and dropout depend only on the seed, the epoch and the update; \
            the same --threads is part of "the same command"). A command with other settings is \
            refused, naming what differs; --restart discards the state. A finished folder run again \
            with the same command reports it and exits 0.

            Techniques change the base before training: --sparsity or --mask zero weights by \
            magnitude and keep them at zero while training (the mask is written beside the model); \
            --prune-ffn and --keep-layers shrink it, and it trains in its shrunk shape (structural \
            pruning first, then --sparsity on what is left). Inference-time techniques (quantization, \
            early exit, token pruning, sparse kernels) are given to eval, bench or run with the \
            fine-tuned folder; head pruning is not offered, because the engine's loader does not \
            read config.json's pruned_heads.

            --probe lbfgs keeps the previous frozen baseline: the encoder's pooled features of the \
            train split and a linear head fitted by full-batch L-BFGS (ridge in closed form for \
            STS-B), BERT GLUE bases only.

            Prints one JSON summary on stdout; progress goes to stderr. Exit status: 0 finished (or \
            already finished); 1 training failed (a non-finite loss: the message names the update, \
            and the last saved state is kept); 64 nothing ran (bad options, unreadable inputs, a \
            state or folder of another command); 70 frontier could not go on (writing the state or \
            the checkpoint failed).
            """
    )

    @Option(help: "The base checkpoint folder: a bare BERT/DistilBERT encoder (e.g. cache/models/all-minilm-l6-v2), or a checkpoint fine-tuned on this task, whose head is kept.")
    var base: String

    @Option(help: "The task: a GLUE folder name (\(GlueTask.allCases.map(\.folderName).joined(separator: ", "))) or squad.")
    var task: String

    @Option(help: "For GLUE, the folder holding the task folders (DATA/SST-2/train.tsv and dev.tsv); for squad, the folder holding train-v1.1.json and dev-v1.1.json.")
    var data: String

    @Option(help: "Where to write the new checkpoint folder (created; a folder with files of something else needs --overwrite).")
    var out: String

    @Option(help: "What trains: full (every weight), top-K (e.g. top-2: the last K encoder blocks, the pooler and the head) or frozen (the head only).")
    var regime: String = "full"

    @OptionGroup(title: "Training") var training: TrainingOptions

    @Flag(help: "Discard a training state (or a finished fine-tune) left in --out by another command and start from the beginning.")
    var restart = false

    @Flag(help: "Write into an existing --out that holds other files (files of the same name are replaced).")
    var overwrite = false

    @OptionGroup(title: "Techniques applied to the base before training") var techniqueOptions: FinetuneTechniqueOptions

    @Option(help: "--probe lbfgs: instead of backprop, fit a linear head on the frozen encoder's pooled features by full-batch L-BFGS (ridge for STS-B); needs --regime frozen and a BERT base with a pooler.")
    var probe: String?

    @Option(help: "--probe lbfgs: L2 penalty λ on the head's weights: the objective is mean loss + λ/2·‖W‖², over standardised features unless --no-standardize (default \(LinearProbeSettings().l2)).")
    var l2: Double?

    @Flag(inversion: .prefixedNo, help: "--probe lbfgs: fit on standardised features (zero mean, unit variance; folded back into the written head).")
    var standardize: Bool?

    @Option(name: .customLong("max-iterations"), help: "--probe lbfgs: L-BFGS iterations at most (default \(LinearProbeSettings().maxIterations)).")
    var maxIterations: Int?

    @Option(name: .customLong("gradient-tolerance"), help: "--probe lbfgs: stop when every gradient component is at most this (default \(LinearProbeSettings().gradientTolerance)).")
    var gradientTolerance: Double?

    func validate() throws {
        guard TrainingRegime(name: regime) != nil else {
            throw ValidationError("unknown --regime '\(regime)'; use full, top-K (e.g. top-2) or frozen.")
        }
        guard let fineTuneTask = FineTuneTask(name: task) else {
            throw ValidationError("unknown --task '\(task)'; finetune trains on \(FineTuneTask.names.joined(separator: ", ")).")
        }
        try training.validateRecipe(task: fineTuneTask)
        let probeOptions = l2 != nil || standardize != nil || maxIterations != nil || gradientTolerance != nil
        if let probe {
            guard probe == "lbfgs" else { throw ValidationError("unknown --probe '\(probe)'; the probe is lbfgs.") }
            guard regime == "frozen" else {
                throw ValidationError("--probe lbfgs fits the head of a frozen encoder; it needs --regime frozen (got --regime \(regime)).")
            }
            guard case .glue = fineTuneTask else { throw ValidationError("--probe lbfgs trains GLUE heads; squad needs backprop (leave out --probe).") }
            guard techniqueOptions.sparsity == nil, techniqueOptions.mask == nil, techniqueOptions.structural.isEmpty else {
                throw ValidationError("--probe lbfgs reads the base as it is; techniques before training need backprop (leave out --probe).")
            }
            if let l2 { guard l2.isFinite, l2 >= 0 else { throw ValidationError("--l2 must be a finite number ≥ 0; got \(l2).") } }
            if let maxIterations { guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1; got \(maxIterations).") } }
            if let gradientTolerance {
                guard gradientTolerance.isFinite, gradientTolerance > 0 else {
                    throw ValidationError("--gradient-tolerance must be positive; got \(gradientTolerance).")
                }
            }
            return
        }
        if probeOptions {
            throw ValidationError("--l2, --standardize, --max-iterations and --gradient-tolerance set the L-BFGS probe; add --probe lbfgs (with --regime frozen) or leave them out.")
        }
        let settings = trainingSettings()
        do { try settings.validate() } catch { throw ValidationError("\(error)") }
    }

    /// The settings of a backprop run, with paths made absolute (the state compares them).
    func trainingSettings() -> FineTuneSettings {
        let t = techniqueOptions
        return training.settings(task: task, base: base, data: data, regime: regime, techniques: t.structural.map(\.label),
                                 sparsity: t.sparsity, sparsityScope: t.sparsity == nil ? nil : (t.sparsityScope ?? .global).rawValue,
                                 mask: t.mask)
    }

    func run() throws {
        if probe != nil {
            try runProbe()
        } else {
            try FinetuneTraining(command: self).run()
        }
    }

    /// The frozen L-BFGS baseline (`FrozenFinetune`), as before backprop existed.
    func runProbe() throws {
        Blas.setThreads(training.compute.threads)
        let workspace = Workspace(threads: training.compute.threads)
        let defaults = LinearProbeSettings()
        let probe = LinearProbeSettings(l2: l2 ?? defaults.l2, standardize: standardize ?? defaults.standardize,
                                        maxIterations: maxIterations ?? defaults.maxIterations,
                                        gradientTolerance: gradientTolerance ?? defaults.gradientTolerance)
        let settings = FrozenFinetuneSettings(limit: training.limit, batchSize: training.compute.batch, maxSeqLen: training.maxSeqLen, probe: probe)
        var bar: ProgressBar?
        let result = try FrozenFinetune.run(
            base: URL(fileURLWithPath: base), task: task, dataRoot: URL(fileURLWithPath: data),
            output: URL(fileURLWithPath: out), settings: settings, workspace: workspace,
            options: training.compute.forwardOptions, overwrite: overwrite,
            progress: { event in
                switch event {
                case let .extracted(done, total):
                    if bar == nil { bar = ProgressBar(label: "features \(task) train", total: total) }
                    bar?.update(done)
                case let .training(examples, features):
                    note("fitting the head on \(examples) examples × \(features) features")
                case let .writing(folder):
                    note("writing \(folder.path)")
                }
            })
        let record = result.record
        try JSONOutput.write(FinetuneReport(
            regime: record.regime, task: record.task, base: base, out: out, trainExamples: record.trainExamples,
            trainMetrics: record.trainMetrics, trainLoss: record.trainLoss, iterations: record.iterations,
            stop: record.stop.rawValue, extractionS: record.extractionS, trainingS: record.trainingS, wallS: record.wallS))
    }
}

/// The summary of a `--probe lbfgs` run.
struct FinetuneReport: Codable {
    var regime: String
    var task: String
    var base: String
    var out: String
    var trainExamples: Int
    var trainMetrics: [String: Double]
    var trainLoss: Double
    var iterations: Int
    var stop: String
    var extractionS: Double
    var trainingS: Double
    var wallS: Double
}
