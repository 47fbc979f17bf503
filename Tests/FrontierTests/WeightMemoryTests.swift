import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTechniques


/// An inference-only model holds only what its kernels read, computes bit for bit what the
/// full model computes, refuses to hand out the master weights it dropped, and counts the
/// bytes it holds from the buffers themselves (issue 14: memory that means something).
@Suite struct WeightMemoryTests {
    static let float = MemoryLayout<Float>.stride

    /// BERT with 2 heads of 16 (a panel-aligned attention width, so the [CLS]-only last layer
    /// takes its row-slice path), a pooler and a classifier; intermediate 40 is not a multiple
    /// of 16, so panels carry padding.
    static func model(layers: Int = 2, hidden: Int = 32, heads: Int = 2, intermediate: Int = 40) throws -> EncoderModel {
        let config = TinyCheckpoint.config(.bert, hidden: hidden, layers: layers, heads: heads, intermediate: intermediate, labels: 3)
        return try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
    }

    /// The encoder layers executed in `form` (the head stays dense, as the techniques leave it).
    static func executing(_ model: EncoderModel, as form: LinearForm) throws -> EncoderModel {
        model.replacing(layers: try model.layers.map { try $0.mapLinears { try $0.executing(as: form) } })
    }

    static func encoderLinearBytes(_ model: EncoderModel) -> Int {
        model.layers.flatMap(\.linears).reduce(0) { $0 + $1.heldBytes.weights }
    }

    static let optionVariants: [(String, ForwardOptions)] = [
        ("cls-only", ForwardOptions()),
        ("every row", ForwardOptions(lastLayerClsOnly: false)),
        ("hidden states", ForwardOptions(collectHiddenStates: true)),
    ]

    @Test(arguments: LinearForm.allCases, GemmBackend.allCases)
    func inferenceOnlyForwardIsBitIdentical(form: LinearForm, gemm: GemmBackend) throws {
        let full = try Self.executing(Self.model(), as: form)
        let lean = try full.inferenceOnly(gemm: gemm)
        #expect(lean.allLinears.allSatisfy { !$0.holdsMasterWeight })
        let batch = TinyCheckpoint.batch(lengths: [1, 9, 17, 4, 30], vocab: full.config.vocabSize)
        for (name, base) in Self.optionVariants {
            var options = base
            options.gemm = gemm
            let expected = try full.forward(batch, workspace: Workspace(threads: 2), options: options)
            let actual = try lean.forward(batch, workspace: Workspace(threads: 2), options: options)
            #expect(actual.logits == expected.logits, "\(form) on \(gemm), \(name): logits differ")
            #expect(actual.pooled == expected.pooled, "\(form) on \(gemm), \(name): pooled outputs differ")
            #expect(actual.hiddenStates == expected.hiddenStates, "\(form) on \(gemm), \(name): hidden states differ")
            #expect(actual.flops == expected.flops)
        }
    }

    @Test(arguments: GemmBackend.allCases)
    func inferenceOnlyQuestionAnsweringIsBitIdentical(gemm: GemmBackend) throws {
        let config = TinyCheckpoint.config(.distilbert, hidden: 32, heads: 2, intermediate: 40)
        let full = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .questionAnswering))
        let lean = try full.inferenceOnly(gemm: gemm)
        let batch = TinyCheckpoint.batch(lengths: [5, 12], vocab: config.vocabSize)
        let options = ForwardOptions(gemm: gemm)
        let expected = try full.forward(batch, workspace: Workspace(), options: options)
        let actual = try lean.forward(batch, workspace: Workspace(), options: options)
        #expect(actual.startLogits == expected.startLogits && actual.endLogits == expected.endLogits)
    }

    /// Dense on the packed GEMM keeps its panels and nothing else (no second fp32 copy); on
    /// OpenBLAS it keeps the `[out, in]` weight and no panels.
    @Test func denseLayersHoldOneCopyOfTheirWeights() throws {
        let full = try Self.model()
        let shapes = full.allLinears.map { ($0.outFeatures, $0.inFeatures) }
        let panels = shapes.reduce(0) { $0 + ($1.0 + 15) / 16 * 16 * $1.1 * Self.float }
        let rows = shapes.reduce(0) { $0 + $1.0 * $1.1 * Self.float }
        #expect(panels > rows, "the intermediate width 40 pads its panels")
        #expect(full.weightBytes.linearWeights == rows + panels, "the full model holds the master weight beside the panels")

        let packed = try full.inferenceOnly(gemm: .packed)
        #expect(packed.weightBytes.linearWeights == panels)
        #expect(packed.allLinears.allSatisfy { $0.packed != nil })
        let openblas = try full.inferenceOnly(gemm: .openblas)
        #expect(openblas.weightBytes.linearWeights == rows)
        #expect(openblas.allLinears.allSatisfy { $0.packed == nil })
    }

    /// Every component counted from what is held: tables, LayerNorms, biases.
    @Test func weightBytesAddUpByComponent() throws {
        let model = try Self.model()
        let c = model.config, h = c.hiddenSize
        let bytes = try model.inferenceOnly(gemm: .packed).weightBytes
        #expect(bytes.embeddings == (c.vocabSize + c.maxPositions + c.typeVocabSize) * h * Self.float)
        #expect(bytes.layerNorms == (1 + 2 * c.numLayers) * 2 * h * Self.float)
        #expect(bytes.biases == model.allLinears.reduce(0) { $0 + $1.outFeatures } * Self.float)
        #expect(bytes.total == bytes.linearWeights + bytes.biases + bytes.embeddings + bytes.layerNorms)
        #expect(try model.inferenceOnly(gemm: .packed).weightBytesHeld == bytes.total)
    }

    /// int8 holds a quarter of the fp32 weight plus two floats per output channel (scales and
    /// compensation terms) and a small header; 16-bit forms hold half of the panels.
    @Test func quantizedFormsHoldAFractionOfTheDenseBytes() throws {
        let model = try Self.model(hidden: 64, heads: 4, intermediate: 128)
        let dense = Self.encoderLinearBytes(try model.inferenceOnly(gemm: .packed))
        let int8 = Self.encoderLinearBytes(try Self.executing(model, as: .int8).inferenceOnly(gemm: .packed))
        let channels = model.layers.flatMap(\.linears).reduce(0) { $0 + $1.outFeatures }
        let linears = model.layers.count * 4
        let expected = dense / 4 + 2 * channels * Self.float
        #expect(int8 >= expected && int8 <= expected + 256 * linears, "int8 \(int8) bytes; dense / 4 + scales = \(expected)")
        for form in [LinearForm.fp16, .bf16, .bf16Compute] {
            let half = Self.encoderLinearBytes(try Self.executing(model, as: form).inferenceOnly(gemm: .packed))
            #expect(half == dense / 2, "\(form)")
        }
    }

    @Test func ninetyPercentSparseHoldsFarLessThanDense() throws {
        let model = try Self.model(hidden: 64, heads: 4, intermediate: 128)
        let masks = try MagnitudePruning.masks(for: model, sparsity: 0.9, scope: .global)
        var notes: [String] = []
        let (sparse, installed) = try SparseExecution.install(on: MagnitudePruning.apply(masks, to: model), mode: .always, notes: &notes)
        #expect(installed == model.layers.count * 4)
        let dense = Self.encoderLinearBytes(try model.inferenceOnly(gemm: .packed))
        let lean = try sparse.inferenceOnly(gemm: .packed)
        let sparseBytes = Self.encoderLinearBytes(lean)
        #expect(sparseBytes < dense / 3, "90 % sparse holds \(sparseBytes) bytes of encoder weights; dense \(dense)")
        #expect(lean.weightBytesHeld < (try model.inferenceOnly(gemm: .packed)).weightBytesHeld)
    }

    /// Whatever needs the master weight fails with `MasterWeightUnavailable` on an inference-only
    /// layer, rather than reading a weight that is gone.
    @Test func inferenceOnlyLayersRefuseTheirMasterWeight() throws {
        let model = try Self.model().inferenceOnly(gemm: .packed)
        let linear = model.layers[0].intermediate
        #expect(throws: MasterWeightUnavailable.self) { _ = try linear.weight }
        #expect(throws: MasterWeightUnavailable.self) { _ = try linear.executing(as: .int8) }
        #expect(try linear.executing(as: .dense).form == .dense, "staying in its own form reads nothing")
        #expect(throws: MasterWeightUnavailable.self) { _ = try linear.inferenceOnly(gemm: .openblas) }
        #expect(throws: MasterWeightUnavailable.self) { _ = try MagnitudePruning.masks(for: model, sparsity: 0.5, scope: .global) }
        var notes: [String] = []
        #expect(throws: MasterWeightUnavailable.self) { _ = try Quantization.apply(.int8, to: model, notes: &notes) }
        #expect(throws: MasterWeightUnavailable.self) { _ = try HeadPruning.prune(model, heads: [0: [1]]) }
        #expect(throws: MasterWeightUnavailable.self) { _ = try FeedForwardPruning.prune(model, fraction: 0.5) }
        do {
            _ = try linear.weight
        } catch let error as MasterWeightUnavailable {
            #expect(error.description.contains("inference-only") && error.description.contains("40×32"), "\(error)")
        }
        // New weights make a full layer again: nothing of the old one is read.
        let replaced = linear.replacing(weight: Tensor(zeros: [linear.outFeatures, linear.inFeatures]))
        #expect(replaced.holdsMasterWeight)
        #expect(try replaced.weight.values.allSatisfy { $0 == 0 })
    }

    /// A model converted for one GEMM holds nothing for the other; a pass asking for it is
    /// rejected before any kernel runs.
    @Test func inferenceOnlyModelRunsOnlyOnItsGemm() throws {
        let batch = TinyCheckpoint.batch(lengths: [4, 6], vocab: 50)
        let packed = try Self.model().inferenceOnly(gemm: .packed)
        #expect(throws: ModelError.self) { _ = try packed.forward(batch, workspace: Workspace(), options: ForwardOptions(gemm: .openblas)) }
        let openblas = try Self.model().inferenceOnly(gemm: .openblas)
        #expect(throws: ModelError.self) { _ = try openblas.forward(batch, workspace: Workspace(), options: ForwardOptions(gemm: .packed)) }
        #expect(try packed.inferenceOnly(gemm: .packed).weightBytesHeld == packed.weightBytesHeld, "converting twice is harmless")
        // A quantised model holds no dense encoder layers, but its head is dense and follows the GEMM.
        let int8 = try Self.executing(Self.model(), as: .int8).inferenceOnly(gemm: .packed)
        #expect(throws: ModelError.self) { _ = try int8.forward(batch, workspace: Workspace(), options: ForwardOptions(gemm: .openblas)) }
    }

    /// A trial converts its checkpoint by handing it over: the tokenizer stays, the model loses
    /// its master weights.
    @Test func checkpointConversionKeepsTheTokenizer() throws {
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<50).map { "w\($0)" }
        var checkpoint = Checkpoint(directory: URL(fileURLWithPath: "/tiny"), model: try Self.model(),
                                    tokenizer: try BertTokenizer(vocabulary: Vocabulary(tokens: words)))
        let expected = try Self.model().inferenceOnly(gemm: .openblas).weightBytesHeld
        checkpoint = try (consume checkpoint).inferenceOnly(gemm: .openblas)
        #expect(checkpoint.model.allLinears.allSatisfy { !$0.holdsMasterWeight })
        #expect(checkpoint.model.weightBytesHeld == expected)
        #expect(checkpoint.tokenizer.vocabulary.count == words.count)
    }

    /// Releasing a converted tensor's pages from the resident set leaves the mapping readable:
    /// the same bytes fault back in from the file.
    @Test func tensorBytesStayReadableAfterTheirPagesAreReleased() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("weight-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.safetensors")
        var rng = SplitMix64(seed: 14)
        let a = (0..<50_000).map { _ in rng.uniform(-1, 1) }, b = (0..<70_001).map { _ in rng.uniform(-1, 1) }
        try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: "a", dtype: .f32, shape: [a.count], values: a),
                                     SafetensorsWriter.Tensor(name: "b", dtype: .f32, shape: [b.count], values: b)], to: url)
        let file = try SafetensorsFile(url: url)
        for _ in 0..<2 {
            #expect(try file.floats("a") == a)
            #expect(try file.floats("b") == b)
        }
        let raw = try file.rawBytes("b")
        #expect(raw.count == b.count * 4 && raw.loadUnaligned(fromByteOffset: 4 * 70_000, as: Float.self) == b[70_000])
    }

    /// The real MiniLM-L6 (SST-2) as a trial holds it: int8 a quarter of dense's linear bytes,
    /// 90 % sparse clearly less than dense. Prints the numbers.
    @Test(.needsShared("models/minilm-l6-sst2/model.safetensors"))
    func miniLMWeightBytesByConfiguration() throws {
        let directory = SharedData.path("models/minilm-l6-sst2")
        func held(_ techniques: [TechniqueSpec]) throws -> WeightBytes {
            let loaded = try Checkpoint.load(directory: directory)
            let result = try TechniquePipeline.apply(techniques, to: loaded, data: .none, base: ForwardOptions(), workspace: Workspace())
            return try result.checkpoint.inferenceOnly(gemm: .packed).model.weightBytes
        }
        var int8Spec = TechniqueSpec(name: .quantization)
        int8Spec.mode = .int8
        var sparseSpec = TechniqueSpec(name: .magnitudePruning)
        sparseSpec.sparsity = 0.9
        sparseSpec.kernel = .auto
        let dense = try held([]), int8 = try held([int8Spec]), sparse = try held([sparseSpec])
        for (name, bytes) in [("dense", dense), ("int8", int8), ("sparse90", sparse)] {
            print("MiniLM-L6 SST-2 \(name): weightBytesHeld \(bytes.total) (linear \(bytes.linearWeights), biases \(bytes.biases), embeddings \(bytes.embeddings), LayerNorms \(bytes.layerNorms))")
        }
        #expect(dense.embeddings == int8.embeddings && dense.embeddings == sparse.embeddings)
        let ratio = Double(int8.linearWeights) / Double(dense.linearWeights)
        #expect(ratio > 0.25 && ratio < 0.27, "int8 / dense linear bytes = \(ratio)")
        #expect(Double(sparse.linearWeights) < 0.35 * Double(dense.linearWeights))
    }
}
