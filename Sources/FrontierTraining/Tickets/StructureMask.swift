import Foundation
import FrontierEngine
import FrontierSupport

/// Which attention heads and which feed-forward blocks (MLPs) of each encoder block a
/// structured subnetwork keeps (Michel et al. 2019; Prasanna et al. 2020).
///
/// Training a subnetwork needs no gate in the engine: a removed head's query, key and value
/// rows and biases held at zero make its attention output exactly zero (uniform weights over
/// zero values), and a removed block's four tensors held at zero make its output exactly zero,
/// so `weightMask` trains the full-shaped model as the shrunk one would train.
public struct StructureMask: Sendable, Equatable, Codable {
    /// Per block, one flag per head (true keeps).
    public var heads: [[Bool]]
    /// Per block, whether its feed-forward block stays.
    public var feedForward: [Bool]

    public init(heads: [[Bool]], feedForward: [Bool]) {
        self.heads = heads
        self.feedForward = feedForward
    }

    public static func full(for model: TrainableModel) -> StructureMask {
        StructureMask(heads: model.architecture.layers.map { [Bool](repeating: true, count: $0.numHeads) },
                      feedForward: [Bool](repeating: true, count: model.architecture.layers.count))
    }

    public var headCount: Int { heads.reduce(0) { $0 + $1.count } }
    public var keptHeads: Int { heads.reduce(0) { $0 + $1.filter { $0 }.count } }
    public var keptFeedForward: Int { feedForward.filter { $0 }.count }

    /// The weights held at zero, as `WeightMask` takes them (only tensors with something removed).
    public func keep(for model: TrainableModel) -> [String: [Bool]] {
        var keep: [String: [Bool]] = [:]
        let slots = model.layout.slots
        for (index, layer) in model.architecture.layers.enumerated() {
            let removed = heads[index].enumerated().filter { !$0.element }.map(\.offset)
            if !removed.isEmpty {
                let d = layer.headDim, h = model.config.hiddenSize
                for part in 0..<3 {
                    var weight = [Bool](repeating: true, count: layer.attentionWidth * h)
                    var bias = [Bool](repeating: true, count: layer.attentionWidth)
                    for head in removed {
                        for row in (head * d)..<((head + 1) * d) {
                            bias[row] = false
                            for column in 0..<h { weight[row * h + column] = false }
                        }
                    }
                    keep[slots[layer.queryKeyValue.weight + part].name] = weight
                    keep[slots[layer.queryKeyValue.bias + part].name] = bias
                }
            }
            if !feedForward[index] {
                for slot in [layer.intermediate.weight, layer.intermediate.bias, layer.output.weight, layer.output.bias] {
                    keep[slots[slot].name] = [Bool](repeating: false, count: slots[slot].count)
                }
            }
        }
        return keep
    }

    public func weightMask(for model: TrainableModel) throws -> WeightMask {
        try WeightMask(keep: keep(for: model), layout: model.layout)
    }

    /// Zeroes the removed heads' and blocks' tensors in `model`.
    public func apply(to model: inout TrainableModel) throws {
        try weightMask(for: model).apply(to: &model.parameters)
    }

    public func validate(for model: TrainableModel) throws {
        let layers = model.architecture.layers
        guard heads.count == layers.count, feedForward.count == layers.count,
              zip(heads, layers).allSatisfy({ $0.0.count == $0.1.numHeads }) else {
            throw TrainingError.invalidSettings("the structure mask has \(heads.map(\.count)) heads in \(heads.count) blocks; the model has \(layers.map(\.numHeads))")
        }
    }

    /// `count` heads and `feedForwardCount` blocks removed at random among those this mask keeps,
    /// from `seed` (the random subnetworks of Prasanna et al., the same size as a good one).
    public func removingRandomly(heads count: Int, feedForward feedForwardCount: Int, seed: UInt64) -> StructureMask {
        var generator = SplitMix64(seed: seed)
        var result = self
        var headSlots = heads.indices.flatMap { layer in heads[layer].indices.filter { heads[layer][$0] }.map { (layer, $0) } }
        headSlots.shuffle(using: &generator)
        for (layer, head) in headSlots.prefix(count) { result.heads[layer][head] = false }
        var blocks = feedForward.indices.filter { feedForward[$0] }
        blocks.shuffle(using: &generator)
        for layer in blocks.prefix(feedForwardCount) { result.feedForward[layer] = false }
        return result
    }
}

/// Importance of every head and feed-forward block: the mean over examples of |∂L/∂ξ|, ξ the
/// unit gate on the head's attention output or on the block's output (Michel et al. 2019),
/// head scores L2-normalised within each block as Prasanna et al. do.
public struct StructureImportance: Sendable, Equatable, Codable {
    /// Per block, per head.
    public var heads: [[Double]]
    public var feedForward: [Double]
    /// Examples the means are over.
    public var examples: Int

    /// The gate gradients need no gate in the engine: with output projection W and bias b, a
    /// gate ξ on its input columns of head h has ∂L/∂ξ_h = ⟨W_h, ∂L/∂W_h⟩ (the columns of W that
    /// read head h), and a gate on a block's output has ∂L/∂ξ = ⟨W, ∂L/∂W⟩ + ⟨b, ∂L/∂b⟩ of its
    /// output layer. One example per pass gives each example's own gradient.
    public static func measure(_ model: TrainableModel, sequences: [TrainingSequence], engine: GradientEngine,
                               progress: (Int) -> Void = { _ in }) throws -> StructureImportance {
        let layers = model.architecture.layers
        var heads = layers.map { [Double](repeating: 0, count: $0.numHeads) }
        var feedForward = [Double](repeating: 0, count: layers.count)
        var gradients = ParameterVector(zeros: model.layout)
        for (done, sequence) in sequences.enumerated() {
            let gates = try gateGradients(model, sequence: sequence, engine: engine, scratch: &gradients)
            for index in layers.indices {
                for head in heads[index].indices { heads[index][head] += abs(gates.heads[index][head]) }
                feedForward[index] += abs(gates.feedForward[index])
            }
            progress(done + 1)
        }
        let n = Double(max(1, sequences.count))
        heads = heads.map { layer in
            let means = layer.map { $0 / n }
            let norm = means.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? means.map { $0 / norm } : means
        }
        return StructureImportance(heads: heads, feedForward: feedForward.map { $0 / n }, examples: sequences.count)
    }

    /// One example's ∂L/∂ξ for every head gate and block gate (signed), dropout off.
    /// `scratch` is a gradient vector of the model's layout, overwritten.
    ///
    /// Only the slots read here (each layer's attention output weight and FFN output weight and
    /// bias: 4.4 million of MiniLM-L6's 22.7 million values) are zeroed before the pass;
    /// the others accumulate over the examples and are never read. Zeroing the whole vector per
    /// example was a 91 MB pass for a one-sentence backward.
    static func gateGradients(_ model: TrainableModel, sequence: TrainingSequence, engine: GradientEngine,
                              scratch gradients: inout ParameterVector) throws -> (heads: [[Double]], feedForward: [Double]) {
        var inputs = EncoderBatch()
        inputs.append(ids: sequence.ids, typeIds: sequence.typeIds)
        let slots = model.layout.slots, h = model.config.hiddenSize
        let read = model.architecture.layers.flatMap { [$0.attentionOutput.weight, $0.output.weight, $0.output.bias] }
        gradients.values.withUnsafeMutableBufferPointer { g in
            for slot in read { (g.baseAddress! + slots[slot].offset).update(repeating: 0, count: slots[slot].count) }
        }
        try engine.run(model, batch: TrainingBatch(inputs: inputs, targets: [sequence.target]), into: &gradients)
        return model.parameters.values.withUnsafeBufferPointer { p in
            gradients.values.withUnsafeBufferPointer { g in
                var heads: [[Double]] = [], feedForward: [Double] = []
                for layer in model.architecture.layers {
                    let w = slots[layer.attentionOutput.weight], a = layer.attentionWidth, d = layer.headDim
                    heads.append((0..<layer.numHeads).map { head in
                        var dot = 0.0
                        for row in 0..<h {
                            let start = w.offset + row * a + head * d
                            for i in start..<(start + d) { dot += Double(p[i]) * Double(g[i]) }
                        }
                        return dot
                    })
                    var dot = 0.0
                    for slot in [layer.output.weight, layer.output.bias] {
                        for i in slots[slot].range { dot += Double(p[i]) * Double(g[i]) }
                    }
                    feedForward.append(dot)
                }
                return (heads, feedForward)
            }
        }
    }

    /// `mask` with `count` more heads and `feedForwardCount` more blocks removed: the least
    /// important of those it keeps (`mostImportant`: the most important, for "bad" subnetworks).
    /// Ties go in block, then head order.
    public func removing(from mask: StructureMask, heads count: Int, feedForward feedForwardCount: Int,
                         mostImportant: Bool = false) -> StructureMask {
        var result = mask
        let order: (Double, Double) -> Bool = mostImportant ? { $0 > $1 } : { $0 < $1 }
        let headSlots = mask.heads.indices.flatMap { layer in mask.heads[layer].indices.filter { mask.heads[layer][$0] }.map { (layer, $0) } }
        let rankedHeads = headSlots.enumerated().sorted { lhs, rhs in
            let a = heads[lhs.element.0][lhs.element.1], b = heads[rhs.element.0][rhs.element.1]
            return a == b ? lhs.offset < rhs.offset : order(a, b)
        }
        for (_, slot) in rankedHeads.prefix(count) { result.heads[slot.0][slot.1] = false }
        let blocks = mask.feedForward.indices.filter { mask.feedForward[$0] }
        let rankedBlocks = blocks.sorted { feedForward[$0] == feedForward[$1] ? $0 < $1 : order(feedForward[$0], feedForward[$1]) }
        for layer in rankedBlocks.prefix(feedForwardCount) { result.feedForward[layer] = false }
        return result
    }
}
