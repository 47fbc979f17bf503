import FrontierEngine

/// Quantization of the encoder's linear layers (the same matrices pruning acts on; embeddings,
/// LayerNorms and the classifier stay fp32).
public enum Quantization {
    /// The model with its encoder layers executed in `mode`'s form; the fp32 parameters stay.
    public static func apply(_ mode: TechniqueSpec.QuantizationMode, to model: consuming EncoderModel, notes: inout [String]) throws -> EncoderModel {
        let form: LinearForm
        switch mode {
        case .int8: form = .int8
        case .fp16:
            // x86 has no fp16 product with fp32 accumulation short of AMX-FP16 (AVX512_FP16
            // accumulates in fp16), so fp16 stays a storage format.
            form = .fp16
            notes.append("fp16: weights stored in fp16, multiplied in fp32")
        case .bf16:
            if BFloat16ComputeWeight.isAvailable {
                form = .bf16Compute
            } else {
                form = .bf16
                notes.append("bf16: this CPU has no AVX512_BF16, so the weights are stored in bf16 and multiplied in fp32")
            }
        }
        var replacedSparse = 0
        let quantized = try (consume model).mappingLayers { _, layer in
            try layer.mapLinears { linear in
                if linear.form == .sparse { replacedSparse += 1 }
                return try linear.executing(as: form)
            }
        }
        notes += Array(repeating: "\(mode.rawValue) replaces the sparse kernel on a pruned layer (its zeros are computed)", count: replacedSparse)
        return quantized
    }
}
