import FrontierEngine

/// Removes feed-forward (intermediate) neurons physically: the rows of the intermediate
/// weight and bias and the matching columns of the output weight.
///
/// A neuron's magnitude is ‖W_in[j, :]‖₂ · ‖W_out[:, j]‖₂: how much signal it can take in
/// times how much it can put out, so a neuron with tiny output weights goes even if its input
/// weights are large.
public enum FeedForwardPruning {
    /// Removes the fraction `fraction` of neurons with the smallest magnitude in every layer
    /// (at least one neuron stays).
    public static func prune(_ model: EncoderModel, fraction: Double) throws -> [Int: [Int]] {
        guard fraction >= 0, fraction < 1 else { throw TechniqueError.invalid("FFN pruning fraction must be in [0, 1); got \(fraction)") }
        var removed: [Int: [Int]] = [:]
        for index in model.layers.indices {
            let layer = model.layers[index], n = layer.intermediateSize
            let scores = magnitudes(layer)
            let drop = min(n - 1, Int((fraction * Double(n)).rounded()))
            let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
            let remove = Array(order.prefix(drop)).sorted()
            try prune(model, layer: index, neurons: Set(remove))
            removed[index] = remove
        }
        return removed
    }

    public static func magnitudes(_ layer: EncoderLayer) -> [Double] {
        let n = layer.intermediateSize, h = layer.intermediate.inFeatures
        let w1 = layer.intermediate.weight.pointer, w2 = layer.output.weight.pointer
        return (0..<n).map { j in
            var inNorm = 0.0, outNorm = 0.0
            for i in 0..<h { inNorm += Double(w1[j * h + i] * w1[j * h + i]) }
            for r in 0..<layer.output.outFeatures { outNorm += Double(w2[r * n + j] * w2[r * n + j]) }
            return inNorm.squareRoot() * outNorm.squareRoot()
        }
    }

    /// Removes the given neurons (current indices) of one layer.
    public static func prune(_ model: EncoderModel, layer index: Int, neurons remove: Set<Int>) throws {
        var layer = model.layers[index]
        let n = layer.intermediateSize, h = layer.intermediate.inFeatures, out = layer.output.outFeatures
        let keep = (0..<n).filter { !remove.contains($0) }
        guard !keep.isEmpty else { throw TechniqueError.invalid("FFN pruning would remove every neuron of layer \(index)") }
        let w1 = Tensor(zeros: [keep.count, h]), b1 = Tensor(zeros: [keep.count]), w2 = Tensor(zeros: [out, keep.count])
        for (newIndex, j) in keep.enumerated() {
            (w1.pointer + newIndex * h).update(from: layer.intermediate.weight.pointer + j * h, count: h)
            b1.pointer[newIndex] = layer.intermediate.bias.pointer[j]
            for r in 0..<out { w2.pointer[r * keep.count + newIndex] = layer.output.weight.pointer[r * n + j] }
        }
        layer.intermediate = Linear(weight: w1, bias: b1)
        layer.output = Linear(weight: w2, bias: layer.output.bias)
        model.layers[index] = layer
    }
}
