import FrontierAnalysis
import FrontierEngine
import FrontierSupport

/// Throughput and latency of the engine on a fixed list of encoded inputs, plus two reference
/// GEMM rates measured on this machine with the same threads — OpenBLAS's sgemm and the
/// engine's packed GEMM on one large square problem — so "GFLOP/s achieved" can be compared
/// with what a plain GEMM reaches here. They are measured rates, not the CPU's peak: the whole
/// model can beat OpenBLAS's (the engine's kernels are not OpenBLAS's, and OpenBLAS may run a
/// generic core on a CPU it does not know; see `openblasNote`).
public struct EngineBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var examples: Int
        public var tokens: Int
        public var batch: Int
        public var threads: Int
        public var repeats: Int
        public var examplesPerSecond: Double
        public var tokensPerSecond: Double
        public var gflopsPerSecond: Double
        /// Counted by the engine over one pass (techniques included).
        public var flopsPerExample: Double
        public var meanExitLayer: Double?
        public var latencyP50Ms: Double
        public var latencyP99Ms: Double
        public var latencyMeanMs: Double
        /// Best-of-7 rate of a 1536³ `cblas_sgemm`.
        public var openblasSgemmGflops: Double
        /// Best-of-7 rate of the engine's packed GEMM on the same problem.
        public var packedGemmGflops: Double
        public var gemm: String
        public var passSeconds: [Double]
    }

    public var batchSize: Int
    public var threads: Int
    public var repeats: Int
    public var latencyPasses: Int
    public var options: ForwardOptions

    public init(batchSize: Int, threads: Int, repeats: Int = 5, latencyPasses: Int = 1, options: ForwardOptions = ForwardOptions()) {
        self.options = options
        self.batchSize = max(1, batchSize)
        self.threads = max(1, threads)
        self.repeats = max(1, repeats)
        self.latencyPasses = max(1, latencyPasses)
    }

    /// Batches in input order (no sorting by length), one warm-up pass, then `repeats` timed
    /// passes (median reported); then batch-1 latency of every input after a warm-up pass.
    public func run(model: EncoderModel, inputs: [Encoding], progress: (String) -> Void = { _ in }) throws -> Result {
        precondition(!inputs.isEmpty, "benchmark needs at least one input")
        Blas.setThreads(threads)
        let workspace = Workspace(threads: threads)
        let batches: [EncoderBatch] = stride(from: 0, to: inputs.count, by: batchSize).map {
            EncoderBatch(Array(inputs[$0..<min($0 + batchSize, inputs.count)]))
        }
        let singles = inputs.map { EncoderBatch([$0]) }
        let tokens = inputs.reduce(0) { $0 + $1.count }
        progress("warm-up pass (batch \(batchSize))")
        var flops = 0.0, exitLayers: [Int] = []
        for batch in batches {
            let output = try model.forward(batch, workspace: workspace, options: options)
            flops += output.flops
            exitLayers += output.exitLayers
        }
        var passes: [Double] = []
        for pass in 1...repeats {
            let start = MonotonicClock.now()
            for batch in batches { _ = try model.forward(batch, workspace: workspace, options: options) }
            passes.append(MonotonicClock.now() - start)
            progress("throughput pass \(pass)/\(repeats): \(String(format: "%.1f", Double(inputs.count) / passes.last!)) examples/s")
        }
        let median = Percentiles.median(passes)

        progress("latency warm-up (batch 1)")
        for single in singles { _ = try model.forward(single, workspace: workspace, options: options) }
        var latencies: [Double] = []
        for pass in 1...latencyPasses {
            for single in singles {
                let start = MonotonicClock.now()
                _ = try model.forward(single, workspace: workspace, options: options)
                latencies.append(MonotonicClock.now() - start)
            }
            progress("latency pass \(pass)/\(latencyPasses)")
        }
        latencies.sort()

        progress("measuring reference GEMM rates (OpenBLAS sgemm and packed)")
        let openblasRate = Self.openblasSgemmRate(threads: threads)
        let packedRate = Self.packedGemmRate(workspace: workspace)
        return Result(
            examples: inputs.count, tokens: tokens, batch: batchSize, threads: threads, repeats: repeats,
            examplesPerSecond: Double(inputs.count) / median, tokensPerSecond: Double(tokens) / median,
            gflopsPerSecond: flops / median / 1e9, flopsPerExample: flops / Double(inputs.count),
            meanExitLayer: exitLayers.isEmpty ? nil : Double(exitLayers.reduce(0, +)) / Double(exitLayers.count),
            latencyP50Ms: Percentiles.nearestRank(latencies, 50) * 1e3,
            latencyP99Ms: Percentiles.nearestRank(latencies, 99) * 1e3,
            latencyMeanMs: latencies.reduce(0, +) / Double(latencies.count) * 1e3,
            openblasSgemmGflops: openblasRate, packedGemmGflops: packedRate, gemm: options.gemm.rawValue, passSeconds: passes)
    }

    /// Best-of-N rate of the packed GEMM on the same square problem, with the workspace's threads.
    public static func packedGemmRate(workspace: Workspace, n: Int = 1536, trials: Int = 7) -> Double {
        let a = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 13) * 0.01 }
        let weight = Tensor(shape: [n, n], values: (0..<(n * n)).map { Float($0 % 7) * 0.01 })
        let layer = Linear(weight: weight, bias: Tensor(zeros: [n]))
        var best = Double.infinity
        for _ in 0..<trials {
            let start = MonotonicClock.now()
            PackedGemm.linear(layer, a.pointer, rows: n, lda: n, into: c.pointer, ldc: n, workspace: workspace)
            best = min(best, MonotonicClock.now() - start)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }

    /// Best-of-N rate of a large square OpenBLAS sgemm (n = 1536).
    public static func openblasSgemmRate(threads: Int, n: Int = 1536, trials: Int = 7) -> Double {
        Blas.setThreads(threads)
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            a[i] = Float(i % 13) * 0.01
            b[i] = Float(i % 7) * 0.01
        }
        var best = Double.infinity
        for _ in 0..<trials {
            let start = MonotonicClock.now()
            Blas.gemm(a.pointer, b.pointer, into: c.pointer, m: n, n: n, k: n)
            best = min(best, MonotonicClock.now() - start)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }

    /// OpenBLAS cores whose kernels predate AVX2: what a DYNAMIC_ARCH build falls back to on a
    /// CPU newer than itself (Debian 12's 0.3.21 runs an AVX-512 Zen 5 as `Prescott`, SSE3).
    static let preAVX2Cores: Set<String> = [
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine", "Northwood", "Banias",
        "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat", "Generic", "generic",
    ]

    /// A sentence for the bench output when OpenBLAS runs a pre-AVX2 core on a CPU whose vector
    /// units the engine's own kernels use (`isa` avx2 or avx512): its sgemm rate, and every
    /// `--gemm openblas` figure, then says more about that OpenBLAS build than about the
    /// machine. Nil when the core fits or OPENBLAS_CORETYPE chose it.
    public static func openblasNote(core: String, config: String, isa: String, coretypeEnvironment: String?) -> String? {
        guard preAVX2Cores.contains(core), isa == "avx2" || isa == "avx512" else { return nil }
        let version = config.split(separator: " ").prefix(2).joined(separator: " ")
        let build = version.hasPrefix("OpenBLAS") ? version : "this OpenBLAS"
        if let chosen = coretypeEnvironment, !chosen.isEmpty {
            return "OPENBLAS_CORETYPE=\(chosen) selected the \(core) core: it has no \(isa.uppercased()) kernels, so "
                + "the OpenBLAS sgemm rate is far below what this CPU can do"
        }
        let suggestion = isa == "avx512" ? "SkylakeX (or Haswell)" : "Haswell"
        return "\(build) does not know this CPU and fell back to its generic \(core) core (no \(isa.uppercased()) kernels), "
            + "so the OpenBLAS sgemm rate is far below what this CPU can do; a newer OpenBLAS, or "
            + "OPENBLAS_CORETYPE=\(suggestion), uses its vector units"
    }
}
