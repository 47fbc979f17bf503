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

    /// The model with the sparse kernel on the encoder's linear layers as `mode` says, and how
    /// many layers now run sparse.
    public static func install(on model: consuming EncoderModel, mode: TechniqueSpec.SparseKernel) throws -> (model: EncoderModel, installed: Int) {
        guard mode != .never else { return (model, 0) }
        var installed = 0
        let sparse = try (consume model).mappingLayers { _, layer in
            try layer.mapLinears { linear in
                // A quantised layer keeps its kernel: there is no sparse int8 kernel.
                guard linear.form == .dense else { return linear }
                let weight = try linear.weight
                let nonZero = weight.values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
                let density = Double(nonZero) / Double(max(1, weight.count))
                guard mode == .always || density <= maxDensity else { return linear }
                installed += 1
                return try linear.executing(as: .sparse)
            }
        }
        return (sparse, installed)
    }
}
