import ArgumentParser
import Foundation
import FrontierTechniques
import FrontierEngine
import FrontierSupport
import FrontierTasks

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a task's dev set and print the metrics as JSON.",
        discussion: """
            TASK is a GLUE folder name (SST-2, CoLA, MRPC, QQP, STS-B, MNLI, QNLI, RTE, WNLI) with DATA \
            the folder that holds the task folders, or squad with DATA the folder that holds \
            dev-v1.1.json. Metrics follow the official definitions: accuracy; accuracy and F1 of the \
            positive class (MRPC, QQP); Matthews correlation (CoLA); Pearson and Spearman (STS-B); \
            matched and mismatched accuracy (MNLI); exact match and F1 on a 0-100 scale (SQuAD). \
            Prints one JSON object on stdout; a progress bar goes to stderr.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var compute: ComputeOptions
    @OptionGroup var taskData: TaskDataOptions
    @OptionGroup(title: "Efficiency techniques") var techniqueOptions: TechniqueOptions

    @Option(help: "The split to evaluate.")
    var split: String = "dev"

    @Option(help: "Write one line per example: split, id, prediction, gold (tab-separated; SQuAD golds joined by ' || ').")
    var predictions: String?

    func validate() throws {
        guard split == "dev" else { throw ValidationError("only --split dev is supported (GLUE and SQuAD test labels are not public); got '\(split)'.") }
    }

    func run() throws {
        let started = MonotonicClock.now()
        if let recorded = RecordedTask(folder: modelOptions.directory), recorded.matches(taskData.task) == false {
            note("eval: warning: \(recorded.file) says this model was fine-tuned on \(recorded.name), but --task is "
                + "\(taskData.task): its head was not trained for \(taskData.task), so the metrics below say little")
        }
        let loaded = try modelOptions.loadCheckpoint()
        Blas.setThreads(compute.threads)
        let workspace = Workspace(threads: compute.threads)
        let (checkpoint, options, applied) = try techniqueOptions.apply(to: consume loaded, task: taskData.task, data: taskData.data,
                                                                        maxSeqLen: modelOptions.maxSeqLen, base: compute.forwardOptions,
                                                                        workspace: workspace)
        let report: EvalReport
        let lines: [String]
        if taskData.isSquad {
            let file = URL(fileURLWithPath: taskData.data).appendingPathComponent("dev-v1.1.json")
            var settings = SquadSettings()
            if let maxSeqLen = modelOptions.maxSeqLen { settings.maxLength = maxSeqLen }
            var bar: ProgressBar?
            let result = try SquadEvaluator.evaluate(
                checkpoint: checkpoint, dataFile: file, limit: taskData.limit, batchSize: compute.batch,
                settings: settings, workspace: workspace, options: options,
                progress: { done, total in
                    if bar == nil { bar = ProgressBar(label: "eval squad", total: total) }
                    bar?.update(done)
                })
            report = EvalReport(task: "squad", model: modelOptions.model, examples: result.examples,
                                metrics: result.metrics, splits: ["dev": result.examples], features: result.features,
                                maxSeqLen: settings.maxLength, wallS: MonotonicClock.now() - started,
                                flopsPerExample: result.flops / Double(max(1, result.examples)), meanExitLayer: nil,
                                parameterCount: checkpoint.model.parameterCount, nonZeroParameterCount: applied?.nonZeroParameterCount,
                                techniques: applied)
            lines = result.predictions.map { "dev\t\($0.id)\t\($0.prediction)\t\($0.golds.joined(separator: " || "))" }
        } else {
            var bar: ProgressBar?
            let result = try GlueEvaluator.evaluate(
                checkpoint: checkpoint, task: taskData.task, dataRoot: URL(fileURLWithPath: taskData.data),
                limit: taskData.limit, batchSize: compute.batch, maxSeqLen: modelOptions.maxSeqLen,
                workspace: workspace, options: options,
                progress: { done, total in
                    if bar == nil { bar = ProgressBar(label: "eval \(taskData.task)", total: total) }
                    bar?.update(done)
                })
            report = EvalReport(task: result.task, model: modelOptions.model, examples: result.examples,
                                metrics: result.metrics, splits: result.splitExamples, features: nil,
                                maxSeqLen: result.maxSeqLen, wallS: MonotonicClock.now() - started,
                                flopsPerExample: result.flops / Double(max(1, result.examples)), meanExitLayer: result.meanExitLayer,
                                parameterCount: checkpoint.model.parameterCount, nonZeroParameterCount: applied?.nonZeroParameterCount,
                                techniques: applied)
            lines = result.predictions.map { "\($0.split)\t\($0.id)\t\($0.prediction)\t\($0.gold)" }
        }
        if let predictions {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: predictions), options: .atomic)
        }
        try JSONOutput.write(report)
    }
}

struct EvalReport: Codable {
    var task: String
    var model: String
    var examples: Int
    var metrics: [String: Double]
    var splits: [String: Int]
    var features: Int?
    var maxSeqLen: Int
    var wallS: Double
    /// Counted by the engine as it ran (pruned shapes, sparse kernels, dropped tokens, exits).
    var flopsPerExample: Double
    var meanExitLayer: Double?
    var parameterCount: Int
    var nonZeroParameterCount: Int?
    var techniques: AppliedTechniques?
}
