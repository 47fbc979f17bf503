import FrontierEngine

/// Removes feed-forward (intermediate) neurons physically: the rows of the intermediate
/// weight and bias and the matching columns of the output weight.
///
/// A neuron's magnitude is ‖W_in[j, :]‖₂ · ‖W_out[:, j]‖₂: how much signal it can take in
/// times how much it can put out, so a neuron with tiny output weights goes even if its input
/// weights are large.
public enum FeedForwardPruning {
    /// The model without the fraction `fraction` of neurons with the smallest magnitude in every
    /// layer (at least one neuron stays), and the neurons removed per layer.
    public static func prune(_ model: consuming EncoderModel, fraction: Double) throws -> (model: EncoderModel, removed: [Int: [Int]]) {
        guard fraction >= 0, fraction < 1 else { throw TechniqueError.invalid("FFN pruning fraction must be in [0, 1); got \(fraction)") }
        var removed: [Int: [Int]] = [:]
        let pruned = try (consume model).mappingLayers { index, layer in
            let n = layer.intermediateSize
            let scores = try magnitudes(layer)
            let drop = min(n - 1, Int((fraction * Double(n)).rounded()))
            let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
            let remove = Array(order.prefix(drop)).sorted()
            removed[index] = remove
            return try removing(Set(remove), from: layer, index: index)
        }
        return (pruned, removed)
    }

    public static func magnitudes(_ layer: EncoderLayer) throws -> [Double] {
        let n = layer.intermediateSize, h = layer.intermediate.inFeatures
        let w1 = try layer.intermediate.weight.values, w2 = try layer.output.weight.values
        return (0..<n).map { j in
            var inNorm = 0.0, outNorm = 0.0
            for i in 0..<h { inNorm += Double(w1[j * h + i] * w1[j * h + i]) }
            for r in 0..<layer.output.outFeatures { outNorm += Double(w2[r * n + j] * w2[r * n + j]) }
            return inNorm.squareRoot() * outNorm.squareRoot()
        }
    }

    /// The model without the whole feed-forward block of each of `layers` (every neuron of it):
    /// the block then adds only its output bias before the LayerNorm, what a retrained structured
    /// subnetwork (Prasanna et al.) computes for a block it removed.
    public static func removingBlocks(_ model: consuming EncoderModel, layers: [Int]) throws -> EncoderModel {
        let count = model.layers.count
        if let bad = layers.first(where: { !(0..<count).contains($0) }) {
            throw TechniqueError.invalid("ffn-pruning blocks names layer \(bad); the model has layers 0..<\(count)")
        }
        let remove = Set(layers)
        return try (consume model).mappingLayers { index, layer in
            remove.contains(index) ? try removing(Set(0..<layer.intermediateSize), from: layer, index: index) : layer
        }
    }

    /// The model without the given neurons (current indices) of one layer.
    public static func prune(_ model: consuming EncoderModel, layer index: Int, neurons remove: Set<Int>) throws -> EncoderModel {
        precondition(model.layers.indices.contains(index), "FeedForwardPruning: no layer \(index)")
        return try (consume model).mappingLayers { i, layer in i == index ? try removing(remove, from: layer, index: i) : layer }
    }

    /// `layer` without the given neurons: rows of the intermediate weight and bias, columns of the output weight.
    static func removing(_ remove: Set<Int>, from layer: EncoderLayer, index: Int) throws -> EncoderLayer {
        let n = layer.intermediateSize, h = layer.intermediate.inFeatures, out = layer.output.outFeatures
        let keep = (0..<n).filter { !remove.contains($0) }
        let oldW1 = try layer.intermediate.weight.values, oldB1 = layer.intermediate.bias.values, oldW2 = try layer.output.weight.values
        var w1: [Float] = [], w2: [Float] = []
        w1.reserveCapacity(keep.count * h)
        w2.reserveCapacity(out * keep.count)
        for j in keep { w1 += oldW1[(j * h)..<((j + 1) * h)] }
        for r in 0..<out {
            for j in keep { w2.append(oldW2[r * n + j]) }
        }
        return layer.replacing(
            intermediate: layer.intermediate.replacing(weight: Tensor(shape: [keep.count, h], values: w1),
                                                       bias: Tensor(shape: [keep.count], values: keep.map { oldB1[$0] })),
            output: layer.output.replacing(weight: Tensor(shape: [out, keep.count], values: w2)))
    }
}
