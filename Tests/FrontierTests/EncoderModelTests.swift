import Foundation
import Testing
@testable import FrontierEngine


@Suite struct EncoderModelTests {
    static let lengths = [1, 5, 12, 3, 20]

    static func maxDifference(_ a: [[Float]], _ b: [[Double]]) -> Double {
        zip(a, b).flatMap { zip($0, $1).map { abs(Double($0) - $1) } }.max() ?? .infinity
    }

    static let forwardVariants: [ForwardOptions] = [
        ForwardOptions(), ForwardOptions(lastLayerClsOnly: false),
        ForwardOptions(gemm: .openblas), ForwardOptions(gemm: .openblas, lastLayerClsOnly: false),
    ]

    @Test(arguments: [ModelConfig.Family.bert, .distilbert], [1, 2])
    func packedBatchMatchesPaddedReference(family: ModelConfig.Family, threads: Int) throws {
        let config = TinyCheckpoint.config(family, labels: 3)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let reference = try ReferenceEncoder.run(model, batch)
        for options in Self.forwardVariants {
            let output = try model.forward(batch, workspace: Workspace(threads: threads), options: options)
            let difference = Self.maxDifference(output.logits, reference.logits)
            #expect(difference < 1e-5, "\(options.gemm), clsOnly \(options.lastLayerClsOnly): max |logit - reference| = \(difference)")
        }
    }

    /// The model is a checked `Sendable` value: one instance serves passes on several threads at
    /// once, each with its own workspace, and they all agree.
    @Test func oneModelServesConcurrentPassesWithTheirOwnWorkspaces() async throws {
        let config = TinyCheckpoint.config(.bert, labels: 3)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let expected = try model.forward(batch, workspace: Workspace()).logits
        let results = try await withThrowingTaskGroup(of: [[Float]].self) { group in
            for _ in 0..<4 { group.addTask { try model.forward(batch, workspace: Workspace()).logits } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4 && results.allSatisfy { $0 == expected })
    }

    @Test func clsOnlyLastLayerGivesTheSamePooledOutput() throws {
        let config = TinyCheckpoint.config(.bert, hidden: 32, heads: 2)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .none))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let fast = try model.forward(batch, workspace: Workspace(threads: 2)).pooled
        let full = try model.forward(batch, workspace: Workspace(threads: 2), options: ForwardOptions(lastLayerClsOnly: false)).pooled
        #expect(zip(fast, full).allSatisfy { zip($0, $1).allSatisfy { abs($0 - $1) < 1e-5 } })
    }

    @Test(arguments: [1, 2])
    func largeBatchUsesThreadsAndStillMatches(threads: Int) throws {
        let config = TinyCheckpoint.config(.bert, hidden: 64, layers: 2, heads: 4, intermediate: 96, maxPositions: 128, labels: 2)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 2)))
        let batch = TinyCheckpoint.batch(lengths: [100, 3, 77, 128, 1, 64], vocab: config.vocabSize)
        let output = try model.forward(batch, workspace: Workspace(threads: threads))
        let reference = try ReferenceEncoder.run(model, batch)
        #expect(Self.maxDifference(output.logits, reference.logits) < 1e-4)
    }

    @Test(arguments: [ModelConfig.Family.bert, .distilbert], [1])
    func packedBatchMatchesPaddedReferenceDefault(family: ModelConfig.Family, threads: Int) throws {
        let config = TinyCheckpoint.config(family, labels: 3)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let output = try model.forward(batch, workspace: Workspace(threads: threads))
        let reference = try ReferenceEncoder.run(model, batch)
        #expect(output.logits.count == Self.lengths.count)
        let difference = Self.maxDifference(output.logits, reference.logits)
        #expect(difference < 1e-5, "max |logit - reference| = \(difference)")
    }

    @Test func questionAnsweringHeadGivesPerTokenSpanLogits() throws {
        let config = TinyCheckpoint.config(.bert)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .questionAnswering))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let output = try model.forward(batch, workspace: Workspace())
        let reference = try ReferenceEncoder.run(model, batch)
        #expect(output.startLogits.map(\.count) == Self.lengths)
        #expect(Self.maxDifference(output.startLogits, reference.start) < 1e-5)
        #expect(Self.maxDifference(output.endLogits, reference.end) < 1e-5)
    }

    @Test func batchCompositionDoesNotChangeResults() throws {
        let config = TinyCheckpoint.config(.bert)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let batch = TinyCheckpoint.batch(lengths: Self.lengths, vocab: config.vocabSize)
        let workspace = Workspace()
        let together = try model.forward(batch, workspace: workspace).logits
        for index in 0..<batch.count {
            let start = batch.offsets[index], end = batch.offsets[index + 1]
            var single = EncoderBatch()
            single.append(ids: Array(batch.ids[start..<end]), typeIds: Array(batch.typeIds[start..<end]))
            let alone = try model.forward(single, workspace: workspace).logits[0]
            #expect(zip(alone, together[index]).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }

    @Test func hiddenStatesAreCollectedPerLayer() throws {
        let config = TinyCheckpoint.config(.bert, layers: 3)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .none))
        let batch = TinyCheckpoint.batch(lengths: [4, 6], vocab: config.vocabSize)
        let output = try model.forward(batch, workspace: Workspace(), options: ForwardOptions(collectHiddenStates: true))
        #expect(output.hiddenStates.count == 4)
        #expect(output.hiddenStates.allSatisfy { $0.count == 10 * config.hiddenSize })
        #expect(output.pooled.count == 2)
    }

    @Test func bareAndPrefixedNamesBothLoad() throws {
        let config = TinyCheckpoint.config(.bert)
        let bare = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .none, bare: true))
        guard case .encoderOnly(let pooler) = bare.head else { Issue.record("expected an encoder-only head"); return }
        #expect(pooler != nil)
        let distil = TinyCheckpoint.config(.distilbert)
        _ = try EncoderModel(config: distil, weights: TinyCheckpoint.tensors(distil, head: .none, bare: true))
    }

    @Test func parameterCountMatchesTensors() throws {
        let config = TinyCheckpoint.config(.bert)
        let tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 3))
        let model = try EncoderModel(config: config, weights: tensors)
        #expect(model.parameterCount == tensors.tensors.values.reduce(0) { $0 + $1.values.count })
    }

    // MARK: strict loading

    @Test func missingTensorIsNamed() throws {
        let config = TinyCheckpoint.config(.bert)
        var tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 3))
        tensors.tensors["bert.encoder.layer.1.attention.self.key.bias"] = nil
        #expect(throws: ModelError.missingTensor(file: "tiny.safetensors", tensor: "bert.encoder.layer.1.attention.self.key.bias")) {
            try EncoderModel(config: config, weights: tensors)
        }
    }

    @Test func wrongShapeIsNamed() throws {
        let config = TinyCheckpoint.config(.bert)
        var tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 3))
        tensors.tensors["bert.encoder.layer.0.intermediate.dense.weight"] = ([16, 24], [Float](repeating: 0, count: 384))
        #expect(throws: ModelError.wrongShape(file: "tiny.safetensors", tensor: "bert.encoder.layer.0.intermediate.dense.weight",
                                              expected: [24, 16], actual: [16, 24])) {
            try EncoderModel(config: config, weights: tensors)
        }
    }

    @Test func classifierWithWrongLabelCountIsRejected() throws {
        let config = TinyCheckpoint.config(.bert, labels: 2)
        let tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 3))
        #expect(throws: ModelError.self) { try EncoderModel(config: config, weights: tensors) }
    }

    @Test func unusedTensorsAreAnErrorButKnownBuffersAreReported() throws {
        let config = TinyCheckpoint.config(.bert)
        var tensors = TinyCheckpoint.tensors(config, head: .classifier(labels: 3))
        tensors.tensors["bert.embeddings.position_ids"] = ([1, 64], [Float](repeating: 0, count: 64))
        tensors.tensors["cls.predictions.bias"] = ([50], [Float](repeating: 0, count: 50))
        let model = try EncoderModel(config: config, weights: tensors)
        #expect(model.ignoredTensors == ["bert.embeddings.position_ids", "cls.predictions.bias"])
        tensors.tensors["bert.encoder.layer.9.output.dense.weight"] = ([1], [0])
        #expect(throws: ModelError.unusedTensors(file: "tiny.safetensors", tensors: ["bert.encoder.layer.9.output.dense.weight"])) {
            try EncoderModel(config: config, weights: tensors)
        }
    }

    @Test func declaredClassifierArchitectureRequiresItsHead() throws {
        let config = TinyCheckpoint.config(.bert, architectures: ["BertForSequenceClassification"])
        let tensors = TinyCheckpoint.tensors(config, head: .none)
        #expect(throws: ModelError.missingTensor(file: "tiny.safetensors", tensor: "classifier.weight")) {
            try EncoderModel(config: config, weights: tensors)
        }
    }

    // MARK: input validation

    @Test func outOfRangeInputsAreErrorsNotCrashes() throws {
        let config = TinyCheckpoint.config(.bert, vocab: 50, maxPositions: 8)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let workspace = Workspace()
        var badId = EncoderBatch(); badId.append(ids: [1, 50, 2])
        var badType = EncoderBatch(); badType.append(ids: [1, 2], typeIds: [0, 2])
        var tooLong = EncoderBatch(); tooLong.append(ids: [Int32](repeating: 1, count: 9))
        var empty = EncoderBatch(); empty.append(ids: [])
        for batch in [badId, badType, tooLong, empty] {
            #expect(throws: ModelError.self) { try model.forward(batch, workspace: workspace) }
        }
        #expect(try model.forward(EncoderBatch(), workspace: workspace).logits.isEmpty)
    }

    @Test func workspaceGrowsAndIsReused() throws {
        let config = TinyCheckpoint.config(.bert)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let workspace = Workspace()
        let small = TinyCheckpoint.batch(lengths: [3], vocab: 50)
        let large = TinyCheckpoint.batch(lengths: [30, 40], vocab: 50)
        let first = try model.forward(small, workspace: workspace).logits
        _ = try model.forward(large, workspace: workspace)
        let bytes = workspace.byteCount
        let again = try model.forward(small, workspace: workspace).logits
        #expect(first == again)
        #expect(workspace.byteCount == bytes)
    }

    @Test func flopsCountTheLayersAsTheyAre() throws {
        let config = TinyCheckpoint.config(.bert, hidden: 16, layers: 2, intermediate: 24, labels: 3)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        let h = 16.0, i = 24.0, t = 5.0
        let perLayer = 2 * t * h * 3 * h + 4 * t * t * h + 2 * t * h * h + 4 * t * h * i
        let head = 2 * h * h + 2 * h * 3
        #expect(model.flops(lengths: [5], lastLayerClsOnly: false) == 2 * perLayer + head)
        let clsLayer = 2 * t * h * 2 * h + 2 * h * h + 4 * t * h + 2 * h * h + 4 * h * i
        #expect(model.flops(lengths: [5]) == perLayer + clsLayer + head)
    }
}
