import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierTraining

/// How fast a training step runs here, and what bounds it.
struct TrainingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-bench",
        abstract: "Measure fine-tuning throughput (examples/s, tokens/s) and the GEMM-peak fraction of a training step.",
        discussion: """
            Tokenizes the first --limit examples of the task's train split (file order), then runs \
            --warmup untimed and --steps timed AdamW updates of --batch examples each (full \
            fine-tuning, dropout from config.json unless --dropout), cycling through the examples. \
            Reports the median step's examples/s and real tokens/s, the split between the \
            forward+backward pass and the optimizer update, the step's counted FLOPs over its time, \
            and that rate as a fraction of the faster of two reference GEMMs on a 1536³ problem with \
            the same threads, measured in the same run: OpenBLAS's sgemm and the engine's packed \
            GEMM. Prints one JSON object on stdout. Build with \
            -c release before timing anything.
            """
    )

    @Option(help: "A checkpoint folder: a fine-tuned classifier (its head is kept) or a bare encoder (a head is initialised).")
    var model: String

    @Option(help: "The GLUE task whose train split to read.")
    var task: String

    @Option(help: "The folder holding the GLUE task folders (DATA/SST-2/train.tsv).")
    var data: String

    @Option(help: "Examples per update.")
    var batch: Int = 32

    @Option(name: .customLong("max-seq-len"), help: "Tokens per example at most, [CLS] and [SEP] included.")
    var maxSeqLen: Int = 64

    @Option(help: "Threads for the engine's kernels and OpenBLAS.")
    var threads: Int = 1

    @Option(help: "Examples read from the train split.")
    var limit: Int = 1024

    @Option(help: "Untimed updates first.")
    var warmup: Int = 2

    @Option(help: "Timed updates; the median is reported.")
    var steps: Int = 10

    @Option(help: "Dropout rate for every site (default: the rates of config.json).")
    var dropout: Float?

    @Option(help: "GEMM for the linear layers: packed (the engine's microkernels) or openblas.")
    var gemm: GemmBackend = .packed

    @Option(help: "Which part trains: full, top-K (e.g. top-2) or frozen.")
    var regime: String = "full"

    @Flag(name: .customLong("every-row-last-block"), help: "Compute every row of a classifier's last block instead of [CLS] alone (the same gradients; the baseline of that saving).")
    var everyRowLastBlock = false

    func run() throws {
        guard let glueTask = GlueTask(name: task) else { throw ValidationError("unknown --task '\(task)'") }
        guard batch >= 1, steps >= 1, warmup >= 0, limit >= batch else { throw ValidationError("need --batch ≥ 1, --steps ≥ 1, --limit ≥ --batch") }
        let trainingRegime: TrainingRegime
        switch regime {
        case "full": trainingRegime = .full
        case "frozen": trainingRegime = .frozen
        case let r where r.hasPrefix("top-"):
            guard let k = Int(r.dropFirst(4)) else { throw ValidationError("--regime top-K needs a number, e.g. top-2") }
            trainingRegime = .topK(k)
        default: throw ValidationError("--regime is full, top-K or frozen; got '\(regime)'")
        }
        Blas.setThreads(threads)
        let checkpoint = try Checkpoint.load(directory: URL(fileURLWithPath: model))
        let examples = Array(try GlueReader.read(task: glueTask, split: "train", dataRoot: URL(fileURLWithPath: data)).prefix(limit))
        let encodings = examples.map { checkpoint.tokenizer.encode($0.textA, pair: $0.textB, maxLength: maxSeqLen) }
        let trainable: TrainableModel
        if case .encoderOnly = checkpoint.model.head {
            trainable = try TrainableModel(checkpoint.model, newHead: .sequenceClassification(labels: glueTask.isRegression ? 1 : glueTask.labels.count), seed: 1)
        } else {
            trainable = try TrainableModel(checkpoint.model)
        }
        let regression = trainable.architecture.isRegression
        func batchAt(_ index: Int) -> TrainingBatch {
            var inputs = EncoderBatch(), targets: [TrainingTarget] = []
            for k in 0..<batch {
                let e = (index * batch + k) % examples.count
                inputs.append(ids: encodings[e].ids, typeIds: encodings[e].typeIds)
                targets.append(regression ? .value(Float(examples[e].score ?? 0)) : .label(examples[e].label))
            }
            return TrainingBatch(inputs: inputs, targets: targets)
        }
        let rates = dropout.map(DropoutRates.uniform) ?? DropoutRates(config: trainable.config, questionAnswering: false)
        let settings = TrainerSettings(schedule: LearningRateSchedule(peak: 1e-5, warmupSteps: 0, totalSteps: 1_000_000),
                                       dropout: rates, seed: 1, regime: trainingRegime)
        var trainer = try Trainer(model: trainable, settings: settings)
        let engine = GradientEngine(threads: threads, gemm: gemm, everyRowOfTheLastBlock: everyRowLastBlock)
        note("train-bench: \(glueTask.folderName), \(examples.count) examples, batch \(batch), \(threads) thread(s), \(warmup) + \(steps) updates")
        var stepSeconds: [Double] = [], passSeconds: [Double] = [], tokens: [Int] = [], flops: [Double] = []
        for index in 0..<(warmup + steps) {
            let b = batchAt(index)
            let start = MonotonicClock.now()
            let report = try trainer.update([b], engine: engine)
            let total = MonotonicClock.now() - start
            guard index >= warmup else { continue }
            stepSeconds.append(total)
            passSeconds.append(report.passSeconds)
            tokens.append(b.inputs.tokenCount)
            let counted = trainer.architecture.trainingFlops(lengths: b.inputs.lengths, parts: trainer.parts, everyRowOfTheLastBlock: everyRowLastBlock)
            flops.append(counted.forward + counted.backward)
        }
        let median = { (values: [Double]) -> Double in let s = values.sorted(); return s[s.count / 2] }
        let step = median(stepSeconds), pass = median(passSeconds)
        let meanTokens = Double(tokens.reduce(0, +)) / Double(tokens.count), meanFlops = flops.reduce(0, +) / Double(flops.count)
        // Both reference rates are GFLOP/s on a 1536³ problem with these threads.
        let sgemm = EngineBenchmark.openblasSgemmRate(threads: threads)
        let packed = EngineBenchmark.packedGemmRate(workspace: Workspace(threads: threads))
        let device = DeviceProbe().fingerprint(threadsUsed: threads, gpus: [], openblasConfig: Blas.configuration, openblasThreads: Blas.threads,
                                               engineVersion: FrontierVersion.string, gitCommit: nil, deviceClassOverride: nil)
        let rate: Double = meanFlops / step
        let stepRate: Double = rate / 1e9
        let fraction: Double = stepRate / max(sgemm, packed)
        let peakRss: Double? = ProcessMemory.peakResidentKB().map { Double($0) / 1024 }
        let report = TrainingBenchReport(
            model: model, task: glueTask.folderName, regime: trainingRegime.description, batch: batch, maxSeqLen: maxSeqLen,
            threads: threads, steps: steps, meanTokensPerStep: meanTokens, stepSeconds: step,
            passSeconds: pass, optimizerSeconds: max(0, step - pass),
            examplesPerS: Double(batch) / step, tokensPerS: meanTokens / step,
            stepGflopsPerS: stepRate, openblasSgemmGflopsPerS: sgemm, packedGemmGflopsPerS: packed,
            fractionOfPeakGemm: fraction, gemm: engine.gemm.rawValue, lastBlock: everyRowLastBlock ? "every row" : "cls only",
            gemmIsa: PackedGemm.isa,
            parameters: trainer.parameterCount, trainableParameters: trainer.trainableParameterCount,
            peakRssMb: peakRss, openblasCore: Blas.coreName,
            cpu: device.cpuModel, cpuFlags: device.cpuFlags)
        try JSONOutput.write(report)
    }
}

struct TrainingBenchReport: Codable {
    var model: String
    var task: String
    var regime: String
    var batch: Int
    var maxSeqLen: Int
    var threads: Int
    var steps: Int
    var meanTokensPerStep: Double
    var stepSeconds: Double
    var passSeconds: Double
    var optimizerSeconds: Double
    var examplesPerS: Double
    var tokensPerS: Double
    var stepGflopsPerS: Double
    var openblasSgemmGflopsPerS: Double
    var packedGemmGflopsPerS: Double
    /// The step's rate over the faster of the two reference GEMMs.
    var fractionOfPeakGemm: Double
    var gemm: String
    /// A classifier's last block: `cls only` (the default) or `every row`.
    var lastBlock: String
    var gemmIsa: String
    var parameters: Int
    var trainableParameters: Int
    var peakRssMb: Double?
    var openblasCore: String
    var cpu: String
    var cpuFlags: [String]
}
