import FrontierEngine

/// Moves pruned matrices onto the sparse kernel where it is faster than the dense one.
public enum SparseExecution {
    /// The highest density at which the sparse kernel beats our dense packed GEMM: above it a
    /// pruned matrix stays on the dense kernel, zeros and all. Measured with
    /// `bench/kernels/sparse_bench.c` (bench/kernels/README.md, Zen 4, MiniLM and BERT-base
    /// shapes): with m ≥ 32 rows (a batch, or one sequence of ≥ 32 tokens) sparse was faster
    /// in every cell from 60 % sparsity (1.07–1.93×) and in most from 30–45 %; 50 % still lost
    /// in some 2-thread cells. At m = 1 it needs 64–93 %, but the engine multiplies a whole
    /// batch's tokens at once, so m = 1 only occurs for one-sequence batches of one token.
    public static let maxDensity = 0.40

    /// Installs the sparse kernel on the encoder's linear layers as `mode` says; returns how
    /// many layers now run sparse.
    @discardableResult
    public static func install(on model: EncoderModel, mode: TechniqueSpec.SparseKernel) -> Int {
        guard mode != .never else { return 0 }
        var installed = 0
        func place(_ linear: inout Linear) {
            // A quantised layer keeps its kernel: there is no sparse int8 kernel.
            guard linear.executor == nil else { return }
            let total = linear.weight.count
            var nonZero = 0
            for i in 0..<total where linear.weight.pointer[i] != 0 { nonZero += 1 }
            let density = Double(nonZero) / Double(max(1, total))
            guard mode == .always || density <= maxDensity else { return }
            linear.executor = SparseWeight(weight: linear.weight)
            installed += 1
        }
        for index in model.layers.indices {
            place(&model.layers[index].queryKeyValue)
            place(&model.layers[index].attentionOutput)
            place(&model.layers[index].intermediate)
            place(&model.layers[index].output)
        }
        return installed
    }
}

extension SparseWeight: LinearExecutor {
    public var kind: String { "sparse" }
    public var multiplyAddsPerRow: Int { nonZeros }
    public var weightBytes: Int { bytes }
}
