import Foundation
import FrontierSupport

/// What a lottery-ticket round starts from after pruning.
public enum TicketRewind {
    /// What happens to the task head when the encoder is rewound.
    public enum HeadPolicy: String, Sendable, Equatable, Codable, CaseIterable {
        /// The head keeps the weights the last round trained (the authors' code: its rewind
        /// dictionary holds the `bert.*` tensors only).
        case keep
        /// The head goes back to the rewind point too (its initialisation at θ0).
        case rewind
    }

    /// `trained` with the encoder (embeddings, blocks, pooler: every `bert.*` tensor) set back
    /// to `point`, the head kept or rewound by `head`, and the pruned weights of `mask` zeroed.
    public static func rewound(_ trained: TrainableModel, to point: ParameterVector, head: HeadPolicy, mask: TicketMask) -> TrainableModel {
        precondition(point.layout == trained.layout, "TicketRewind: the rewind point's layout is not the model's")
        var model = trained
        for slot in model.layout.slots where slot.group != .head || head == .rewind {
            model.parameters.values.replaceSubrange(slot.range, with: point.values[slot.range])
        }
        mask.apply(to: &model)
        return model
    }

    /// `model` with every tensor of the encoder blocks and the pooler drawn afresh as BERT
    /// initialises them (`_init_weights`: linear weights normal with std `initializerRange`,
    /// biases 0, LayerNorm weights 1 and biases 0), from `seed`. The embeddings and the head
    /// stay: the random re-initialisation control of Chen et al. asks whether the pre-trained
    /// values of the pruned matrices matter, and the mask covers the blocks and the pooler.
    public static func reinitialised(_ model: TrainableModel, seed: UInt64, initializerRange: Float = 0.02) -> TrainableModel {
        var result = model
        var sampler = NormalSampler(seed: seed)
        let slots = result.layout.slots
        func fill(_ slot: Int, _ value: () -> Float) {
            let range = slots[slot].range
            for i in range { result.parameters.values[i] = value() }
        }
        func linear(_ l: LinearSlots) { fill(l.weight, { sampler.next() * initializerRange }); fill(l.bias, { 0 }) }
        func norm(_ n: NormSlots) { fill(n.gamma, { 1 }); fill(n.beta, { 0 }) }
        for layer in result.architecture.layers {
            let q = layer.queryKeyValue
            for part in 0..<3 { fill(q.weight + part, { sampler.next() * initializerRange }) }
            for part in 0..<3 { fill(q.bias + part, { 0 }) }
            linear(layer.attentionOutput)
            norm(layer.attentionNorm)
            linear(layer.intermediate)
            linear(layer.output)
            norm(layer.outputNorm)
        }
        if case let .classification(pooler?, _, _, _) = result.architecture.head { linear(pooler) }
        return result
    }
}
