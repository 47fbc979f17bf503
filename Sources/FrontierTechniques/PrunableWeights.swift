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
        if let pooler = head.pooler { result.append(PrunableWeight(name: names.pooler, layer: nil, part: .pooler, shape: [pooler.outFeatures, pooler.inFeatures])) }
        return result
    }

    /// Where a prunable weight's values sit: the `Linear` holding it and the first element.
    func location(of weight: PrunableWeight) -> (linear: Linear, offset: Int) {
        guard let index = weight.layer else { return (head.pooler!, 0) }
        let (linear, offset) = layers[index].location(of: weight.part)
        return (layers[index][keyPath: linear], offset)
    }

    /// The values of a prunable weight, a slice of its `Linear`'s master weight (which an
    /// inference-only model no longer holds: `MasterWeightUnavailable`).
    func values(of weight: PrunableWeight) throws -> ArraySlice<Float> {
        let (linear, offset) = location(of: weight)
        return try linear.weight.values[offset..<(offset + weight.count)]
    }

    /// The model with every prunable weight's values rewritten by `edit`, on a copy. Each
    /// `Linear` holding prunable weights is built anew once, after all of its parts (Q, K and V
    /// share one) were edited, so its kernel form is derived from the final values; layer by
    /// layer (`mappingLayers`), so a consumed model is never held twice.
    consuming func editingPrunableWeights(_ edit: (PrunableWeight, UnsafeMutableBufferPointer<Float>) -> Void) throws -> EncoderModel {
        let weights = prunableWeights
        func edited(_ linear: Linear, _ parts: [(weight: PrunableWeight, offset: Int)]) throws -> Linear {
            guard !parts.isEmpty else { return linear }
            let master = try linear.weight
            var values = master.values
            values.withUnsafeMutableBufferPointer { buffer in
                for (weight, offset) in parts {
                    edit(weight, UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + weight.count)]))
                }
            }
            return linear.replacing(weight: Tensor(shape: master.shape, values: values))
        }
        let pooler = try head.pooler.map { try edited($0, weights.filter { $0.part == .pooler }.map { ($0, 0) }) }
        let model = try (consume self).mappingLayers { index, layer in
            let located = weights.filter { $0.layer == index }.map { (weight: $0, at: layer.location(of: $0.part)) }
            func parts(_ linear: KeyPath<EncoderLayer, Linear>) -> [(weight: PrunableWeight, offset: Int)] {
                located.filter { $0.at.linear == linear }.map { ($0.weight, $0.at.offset) }
            }
            return layer.replacing(queryKeyValue: try edited(layer.queryKeyValue, parts(\.queryKeyValue)),
                                   attentionOutput: try edited(layer.attentionOutput, parts(\.attentionOutput)),
                                   intermediate: try edited(layer.intermediate, parts(\.intermediate)),
                                   output: try edited(layer.output, parts(\.output)))
        }
        guard let pooler else { return model }
        return model.replacing(head: model.head.replacing(pooler: pooler))
    }

    /// Non-zero parameters: what pruning leaves to store and compute.
    public var nonZeroParameterCount: Int {
        get throws {
            var zeros = 0
            for weight in prunableWeights {
                for value in try values(of: weight) where value == 0 { zeros += 1 }
            }
            return parameterCount - zeros
        }
    }
}

extension EncoderLayer {
    /// Where a prunable part of this block sits: the `Linear` holding it and its first element
    /// (query, key and value are row blocks of the fused projection).
    func location(of part: PrunableWeight.Part) -> (linear: KeyPath<EncoderLayer, Linear>, offset: Int) {
        let block = attentionWidth * queryKeyValue.inFeatures
        switch part {
        case .query: return (\.queryKeyValue, 0)
        case .key: return (\.queryKeyValue, block)
        case .value: return (\.queryKeyValue, 2 * block)
        case .attentionOutput: return (\.attentionOutput, 0)
        case .intermediate: return (\.intermediate, 0)
        case .output: return (\.output, 0)
        case .pooler: preconditionFailure("the pooler is not part of an encoder layer")
        }
    }
}
