import ArgumentParser
import Foundation
import FrontierMeasurement
import FrontierTasks
import FrontierTraining

/// The training recipe shared by `finetune` and the lottery-ticket commands: how long, how
/// fast, which order, when to evaluate and checkpoint, and what measures the energy.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Passes over the training data.")
    var epochs: Int = 3

    @Option(help: "Train on the first N examples of the train file only (SQuAD: questions).")
    var limit: Int?

    @Option(name: .customLong("max-seq-len"), help: "Tokens per training input, [CLS] and [SEP] included; pairs are cut longest-first (default 128 for GLUE, as run_glue; 384 for squad windows). Dev evaluation uses the same length.")
    var maxSeqLen: Int?

    @Option(name: .customLong("doc-stride"), help: "squad: tokens shared by consecutive windows of a long context (default 128, as run_qa).")
    var docStride: Int?

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Micro-batches (of --batch sequences) whose gradients are summed into one update.")
    var accumulation: Int = 1

    @Option(help: "Peak learning rate.")
    var lr: Double = 5e-5

    @Option(name: .customLong("warmup-ratio"), help: "Fraction of all updates over which the learning rate rises linearly from 0 (rounded up to whole updates); it then falls linearly to 0.")
    var warmupRatio: Double = 0

    @Option(name: .customLong("weight-decay"), help: "AdamW's decoupled weight decay (not on biases and LayerNorm weights).")
    var weightDecay: Double = 0.01

    @Option(name: .customLong("max-grad-norm"), help: "Clip the global gradient norm to this; 0 turns clipping off.")
    var maxGradNorm: Double = 1

    @Option(help: "One dropout probability for every site (embeddings, attention, feed-forward, head) instead of the base config.json's; 0 turns dropout off.")
    var dropout: Double?

    @Option(help: "Seeds the data order, the dropout masks and a new head's initialisation.")
    var seed: UInt64 = 42

    @Flag(name: .customLong("no-shuffle"), help: "Keep the train file's order in every epoch instead of a seeded shuffle per epoch.")
    var noShuffle = false

    @Option(name: .customLong("eval-every"), help: "Score the dev set every N updates (always after the last).")
    var evalEvery: Int?

    @Option(name: .customLong("eval-limit"), help: "Score only the first N dev examples at each evaluation (per split for MNLI; questions for squad).")
    var evalLimit: Int?

    @Option(name: .customLong("checkpoint-every"), help: "Save the training state every N updates (and after the last); 0: never, and the run cannot resume.")
    var checkpointEvery: Int = 500

    @Option(help: "Energy meter: auto (RAPL/NVML, else hwmon, else estimated, each fallback noted), rapl, nvml, hwmon or estimated.")
    var energy: EnergyMeterChoice = .auto

    /// The recipe as `FineTuneSettings` (paths made absolute: a resumed state compares them).
    func settings(task: String, base: String, data: String, regime: String, techniques: [String] = [], sparsity: Double? = nil,
                  sparsityScope: String? = nil, mask: String? = nil) -> FineTuneSettings {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        let fineTuneTask = FineTuneTask(name: task)
        let isSquad = fineTuneTask?.isQuestionAnswering ?? false
        return FineTuneSettings(
            task: fineTuneTask?.description ?? task, base: absolute(base), data: absolute(data), regime: regime, epochs: epochs, limit: limit,
            batchSize: compute.batch, accumulation: accumulation, maxSeqLen: maxSeqLen ?? (isSquad ? 384 : GlueEvaluator.defaultMaxSeqLen),
            docStride: isSquad ? (docStride ?? 128) : nil, learningRate: lr, warmupRatio: warmupRatio, weightDecay: weightDecay,
            maxGradNorm: maxGradNorm > 0 ? maxGradNorm : nil, dropout: dropout, seed: seed, threads: compute.threads, shuffle: !noShuffle,
            evalEvery: evalEvery, evalLimit: evalLimit, checkpointEvery: checkpointEvery > 0 ? checkpointEvery : nil,
            gemm: compute.gemm.rawValue, techniques: techniques, sparsity: sparsity, sparsityScope: sparsityScope, mask: mask.map(absolute))
    }

    /// Checks what the option parser cannot (the task-dependent ones are the command's).
    func validateRecipe(task: FineTuneTask) throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
        if let maxSeqLen, maxSeqLen < 3 {
            throw ValidationError("--max-seq-len must be at least 3 (room for [CLS], a token and [SEP]); got \(maxSeqLen).")
        }
        if docStride != nil, !task.isQuestionAnswering { throw ValidationError("--doc-stride applies to squad only.") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be ≥ 0 (0: never); got \(checkpointEvery).") }
        guard maxGradNorm.isFinite, maxGradNorm >= 0 else { throw ValidationError("--max-grad-norm must be ≥ 0 (0: no clipping); got \(maxGradNorm).") }
    }
}
