import CKernels

/// The code path each kernel family takes on this CPU. Every family picks it at run time from the
/// CPU's features, so the same binary runs AVX-512, AVX2 or portable code depending on the
/// machine; a benchmark names these beside its figures so that numbers from two machines are
/// read for what they are.
public enum KernelPaths {
    /// Family → path, e.g. `["dense": "avx512", "bf16-compute": "avx512-bf16", …]`. The form
    /// names are `LinearForm`'s; `attention` is the blocked attention's path from 32 keys on.
    public static var current: [String: String] {
        [
            LinearForm.dense.rawValue: PackedGemm.isa,
            LinearForm.sparse.rawValue: SparseWeight.isa,
            LinearForm.int8.rawValue: QuantizedWeight.isa,
            LinearForm.sparseInt8.rawValue: SparseQuantizedWeight.isa,
            LinearForm.fp16.rawValue: HalfPrecisionWeight.isa,
            LinearForm.bf16.rawValue: HalfPrecisionWeight.isa,
            LinearForm.bf16Compute.rawValue: BFloat16ComputeWeight.isa,
            "attention": String(cString: fk_attention_isa()),
        ]
    }
}
