import FrontierAnalysis
import FrontierEngine
import FrontierSupport

/// Throughput and latency of the engine on a fixed list of encoded inputs, plus OpenBLAS's
/// own sgemm rate on this machine, so "GFLOP/s achieved" can be read as a fraction of what the
/// GEMM library can do here.
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
        public var sgemmPeakGflops: Double
        public var packedGemmPeakGflops: Double
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

        progress("measuring sgemm peaks (OpenBLAS and packed)")
        let peak = Self.sgemmPeak(threads: threads)
        let packedPeak = Self.packedGemmPeak(workspace: workspace)
        return Result(
            examples: inputs.count, tokens: tokens, batch: batchSize, threads: threads, repeats: repeats,
            examplesPerSecond: Double(inputs.count) / median, tokensPerSecond: Double(tokens) / median,
            gflopsPerSecond: flops / median / 1e9, flopsPerExample: flops / Double(inputs.count),
            meanExitLayer: exitLayers.isEmpty ? nil : Double(exitLayers.reduce(0, +)) / Double(exitLayers.count),
            latencyP50Ms: Percentiles.nearestRank(latencies, 50) * 1e3,
            latencyP99Ms: Percentiles.nearestRank(latencies, 99) * 1e3,
            latencyMeanMs: latencies.reduce(0, +) / Double(latencies.count) * 1e3,
            sgemmPeakGflops: peak, packedGemmPeakGflops: packedPeak, gemm: options.gemm.rawValue, passSeconds: passes)
    }

    /// Best-of-N rate of the packed GEMM on the same square problem, with the workspace's threads.
    public static func packedGemmPeak(workspace: Workspace, n: Int = 1536, trials: Int = 7) -> Double {
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

    /// Best-of-N rate of a large square sgemm (n = 1536): the practical ceiling for our GEMMs.
    public static func sgemmPeak(threads: Int, n: Int = 1536, trials: Int = 7) -> Double {
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
}
