import ArgumentParser
import Foundation
import FrontierTasks
import FrontierEngine
import FrontierTechniques

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Train a task head on a base checkpoint and write a new checkpoint folder.",
        discussion: """
            --regime frozen keeps every encoder weight of the base and trains only a linear head on \
            the pooled features (the BERT pooler over [CLS]) of the task's train split: multinomial \
            logistic regression by full-batch L-BFGS, or ridge regression in closed form for STS-B. \
            The result is a BertForSequenceClassification folder (config.json, model.safetensors, the \
            tokenizer files and a training.json saying how it was made) that eval, bench and run load \
            like any checkpoint. Full fine-tuning needs a backward pass and is not available yet. \
            Prints one JSON object on stdout; progress goes to stderr.
            """
    )

    @Option(help: "What to train: frozen (the linear head only; the encoder stays as it is).")
    var regime: String

    @Option(help: "The base checkpoint folder: a BERT encoder with a pooler (e.g. cache/models/all-minilm-l6-v2), or a sequence classifier whose head is replaced.")
    var base: String

    @Option(help: "The GLUE task whose train split to learn: \(GlueTask.allCases.map(\.folderName).joined(separator: ", ")).")
    var task: String

    @Option(help: "The folder holding the GLUE task folders (DATA/SST-2/train.tsv).")
    var data: String

    @Option(help: "Where to write the new checkpoint folder (created; an existing non-empty folder needs --overwrite).")
    var out: String

    @Flag(help: "Replace the files of an existing output folder.")
    var overwrite = false

    @Option(help: "Train on the first N examples of the train split only.")
    var limit: Int?

    @Option(name: .customLong("max-seq-len"), help: "Truncate each training input to at most this many tokens, [CLS] and [SEP] included (default 128, as eval uses).")
    var maxSeqLen: Int?

    @OptionGroup var compute: ComputeOptions

    @Option(help: "L2 penalty λ on the head's weights: the objective is mean loss + λ/2·‖W‖², over standardised features unless --no-standardize.")
    var l2: Double = LinearProbeSettings().l2

    @Flag(inversion: .prefixedNo, help: "Fit on standardised features (zero mean, unit variance; folded back into the written head).")
    var standardize = LinearProbeSettings().standardize

    @Option(name: .customLong("max-iterations"), help: "L-BFGS iterations at most (classification).")
    var maxIterations: Int = LinearProbeSettings().maxIterations

    @Option(name: .customLong("gradient-tolerance"), help: "Stop when every gradient component is at most this (classification).")
    var gradientTolerance: Double = LinearProbeSettings().gradientTolerance

    func validate() throws {
        switch regime {
        case "frozen": break
        case "full":
            throw ValidationError("--regime full (training every weight) needs a backward pass, which the engine does not have yet; only --regime frozen is available.")
        default:
            throw ValidationError("unknown --regime '\(regime)'; the available regime is frozen (full fine-tuning needs backprop, not built yet).")
        }
        guard GlueTask(name: task) != nil else {
            throw ValidationError("unknown --task '\(task)'; finetune trains on a GLUE task: \(GlueTask.allCases.map(\.folderName).joined(separator: ", ")).")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
        if let maxSeqLen, maxSeqLen < 3 {
            throw ValidationError("--max-seq-len must be at least 3 (room for [CLS], a token and [SEP]); got \(maxSeqLen).")
        }
        guard l2.isFinite, l2 >= 0 else { throw ValidationError("--l2 must be a finite number ≥ 0; got \(l2).") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1; got \(maxIterations).") }
        guard gradientTolerance.isFinite, gradientTolerance > 0 else {
            throw ValidationError("--gradient-tolerance must be positive; got \(gradientTolerance).")
        }
    }

    func run() throws {
        Blas.setThreads(compute.threads)
        let workspace = Workspace(threads: compute.threads)
        let probe = LinearProbeSettings(l2: l2, standardize: standardize, maxIterations: maxIterations,
                                        gradientTolerance: gradientTolerance)
        let settings = FrozenFinetuneSettings(limit: limit, batchSize: compute.batch, maxSeqLen: maxSeqLen, probe: probe)
        var bar: ProgressBar?
        let result = try FrozenFinetune.run(
            base: URL(fileURLWithPath: base), task: task, dataRoot: URL(fileURLWithPath: data),
            output: URL(fileURLWithPath: out), settings: settings, workspace: workspace,
            options: compute.forwardOptions, overwrite: overwrite,
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
