import FrontierEngine

/// The weight matrices that pruning acts on, with the Hugging Face names the lottery-ticket
/// code uses for them: per layer query, key, value, attention output, intermediate and output
/// (6 × 12 = 72 in BERT-base) plus the pooler's dense weight — 73. Embeddings, biases,
/// LayerNorms and the classifier stay dense.
///
/// Query, key and value live in one fused matrix here; each is a row range of it.
public struct PrunableWeight: Sendable, Equatable {
    public enum Part: String, Sendable, CaseIterable {
        case query, key, value, attentionOutput, intermediate, output, pooler
    }

    /// The checkpoint's name without `.weight` (`bert.encoder.layer.0.attention.self.query`).
    public var name: String
    /// nil for the pooler.
    public var layer: Int?
    public var part: Part
    /// Shape as the checkpoint stores it, `[out, in]`.
    public var shape: [Int]

    public var count: Int { shape[0] * shape[1] }

    /// The lottery-ticket code's mask key: `<name>.weight_mask`.
    public var maskKey: String { name + ".weight_mask" }
}

extension EncoderModel {
    /// The prunable matrices in checkpoint order. `prefix` is the encoder's name prefix as the
    /// task checkpoints have it (`bert.`); mask files written without it are accepted too.
    public var prunableWeights: [PrunableWeight] {
        let names = CheckpointNames(family: config.family, tensorNames: [config.family.rawValue + ".embeddings.word_embeddings.weight"])
        var result: [PrunableWeight] = []
        let h = config.hiddenSize
        for (index, layer) in layers.enumerated() {
            let n = names.layer(index), a = layer.attentionWidth
            result += [
                PrunableWeight(name: n.query, layer: index, part: .query, shape: [a, h]),
                PrunableWeight(name: n.key, layer: index, part: .key, shape: [a, h]),
                PrunableWeight(name: n.value, layer: index, part: .value, shape: [a, h]),
                PrunableWeight(name: n.attentionOutput, layer: index, part: .attentionOutput, shape: [h, a]),
                PrunableWeight(name: n.intermediate, layer: index, part: .intermediate, shape: [layer.intermediateSize, h]),
                PrunableWeight(name: n.output, layer: index, part: .output, shape: [h, layer.intermediateSize]),
            ]
        }
        if let pooler = poolerLinear { result.append(PrunableWeight(name: names.pooler, layer: nil, part: .pooler, shape: pooler.weight.shape)) }
        return result
    }

    var poolerLinear: Linear? {
        switch head {
        case let .encoderOnly(pooler): return pooler
        case let .sequenceClassification(pooler, _, _): return pooler
        case .questionAnswering: return nil
        }
    }

    /// Where a prunable weight's values sit: the `Linear` holding it and the first element.
    func location(of weight: PrunableWeight) -> (linear: Linear, offset: Int) {
        guard let index = weight.layer else { return (poolerLinear!, 0) }
        let layer = layers[index], a = layer.attentionWidth, h = config.hiddenSize
        switch weight.part {
        case .query: return (layer.queryKeyValue, 0)
        case .key: return (layer.queryKeyValue, a * h)
        case .value: return (layer.queryKeyValue, 2 * a * h)
        case .attentionOutput: return (layer.attentionOutput, 0)
        case .intermediate: return (layer.intermediate, 0)
        case .output: return (layer.output, 0)
        case .pooler: return (poolerLinear!, 0)
        }
    }

    /// Re-packs every prunable `Linear` after its weights were changed in place (the setter
    /// re-packs and drops any other kernel built from the old values).
    func weightsChangedInPlace() {
        for index in layers.indices {
            layers[index].queryKeyValue.weightsChangedInPlace()
            layers[index].attentionOutput.weightsChangedInPlace()
            layers[index].intermediate.weightsChangedInPlace()
            layers[index].output.weightsChangedInPlace()
        }
        switch head {
        case let .encoderOnly(pooler?):
            var p = pooler
            p.weightsChangedInPlace()
            head = .encoderOnly(pooler: p)
        case let .sequenceClassification(pooler?, pre, classifier):
            var p = pooler
            p.weightsChangedInPlace()
            head = .sequenceClassification(pooler: p, preClassifier: pre, classifier: classifier)
        default: break
        }
    }

    /// Non-zero parameters: what pruning leaves to store and compute.
    public var nonZeroParameterCount: Int {
        var zeros = 0
        for weight in prunableWeights {
            let (linear, offset) = location(of: weight)
            let p = linear.weight.pointer + offset
            for i in 0..<weight.count where p[i] == 0 { zeros += 1 }
        }
        return parameterCount - zeros
    }
}
