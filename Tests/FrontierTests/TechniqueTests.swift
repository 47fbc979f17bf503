import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTechniques


/// Each technique changes what the engine computes, and each is checked against the thing it
/// claims to be equivalent to: pruning heads = masking them, removing FFN neurons = zeroing
/// them, token pruning with r = 1 and early exit at threshold 0 = nothing at all.
@Suite struct TechniqueTests {
    static let lengths = [9, 3, 14, 6]

    func model(layers: Int = 3, hidden: Int = 16, heads: Int = 4, labels: Int = 3) throws -> EncoderModel {
        let config = TinyCheckpoint.config(.bert, hidden: hidden, layers: layers, heads: heads, labels: labels)
        return try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: labels)))
    }

    func batch(_ model: EncoderModel) -> EncoderBatch {
        TinyCheckpoint.batch(lengths: Self.lengths, vocab: model.config.vocabSize)
    }

    func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
    }

    @Test func countedFlopsEqualTheFormulaForTheDenseModel() throws {
        let model = try model()
        let batch = batch(model)
        for clsOnly in [true, false] {
            let output = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(lastLayerClsOnly: clsOnly))
            let formula = model.flops(lengths: batch.lengths, lastLayerClsOnly: clsOnly)
            #expect(abs(output.flops - formula) < 1e-6 * formula, "counted \(output.flops), formula \(formula)")
        }
    }

    @Test(arguments: [MagnitudePruning.Scope.global, .layer])
    func magnitudePruningZeroesExactlyTheSmallestWeights(scope: MagnitudePruning.Scope) throws {
        let dense = try self.model()
        let weights = dense.prunableWeights
        #expect(weights.count == 6 * 3 + 1, "6 matrices per layer and the pooler")
        let classifierBefore: [Float]
        guard case let .sequenceClassification(_, _, classifier) = dense.head else { Issue.record("no classifier"); return }
        classifierBefore = try classifier.weight.values
        let masks = try MagnitudePruning.masks(for: dense, sparsity: 0.6, scope: scope)
        let model = try MagnitudePruning.apply(masks, to: dense)
        let total = weights.reduce(0) { $0 + $1.count }
        let pruned = masks.reduce(0) { $0 + $1.keep.filter { !$0 }.count }
        switch scope {
        case .global: #expect(pruned == Int(0.6 * Double(total)))
        case .layer: #expect(masks.allSatisfy { $0.keep.filter { !$0 }.count == Int(0.6 * Double($0.weight.count)) })
        }
        // Every kept magnitude is at least every pruned one (within the scope).
        let groups: [[(weight: PrunableWeight, keep: [Bool])]] = scope == .global ? [masks] : masks.map { [$0] }
        for group in groups {
            var keptMin = Float.infinity, prunedMax: Float = 0
            for (weight, keep) in group {
                let (linear, offset) = model.location(of: weight)
                // Weights are now zeroed: compare against the original values.
                let original = DeterministicWeights.values(name: weight.name + ".weight", count: weight.count)
                for (i, k) in keep.enumerated() {
                    if k { keptMin = min(keptMin, abs(original[i])); #expect(try linear.weight.values[offset + i] == original[i]) }
                    else { prunedMax = max(prunedMax, abs(original[i])); #expect(try linear.weight.values[offset + i] == 0) }
                }
            }
            #expect(prunedMax <= keptMin)
        }
        guard case let .sequenceClassification(_, _, classifierAfter) = model.head else { return }
        #expect(try classifierAfter.weight.values == classifierBefore, "the classifier stays dense")
        #expect(try model.nonZeroParameterCount == model.parameterCount - pruned)
        #expect(try dense.nonZeroParameterCount == dense.parameterCount, "the model pruned is left as it was")
    }

    @Test func masksRoundTripUnderTheLotteryTicketNames() throws {
        let model = try model(layers: 2)
        let masks = try MagnitudePruning.masks(for: model, sparsity: 0.5, scope: .global)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("masks-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try MagnitudePruning.save(masks, to: url)
        let file = try SafetensorsFile(url: url)
        #expect(file.tensorNames.contains("bert.encoder.layer.0.attention.self.query.weight_mask"))
        #expect(file.tensorNames.contains("bert.pooler.dense.weight_mask"))
        let loaded = try MagnitudePruning.load(from: url, for: try self.model(layers: 2))
        #expect(loaded.map(\.keep) == masks.map(\.keep))

        // Without the `bert.` prefix, as a bare BertModel's masks would be named.
        let bare = masks.map { SafetensorsWriter.Tensor(name: String($0.weight.maskKey.dropFirst(5)), dtype: .f32, shape: $0.weight.shape, values: $0.keep.map { $0 ? 1 : 0 }) }
        try SafetensorsWriter.write(bare, to: url)
        #expect(try MagnitudePruning.load(from: url, for: try self.model(layers: 2)).map(\.keep) == masks.map(\.keep))

        let query = masks[0].weight
        try SafetensorsWriter.write([.init(name: query.maskKey, dtype: .f32, shape: query.shape, values: [Float](repeating: 0.5, count: query.count))], to: url)
        #expect { try MagnitudePruning.load(from: url, for: try self.model(layers: 2)) } throws: { "\($0)".contains("holds 0.5 at element 0; masks are 0/1") }
        try SafetensorsWriter.write([.init(name: query.maskKey, dtype: .f32, shape: [2, 2], values: [1, 1, 1, 1])], to: url)
        #expect { try MagnitudePruning.load(from: url, for: try self.model(layers: 2)) } throws: { "\($0)".contains("has shape [2, 2]; the weight is [16, 16]") }
        try SafetensorsWriter.write([.init(name: "bert.encoder.layer.9.output.dense.weight_mask", dtype: .f32, shape: [1], values: [1])], to: url)
        #expect { try MagnitudePruning.load(from: url, for: try self.model(layers: 2)) } throws: { "\($0)".contains("is not the mask of a prunable weight") }
    }

    @Test func prunedHeadsGiveTheSameOutputAsMaskedHeads() throws {
        let heads: [Int: Set<Int>] = [0: [1], 1: [0, 3], 2: [2]]
        let dense = try model()
        let mask = HeadPruning.mask(for: dense, removing: heads)
        let batch = batch(dense)
        let masked = try dense.forward(batch, workspace: Workspace(), options: ForwardOptions(headMask: mask))
        var pruned = try HeadPruning.prune(try model(), heads: heads)
        #expect(pruned.layers.map(\.numHeads) == [3, 2, 3])
        #expect(pruned.layers[1].originalHeads == [1, 2])
        let output = try pruned.forward(batch, workspace: Workspace())
        #expect(maxDifference(masked.logits, output.logits) < 1e-5)
        #expect(output.flops < masked.flops)

        // Original indices: removing head 1 of layer 1 now (left: original 2) matches masking 0, 1, 3.
        pruned = try HeadPruning.prune(pruned, heads: [1: [1]])
        #expect(pruned.layers[1].originalHeads == [2])
        let twice = try pruned.forward(batch, workspace: Workspace())
        let mask2 = HeadPruning.mask(for: dense, removing: [0: [1], 1: [0, 1, 3], 2: [2]])
        let masked2 = try dense.forward(batch, workspace: Workspace(), options: ForwardOptions(headMask: mask2))
        #expect(maxDifference(masked2.logits, twice.logits) < 1e-5)
        #expect(throws: TechniqueError.self) { _ = try HeadPruning.prune(pruned, heads: [1: [0]]) }  // already gone
    }

    /// Prasanna et al.'s subnetworks remove whole blocks' attention or feed-forward: the shrunk
    /// block (no heads, a zero-width FFN) adds only its output bias, as the masked model does.
    @Test func aBlockWithoutHeadsOrFeedForwardEqualsTheMaskedOne() throws {
        let dense = try model()
        let heads: [Int: Set<Int>] = [0: [0, 1, 2, 3], 2: [1]]
        let batch = batch(dense)
        var layers = dense.layers
        let out = layers[1].output
        layers[1] = layers[1].replacing(output: out.replacing(weight: Tensor(shape: [out.outFeatures, out.inFeatures],
                                                                             values: [Float](repeating: 0, count: out.outFeatures * out.inFeatures))))
        let masked = try dense.replacing(layers: layers).forward(batch, workspace: Workspace(),
                                                                 options: ForwardOptions(headMask: HeadPruning.mask(for: dense, removing: heads)))
        var spec = TechniqueSpec(name: .ffnPruning)
        spec.blocks = [1]
        try spec.validate()
        let shrunk = try FeedForwardPruning.removingBlocks(try HeadPruning.prune(try model(), heads: heads), layers: [1])
        #expect(shrunk.layers.map(\.numHeads) == [0, 4, 3])
        #expect(shrunk.layers.map(\.intermediateSize) == [24, 0, 24])
        for (clsOnly, gemm) in [(false, GemmBackend.packed), (true, .packed), (false, .openblas)] {
            let output = try shrunk.forward(batch, workspace: Workspace(), options: ForwardOptions(gemm: gemm, lastLayerClsOnly: clsOnly))
            #expect(maxDifference(masked.logits, output.logits) < 1e-5, "last layer [CLS] only: \(clsOnly), \(gemm)")
            #expect(output.flops < masked.flops)
        }
        #expect(throws: TechniqueError.self) { _ = try FeedForwardPruning.removingBlocks(try model(), layers: [3]) }
        spec.fraction = 0.5
        #expect(throws: TechniqueError.self) { try spec.validate() }
    }

    @Test func headImportanceRanksByLossIncrease() throws {
        let model = try model(layers: 2)
        let batch = batch(model)
        let examples = (0..<batch.count).map { i in
            HeadImportance.Example(ids: Array(batch.ids[batch.offsets[i]..<batch.offsets[i + 1]]),
                                   typeIds: Array(batch.typeIds[batch.offsets[i]..<batch.offsets[i + 1]]), label: i % 3, target: nil)
        }
        let importance = try HeadImportance.lossIncrease(model: model, examples: examples, workspace: Workspace())
        #expect(importance.count == 2 && importance.allSatisfy { $0.count == 4 })
        #expect(importance.joined().contains { $0 != 0 })
        let chosen = HeadPruning.leastImportant(importance, perLayer: 1)
        for (layer, heads) in chosen { #expect(heads == [importance[layer].indices.min { importance[layer][$0] < importance[layer][$1] }!]) }
    }

    @Test func removedFeedForwardNeuronsEqualZeroedOnes() throws {
        let (pruned, removed) = try FeedForwardPruning.prune(try model(), fraction: 0.5)
        #expect(pruned.layers.allSatisfy { $0.intermediateSize == 12 })
        // Zeroing a neuron's output column in the dense model removes its contribution.
        var layers = try model().layers
        for (layer, neurons) in removed {
            let out = layers[layer].output
            var weight = try out.weight.values
            for row in 0..<out.outFeatures { for j in neurons { weight[row * out.inFeatures + j] = 0 } }
            layers[layer] = layers[layer].replacing(output: out.replacing(weight: Tensor(shape: [out.outFeatures, out.inFeatures], values: weight)))
        }
        let dense = try model().replacing(layers: layers)
        let batch = batch(dense)
        let a = try dense.forward(batch, workspace: Workspace()), b = try pruned.forward(batch, workspace: Workspace())
        #expect(maxDifference(a.logits, b.logits) < 1e-5)
        #expect(b.flops < a.flops)
    }

    @Test func layerDroppingKeepsTheChosenLayers() throws {
        #expect(LayerDropping.kept(layers: 6, keep: 4, strategy: .bottom) == [0, 1, 2, 3])
        #expect(LayerDropping.kept(layers: 6, keep: 4, strategy: .top) == [2, 3, 4, 5])
        #expect(LayerDropping.kept(layers: 6, keep: 3, strategy: .alternate) == [0, 2, 4])
        let model = try model()
        let third = try model.layers[2].queryKeyValue.weight.values
        let (dropped, kept) = try LayerDropping.apply(model, keep: 1, strategy: .top)
        #expect(try kept == [2] && dropped.layers.count == 1 && dropped.layers[0].queryKeyValue.weight.values == third)
        #expect(model.layers.count == 3, "the model given keeps its layers")
        #expect(throws: TechniqueError.self) { _ = try LayerDropping.apply(dropped, keep: 2, strategy: .bottom) }
    }

    @Test func tokenPruningWithKeepOneChangesNothingAndLessDoesLessWork() throws {
        let model = try model()
        let batch = batch(model)
        let plain = try model.forward(batch, workspace: Workspace())
        let all = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(tokenPruning: TokenPruning(fromLayer: 1, keep: 1, alwaysKeep: [3])))
        #expect(maxDifference(plain.logits, all.logits) < 1e-6)
        #expect(abs(plain.flops - all.flops) < 1)
        let half = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(tokenPruning: TokenPruning(fromLayer: 1, keep: 0.5, alwaysKeep: [3])))
        #expect(half.logits.count == batch.count && half.flops < plain.flops)
        #expect(throws: ModelError.self) {
            try model.forward(batch, workspace: Workspace(), options: ForwardOptions(tokenPruning: TokenPruning(fromLayer: 0, keep: 0.5, alwaysKeep: [])))
        }
    }

    @Test func tokensToKeepAlwaysHoldsClsAndSeparators() {
        let state = PackedState(offsets: [0, 6], active: [0], ids: [2, 10, 11, 3, 12, 3])
        let received: [Float] = [0, 5, 1, 0, 4, 0]
        #expect(state.tokensToKeep(received: received, pruning: TokenPruning(fromLayer: 1, keep: 0.5, alwaysKeep: [3])) == [[0, 3, 5]])
        #expect(state.tokensToKeep(received: received, pruning: TokenPruning(fromLayer: 1, keep: 0.8, alwaysKeep: [3])) == [[0, 1, 3, 4, 5]])
    }

    func exitHeads(_ model: EncoderModel) -> EarlyExit {
        let h = model.config.hiddenSize
        var rng = SplitMix64(seed: 3)
        let heads: [ExitHead?] = model.layers.indices.map { layer in
            layer == model.layers.count - 1 ? nil
                : ExitHead(weight: (0..<(3 * h)).map { _ in Float(rng.next() % 1000) / 100 - 5 }, bias: [0, 0, 0])
        }
        return EarlyExit(heads: heads, entropyThreshold: 0)
    }

    @Test func earlyExitAtThresholdZeroChangesNothing() throws {
        let model = try model()
        let batch = batch(model)
        let plain = try model.forward(batch, workspace: Workspace())
        let exit = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(earlyExit: exitHeads(model)))
        #expect(maxDifference(plain.logits, exit.logits) < 1e-6)
        #expect(exit.exitLayers == [3, 3, 3, 3])
    }

    @Test func earlyExitWithAHighThresholdLeavesAtTheFirstHead() throws {
        let model = try model()
        let batch = batch(model)
        var exit = exitHeads(model)
        exit.entropyThreshold = 10  // above log(3): every prediction is confident enough
        let output = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(earlyExit: exit))
        #expect(output.exitLayers == [1, 1, 1, 1])
        let plain = try model.forward(batch, workspace: Workspace())
        #expect(output.flops < plain.flops / 2)
        // A mixed batch: the sequences that stay get the same logits as without early exit.
        exit.entropyThreshold = Self.medianEntropy(model, batch, exit)
        let mixed = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(earlyExit: exit))
        for (index, layer) in mixed.exitLayers.enumerated() where layer == 3 {
            #expect(maxDifference([mixed.logits[index]], [plain.logits[index]]) < 1e-5)
        }
    }

    static func medianEntropy(_ model: EncoderModel, _ batch: EncoderBatch, _ exit: EarlyExit) -> Double {
        guard let output = try? model.forward(batch, workspace: Workspace(), options: ForwardOptions(collectHiddenStates: true)) else { return 0 }
        let h = model.config.hiddenSize
        let entropies = (0..<batch.count).map { i -> Double in
            let row = Array(output.hiddenStates[1][(batch.offsets[i] * h)..<(batch.offsets[i] * h + h)])
            return row.withUnsafeBufferPointer { ExitHead.entropy(exit.heads[0]!.logits($0.baseAddress!, hidden: h)) }
        }.sorted()
        return (entropies[1] + entropies[2]) / 2
    }

    @Test func pipelineRejectsCombinationsThatMakeNoSense() throws {
        func spec(_ name: TechniqueSpec.Name, _ edit: (inout TechniqueSpec) -> Void) -> TechniqueSpec {
            var s = TechniqueSpec(name: name)
            edit(&s)
            return s
        }
        let prune = spec(.magnitudePruning) { $0.sparsity = 0.5 }
        let quant = spec(.quantization) { $0.mode = .int8 }
        let heads = spec(.headPruning) { $0.heads = ["0": [1]] }
        let masked = spec(.magnitudePruning) { $0.mask = "/tmp/m.safetensors" }
        #expect { try TechniquePipeline.validate([prune, prune]) } throws: { "\($0)".contains("listed twice") }
        #expect { try TechniquePipeline.validate([quant, prune]) } throws: { "\($0)".contains("quantization must come after magnitude-pruning") }
        #expect { try TechniquePipeline.validate([heads, masked]) } throws: { "\($0)".contains("list magnitude-pruning before head-pruning") }
        #expect { try TechniquePipeline.validate([spec(.ffnPruning) { $0.fraction = 0.2; $0.keep = 3 }]) } throws: { "\($0)".contains("does not take 'keep'") }
        #expect { try TechniquePipeline.validate([spec(.tokenPruning) { $0.keepFraction = 0.5; $0.fromLayer = 0 }]) } throws: { "\($0)".contains("from_layer must be ≥ 1") }
        #expect { try TechniquePipeline.validate([spec(.headPruning) { $0.perLayer = 1; $0.heads = [:] }]) } throws: { "\($0)".contains("not both") }
        try TechniquePipeline.validate([prune, heads, quant])
    }
}
