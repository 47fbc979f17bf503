import FrontierEngine

/// Removes attention heads physically, with Hugging Face `prune_heads` semantics: heads are
/// named by their original index in each layer (pruning twice does not renumber), and a
/// head's query, key and value rows and its attention-output columns are cut out, so the
/// smaller matrices really cost less.
public enum HeadPruning {
    /// The model without the given heads.
    /// - Parameter heads: layer → original head indices to remove.
    public static func prune(_ model: consuming EncoderModel, heads: [Int: Set<Int>]) throws -> EncoderModel {
        // Every request checked before any layer is rebuilt: positions of the heads each layer keeps.
        var kept: [Int: [(position: Int, original: Int)]] = [:]
        for (layerIndex, remove) in heads.sorted(by: { $0.key < $1.key }) where !remove.isEmpty {
            guard model.layers.indices.contains(layerIndex) else {
                throw TechniqueError.invalid("head pruning names layer \(layerIndex); the model has layers 0..<\(model.layers.count)")
            }
            let layer = model.layers[layerIndex]
            let original = layer.originalHeads ?? Array(0..<layer.numHeads)
            let unknown = remove.subtracting(original)
            guard unknown.isEmpty else {
                throw TechniqueError.invalid("layer \(layerIndex) has no head \(unknown.sorted()) (its heads: \(original))")
            }
            // Every head may go (Prasanna et al.'s subnetworks remove whole blocks' attention): the
            // block's attention then adds only its output bias before the LayerNorm, as a
            // transformers layer whose heads were all pruned does.
            let keep = original.enumerated().filter { !remove.contains($0.element) }
            kept[layerIndex] = keep.map { ($0.offset, $0.element) }
        }
        return try (consume model).mappingLayers { index, layer in
            guard let keep = kept[index] else { return layer }
            return try keeping(keep, of: layer)
        }
    }

    /// `layer` with only the heads at `keep` (positions, with their original indices): their
    /// Q, K and V rows, in order, and their columns of the output projection.
    static func keeping(_ keep: [(position: Int, original: Int)], of layer: EncoderLayer) throws -> EncoderLayer {
        let d = layer.headDim, h = layer.queryKeyValue.inFeatures, a = layer.attentionWidth, a2 = keep.count * d
        let oldQKV = try layer.queryKeyValue.weight.values, oldQKVBias = layer.queryKeyValue.bias.values
        var qkv: [Float] = [], qkvBias: [Float] = []
        qkv.reserveCapacity(3 * a2 * h)
        qkvBias.reserveCapacity(3 * a2)
        for segment in 0..<3 {
            for (position, _) in keep {
                let from = segment * a + position * d
                qkv += oldQKV[(from * h)..<((from + d) * h)]
                qkvBias += oldQKVBias[from..<(from + d)]
            }
        }
        let oldOut = try layer.attentionOutput.weight.values
        var out: [Float] = []
        out.reserveCapacity(h * a2)
        for row in 0..<h {
            for (position, _) in keep { out += oldOut[(row * a + position * d)..<(row * a + position * d + d)] }
        }
        return EncoderLayer(
            queryKeyValue: layer.queryKeyValue.replacing(weight: Tensor(shape: [3 * a2, h], values: qkv),
                                                         bias: Tensor(shape: [3 * a2], values: qkvBias)),
            attentionOutput: layer.attentionOutput.replacing(weight: Tensor(shape: [h, a2], values: out)),
            attentionNorm: layer.attentionNorm, intermediate: layer.intermediate, output: layer.output,
            outputNorm: layer.outputNorm, numHeads: keep.count, headDim: d, originalHeads: keep.map(\.original))
    }

    /// A head mask that switches off the same heads in the unpruned model: pruning must give
    /// the same output as this mask (the test of `prune`).
    public static func mask(for model: EncoderModel, removing heads: [Int: Set<Int>]) -> [[Bool]] {
        model.layers.enumerated().map { index, layer in
            (0..<layer.numHeads).map { !(heads[index]?.contains($0) ?? false) }
        }
    }

    /// The `count` least important heads of every layer.
    public static func leastImportant(_ importance: [[Double]], perLayer count: Int) -> [Int: Set<Int>] {
        var result: [Int: Set<Int>] = [:]
        for (layer, scores) in importance.enumerated() {
            let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
            result[layer] = Set(order.prefix(count))
        }
        return result
    }
}

/// Head importance as the loss increase when the head alone is masked, on a small labelled
/// calibration set (Michel et al.'s gradient score needs backprop, which comes later).
public enum HeadImportance {
    /// One labelled input: class index, or a regression target.
    public struct Example: Sendable {
        public var ids: [Int32]
        public var typeIds: [Int32]
        public var label: Int?
        public var target: Double?

        public init(ids: [Int32], typeIds: [Int32], label: Int?, target: Double?) {
            self.ids = ids
            self.typeIds = typeIds
            self.label = label
            self.target = target
        }
    }

    /// `[layer][head]` importance: loss with the head masked minus the unmasked loss.
    public static func lossIncrease(model: EncoderModel, examples: [Example], batchSize: Int = 32, workspace: Workspace,
                                    options: ForwardOptions = ForwardOptions(), progress: (Int, Int) -> Void = { _, _ in }) throws -> [[Double]] {
        guard !examples.isEmpty else { throw TechniqueError.needsData("head importance needs at least one calibration example") }
        guard case .sequenceClassification = model.head else {
            throw TechniqueError.needsData("head importance by loss needs a sequence-classification head; give the heads to remove explicitly")
        }
        func loss(_ mask: [[Bool]]?) throws -> Double {
            var options = options
            options.headMask = mask
            var total = 0.0
            for start in stride(from: 0, to: examples.count, by: batchSize) {
                let slice = examples[start..<min(start + batchSize, examples.count)]
                var batch = EncoderBatch()
                for example in slice { batch.append(ids: example.ids, typeIds: example.typeIds) }
                let output = try model.forward(batch, workspace: workspace, options: options)
                for (example, logits) in zip(slice, output.logits) { total += exampleLoss(logits, example) }
            }
            return total / Double(examples.count)
        }
        let base = try loss(nil)
        let full = model.layers.map { [Bool](repeating: true, count: $0.numHeads) }
        var importance = full.map { $0.map { _ in 0.0 } }
        let total = full.reduce(0) { $0 + $1.count }
        var done = 0
        for layer in full.indices {
            for head in full[layer].indices {
                var mask = full
                mask[layer][head] = false
                importance[layer][head] = try loss(mask) - base
                done += 1
                progress(done, total)
            }
        }
        return importance
    }

    /// Cross-entropy for a class label, squared error for a regression target.
    static func exampleLoss(_ logits: [Float], _ example: Example) -> Double {
        if let target = example.target { return pow2(Double(logits.first ?? 0) - target) }
        guard let label = example.label, logits.indices.contains(label) else { return 0 }
        let top = Double(logits.max() ?? 0)
        let logSum = top + Foundation.log(logits.reduce(0) { $0 + Foundation.exp(Double($1) - top) })
        return logSum - Double(logits[label])
    }

    private static func pow2(_ x: Double) -> Double { x * x }
}

import Foundation
