import FrontierEngine

/// Quantization of the encoder's linear layers (the same matrices pruning acts on; embeddings,
/// LayerNorms and the classifier stay fp32).
public enum Quantization {
    /// The model with its encoder layers executed in `mode`'s form; the fp32 parameters stay.
    public static func apply(_ mode: TechniqueSpec.QuantizationMode, to model: consuming EncoderModel, notes: inout [String]) throws -> EncoderModel {
        let form: LinearForm
        switch mode {
        case .int8: form = .int8
        case .fp16: form = .fp16
        case .bf16: form = .bf16
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
