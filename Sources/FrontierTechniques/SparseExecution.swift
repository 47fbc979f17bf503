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

    /// The same for an int8 layer: the highest density at which the sparse int8 kernel
    /// (`fk_linear_sparse_int8`) is chosen over the dense int8 one. Measured end to end
    /// (`frontier-agent bench`, MiniLM SST-2, batch 32, 2 threads, per-matrix magnitude pruning,
    /// Zen 4; docs/kernels.md): against dense int8 the sparse int8 kernel ran 0.83-1.0x at 60 %
    /// sparsity, 1.1x at 70 %, 1.4x at 80 %, 1.7x at 90 %. It is slower at batch 1 (one
    /// sequence's ~25 tokens fill half of its 64-row tile) until about 90 %. Without AVX-512 VNNI
    /// it is portable C, so `auto` leaves int8 layers dense there.
    public static let maxInt8Density = 0.30

    /// The model with the sparse kernels on the encoder's linear layers as `mode` says, and how
    /// many layers now run sparse: a dense layer moves to the fp32 sparse kernel, an int8 layer
    /// (quantization after pruning) to the sparse int8 one; 16-bit layers keep their kernel.
    /// `notes` says when the CPU kept int8 layers dense.
    public static func install(on model: consuming EncoderModel, mode: TechniqueSpec.SparseKernel,
                               notes: inout [String]) throws -> (model: EncoderModel, installed: Int) {
        guard mode != .never else { return (model, 0) }
        var installed = 0, keptDenseInt8 = 0
        let sparse = try (consume model).mappingLayers { _, layer in
            try layer.mapLinears { linear in
                let target: LinearForm, threshold: Double
                switch linear.form {
                case .dense: (target, threshold) = (.sparse, maxDensity)
                case .int8: (target, threshold) = (.sparseInt8, maxInt8Density)
                default: return linear
                }
                let weight = try linear.weight
                let nonZero = weight.values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
                let density = Double(nonZero) / Double(max(1, weight.count))
                guard mode == .always || density <= threshold else { return linear }
                if target == .sparseInt8 && mode == .auto && !SparseQuantizedWeight.isAccelerated {
                    keptDenseInt8 += 1
                    return linear
                }
                installed += 1
                return try linear.executing(as: target)
            }
        }
        if keptDenseInt8 > 0 {
            notes.append("sparse-int8: this CPU has no AVX-512 VNNI, so \(keptDenseInt8) pruned int8 layers run on the dense int8 kernel (--sparse-kernel always forces the portable sparse int8 kernel)")
        }
        return (sparse, installed)
    }
}
