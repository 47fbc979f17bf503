import ArgumentParser
import Foundation
import FrontierTechniques
import FrontierEngine
import FrontierMeasurement
import FrontierTasks

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure engine throughput and batch-1 latency on a task's dev set.",
        discussion: """
            Tokenizes the dev split, runs one warm-up pass and --repeats timed passes in batches of \
            --batch (dataset order, no sorting), then every example alone for batch-1 latency, and \
            measures two reference GEMM rates with the same threads: OpenBLAS's sgemm and the \
            engine's packed GEMM on a 1536³ problem. Prints one JSON object on stdout (median pass \
            time; nearest-rank p50/p99 latency); progress goes to stderr. Build with -c release \
            before timing anything.

            For squad (a question-answering checkpoint, DATA/dev-v1.1.json), the inputs are the \
            questions' features as evaluation builds them (384 tokens, stride 128), each packed \
            without padding; examples and examples_per_s then count features, not questions.

            ratio_to_openblas_sgemm and ratio_to_packed_gemm are the model's GFLOP/s over those \
            measured rates, not fractions of the CPU's peak: the model can run faster than a plain \
            OpenBLAS sgemm, above all when OpenBLAS does not know the CPU and runs a generic core \
            (openblas.note says so).
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var compute: ComputeOptions

    @OptionGroup var taskData: TaskDataOptions
    @OptionGroup(title: "Efficiency techniques") var techniqueOptions: TechniqueOptions

    @Option(help: "Timed passes over the data; the median is reported.")
    var repeats: Int = 5

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1; got \(repeats).") }
    }

    func run() throws {
        let loaded = try modelOptions.loadCheckpoint()
        let (checkpoint, options, applied) = try techniqueOptions.apply(to: consume loaded, task: taskData.task, data: taskData.data,
                                                                        maxSeqLen: modelOptions.maxSeqLen, base: compute.forwardOptions,
                                                                        workspace: Workspace(threads: compute.threads))
        let maxLength: Int
        let inputs: [Encoding]
        if taskData.isSquad {
            guard case .questionAnswering = checkpoint.model.head else {
                throw ValidationError("--task squad needs a question-answering checkpoint; \(modelOptions.model) has a \(checkpoint.model.head.name) head.")
            }
            var settings = SquadSettings()
            settings.maxLength = min(modelOptions.maxSeqLen ?? settings.maxLength, checkpoint.model.config.maxPositions)
            try settings.validate()
            var questions = try SquadReader.read(path: URL(fileURLWithPath: taskData.data).appendingPathComponent("dev-v1.1.json").path)
            if let limit = taskData.limit { questions = Array(questions.prefix(limit)) }
            let features = try questions.enumerated().flatMap { index, question in
                try SquadFeaturizer.features(question: question.question, context: question.context, exampleIndex: index,
                                             tokenizer: checkpoint.tokenizer, settings: settings, id: question.id)
            }
            note("bench: \(questions.count) SQuAD questions give \(features.count) features of up to \(settings.maxLength) tokens")
            maxLength = settings.maxLength
            inputs = features.map {
                Encoding(ids: $0.ids, typeIds: $0.typeIds, offsets: Array(repeating: 0..<0, count: $0.count),
                         sequenceIds: $0.typeIds.map { Int8($0) })
            }
        } else {
            var examples = try TaskRegistry.readDev(task: taskData.task, data: taskData.data)
            if let limit = taskData.limit { examples = Array(examples.prefix(limit)) }
            maxLength = min(applied?.maxSeqLen ?? modelOptions.maxSeqLen ?? 128, checkpoint.model.config.maxPositions)
            inputs = examples.map { checkpoint.tokenizer.encode($0.textA, pair: $0.textB, maxLength: maxLength) }
        }
        let bench = EngineBenchmark(batchSize: compute.batch, threads: compute.threads, repeats: repeats, options: options)
        let result = try bench.run(model: checkpoint.model, inputs: inputs, progress: note)
        let coretype = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        let openblas = BenchReport.OpenBLAS(
            core: Blas.coreName, threads: Blas.threads, config: Blas.configuration, coretypeEnvironment: coretype,
            note: EngineBenchmark.openblasNote(core: Blas.coreName, config: Blas.configuration, isa: PackedGemm.isa,
                                               coretypeEnvironment: coretype))
        let report = BenchReport(
            model: modelOptions.model, task: taskData.task, examples: result.examples, batch: result.batch,
            threads: result.threads, maxSeqLen: maxLength, tokens: result.tokens,
            throughput: .init(examplesPerS: result.examplesPerSecond, tokensPerS: result.tokensPerSecond,
                              gflopsPerS: result.gflopsPerSecond),
            latencyMs: .init(p50: result.latencyP50Ms, p99: result.latencyP99Ms, mean: result.latencyMeanMs),
            flopsPerExample: result.flopsPerExample, meanExitLayer: result.meanExitLayer,
            parameterCount: checkpoint.model.parameterCount, nonZeroParameterCount: applied?.nonZeroParameterCount,
            techniques: applied,
            openblasSgemmGflops: result.openblasSgemmGflops,
            ratioToOpenblasSgemm: result.gflopsPerSecond / result.openblasSgemmGflops,
            packedGemmGflops: result.packedGemmGflops,
            ratioToPackedGemm: result.gflopsPerSecond / result.packedGemmGflops,
            passSeconds: result.passSeconds, gemm: result.gemm, gemmIsa: PackedGemm.isa,
            kernelPaths: KernelPaths.current, openblas: openblas)
        if let warning = openblas.note { note("bench: warning: \(warning)") }
        try JSONOutput.write(report)
    }
}

struct BenchReport: Codable {
    struct Throughput: Codable { var examplesPerS: Double; var tokensPerS: Double; var gflopsPerS: Double }
    struct Latency: Codable { var p50: Double; var p99: Double; var mean: Double }
    struct OpenBLAS: Codable {
        var core: String
        var threads: Int
        var config: String
        var coretypeEnvironment: String?
        /// Set when OpenBLAS runs a generic core on a CPU with wider vector units (`EngineBenchmark.openblasNote`).
        var note: String?
    }
    var model: String
    var task: String
    var examples: Int
    var batch: Int
    var threads: Int
    var maxSeqLen: Int
    var tokens: Int
    var throughput: Throughput
    var latencyMs: Latency
    var flopsPerExample: Double
    var meanExitLayer: Double?
    var parameterCount: Int
    var nonZeroParameterCount: Int?
    var techniques: AppliedTechniques?
    /// Measured reference rates (1536³, same threads) and the model's GFLOP/s over them.
    var openblasSgemmGflops: Double
    var ratioToOpenblasSgemm: Double
    var packedGemmGflops: Double
    var ratioToPackedGemm: Double
    var passSeconds: [Double]
    var gemm: String
    var gemmIsa: String
    /// Each kernel family's path on this CPU (`KernelPaths.current`).
    var kernelPaths: [String: String]
    var openblas: OpenBLAS
}
