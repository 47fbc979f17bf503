import FrontierEngine

/// Quantization of the encoder's linear layers (the same matrices pruning acts on; embeddings,
/// LayerNorms and the classifier stay fp32).
public enum Quantization {
    public static func apply(_ mode: TechniqueSpec.QuantizationMode, to model: EncoderModel, notes: inout [String]) throws {
        func place(_ linear: inout Linear) {
            if linear.executor != nil { notes.append("\(mode.rawValue) replaces the sparse kernel on a pruned layer (its zeros are computed)") }
            switch mode {
            case .int8: linear.executor = QuantizedWeight(weight: linear.weight)
            case .fp16: linear.executor = HalfPrecisionWeight(weight: linear.weight, format: .fp16)
            case .bf16: linear.executor = HalfPrecisionWeight(weight: linear.weight, format: .bf16)
            }
        }
        for index in model.layers.indices {
            place(&model.layers[index].queryKeyValue)
            place(&model.layers[index].attentionOutput)
            place(&model.layers[index].intermediate)
            place(&model.layers[index].output)
        }
    }
}

extension QuantizedWeight: LinearExecutor {
    public var kind: String { "int8" }
    public var multiplyAddsPerRow: Int { outFeatures * inFeatures }
    public var weightBytes: Int { bytes }
}

extension HalfPrecisionWeight: LinearExecutor {
    public var kind: String { format.rawValue }
    public var multiplyAddsPerRow: Int { outFeatures * inFeatures }
    public var weightBytes: Int { bytes }
}
