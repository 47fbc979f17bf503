import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierMeasurement
@testable import FrontierSupport
@testable import FrontierTechniques


/// Techniques applied through the pipeline, as a trial applies them: the kernels they install
/// compute what the dense model computes on the same weights.
@Suite struct TechniquePipelineTests {
    func checkpoint(layers: Int = 3) throws -> Checkpoint {
        let config = TinyCheckpoint.config(.bert, hidden: 32, layers: layers, heads: 4, intermediate: 48, labels: 2)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 2)))
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<50).map { "w\($0)" }
        return Checkpoint(directory: URL(fileURLWithPath: "/tiny"), model: model, tokenizer: try BertTokenizer(vocabulary: Vocabulary(tokens: words)))
    }

    func spec(_ name: TechniqueSpec.Name, _ edit: (inout TechniqueSpec) -> Void) -> TechniqueSpec {
        var s = TechniqueSpec(name: name)
        edit(&s)
        return s
    }

    func logits(_ checkpoint: Checkpoint, options: ForwardOptions = ForwardOptions()) throws -> (logits: [[Float]], flops: Double) {
        let batch = TinyCheckpoint.batch(lengths: [7, 12, 3, 30, 9], vocab: 50)
        let output = try checkpoint.model.forward(batch, workspace: Workspace(threads: 2), options: options)
        return (output.logits, output.flops)
    }

    func relativeError(_ a: [[Float]], _ b: [[Float]]) -> Float {
        var diff: Float = 0, norm: Float = 0
        for (rowA, rowB) in zip(a, b) {
            for (x, y) in zip(rowA, rowB) {
                diff += (x - y) * (x - y)
                norm += x * x
            }
        }
        return (diff / max(norm, 1e-12)).squareRoot()
    }

    @Test func sparseKernelComputesWhatTheDenseKernelComputesOnThePrunedWeights() throws {
        let prune = { (kernel: TechniqueSpec.SparseKernel) in self.spec(.magnitudePruning) { $0.sparsity = 0.9; $0.kernel = kernel } }
        let a = try TechniquePipeline.apply([prune(.never)], to: checkpoint(), data: .none, base: ForwardOptions(), workspace: Workspace())
        let b = try TechniquePipeline.apply([prune(.always)], to: checkpoint(), data: .none, base: ForwardOptions(), workspace: Workspace())
        let (dense, sparse) = (a.checkpoint, b.checkpoint)
        #expect(a.applied.kernels == ["dense": 12])
        #expect(b.applied.kernels == ["sparse": 12])
        #expect(a.applied.nonZeroParameterCount == b.applied.nonZeroParameterCount)
        #expect(a.applied.nonZeroParameterCount < a.applied.parameterCount)
        let (x, flopsDense) = try logits(dense), (y, flopsSparse) = try logits(sparse)
        #expect(relativeError(x, y) < 1e-4)
        #expect(flopsSparse < flopsDense / 3, "sparse layers are counted by their non-zeros")
    }

    @Test func prunedInt8LayersRunOnTheSparseInt8Kernel() throws {
        let prune = { (kernel: TechniqueSpec.SparseKernel) in self.spec(.magnitudePruning) { $0.sparsity = 0.9; $0.kernel = kernel } }
        let int8 = spec(.quantization) { $0.mode = .int8 }
        let apply = { (kernel: TechniqueSpec.SparseKernel) in
            try TechniquePipeline.apply([prune(kernel), int8], to: self.checkpoint(), data: .none, base: ForwardOptions(), workspace: Workspace())
        }
        let dense = try apply(.never), auto = try apply(.auto), always = try apply(.always)
        #expect(dense.applied.kernels == ["int8": 12])
        #expect(always.applied.kernels == ["sparse-int8": 12])
        if SparseQuantizedWeight.isAccelerated {
            #expect(auto.applied.kernels == ["sparse-int8": 12])
            #expect(auto.applied.notes.isEmpty)
        } else {
            #expect(auto.applied.kernels == ["int8": 12])
            #expect(auto.applied.notes.contains { $0.hasPrefix("sparse-int8: this CPU has no AVX-512 VNNI, so 12 pruned int8 layers") })
        }
        // The same integers on either int8 kernel: only the cost differs.
        let (x, flopsDense) = try logits(dense.checkpoint), (y, flopsSparse) = try logits(always.checkpoint)
        #expect(relativeError(x, y) < 1e-5)
        #expect(flopsSparse < flopsDense / 3, "sparse int8 layers are counted by their non-zeros")
    }

    @Test func int8QuantizationStaysCloseToFp32() throws {
        let base = try checkpoint()
        let result = try TechniquePipeline.apply([spec(.quantization) { $0.mode = .int8 }], to: base, data: .none,
                                                 base: ForwardOptions(), workspace: Workspace())
        let quantized = result.checkpoint
        #expect(result.applied.kernels == ["int8": 12])
        let error = relativeError(try logits(base).logits, try logits(quantized).logits)
        #expect(error < 0.05, "relative error \(error)")
        #expect(error > 0, "int8 must actually change the arithmetic")
    }

    @Test func structuralTechniquesComposeAndReportWhatTheyDid() throws {
        let original = try checkpoint(layers: 4)
        let techniques = [
            spec(.headPruning) { $0.heads = ["0": [1, 2], "3": [0]] },
            spec(.ffnPruning) { $0.fraction = 0.25 },
            spec(.layerDropping) { $0.keep = 3; $0.strategy = .bottom },
            spec(.tokenPruning) { $0.keepFraction = 0.5; $0.fromLayer = 2 },
        ]
        let before = try logits(original).flops
        let (checkpoint, options, applied) = try TechniquePipeline.apply(techniques, to: original, data: .none, base: ForwardOptions(), workspace: Workspace())
        #expect(applied.layers == 3 && applied.keptLayers == [0, 1, 2])
        #expect(applied.removedHeads == ["0": [1, 2], "3": [0]])
        #expect(checkpoint.model.layers.map(\.numHeads) == [2, 4, 4])
        #expect(checkpoint.model.layers.allSatisfy { $0.intermediateSize == 36 })
        #expect(options.tokenPruning?.alwaysKeep == [3])
        #expect(applied.parameterCount < checkpoint.model.parameterCount + 1)
        #expect(try logits(checkpoint, options: options).flops < before)
        #expect(original.model.layers.count == 4 && original.model.layers.allSatisfy { $0.numHeads == 4 }, "the checkpoint given is left as it was")

        let tooLate = try self.checkpoint(layers: 4)
        #expect {
            try TechniquePipeline.apply([self.spec(.layerDropping) { $0.keep = 2 }, self.spec(.tokenPruning) { $0.keepFraction = 0.5; $0.fromLayer = 2 }],
                                        to: tooLate, data: .none, base: ForwardOptions(), workspace: Workspace())
        } throws: { "\($0)".contains("token pruning from layer 2 but the model has 2 layers") }
    }

    @Test func headImportanceAndExitHeadsNeedTrainData() throws {
        let original = try checkpoint()
        #expect {
            try TechniquePipeline.apply([self.spec(.headPruning) { $0.perLayer = 1 }], to: original, data: .none,
                                        base: ForwardOptions(), workspace: Workspace())
        } throws: { "\($0)".contains("train split") }
        // With data: heads ranked on it and removed, exit heads fitted on it.
        let batch = TinyCheckpoint.batch(lengths: (0..<24).map { 4 + $0 % 9 }, vocab: 50, seed: 11)
        let examples = (0..<batch.count).map { i in
            HeadImportance.Example(ids: Array(batch.ids[batch.offsets[i]..<batch.offsets[i + 1]]),
                                   typeIds: Array(batch.typeIds[batch.offsets[i]..<batch.offsets[i + 1]]), label: i % 2, target: nil)
        }
        let data = TechniqueData { limit in Array(examples.prefix(limit)) }
        let (checkpoint, options, applied) = try TechniquePipeline.apply(
            [spec(.headPruning) { $0.perLayer = 1; $0.calibrationExamples = 16 }, spec(.earlyExit) { $0.entropy = 0; $0.trainExamples = 24 }],
            to: original, data: data, base: ForwardOptions(), workspace: Workspace())
        #expect(checkpoint.model.layers.allSatisfy { $0.numHeads == 3 })
        #expect(applied.removedHeads?.count == 3)
        let exit = try #require(options.earlyExit)
        #expect(exit.heads.count == 3 && exit.heads[0] != nil && exit.heads[2] == nil)
        let output = try checkpoint.model.forward(batch, workspace: Workspace(), options: options)
        #expect(output.exitLayers == [Int](repeating: 3, count: batch.count), "threshold 0: nobody leaves early")
    }

    @Test func trialSpecsCarryTechniques() throws {
        let json = #"{"model": "m", "task": "SST-2", "data": "d", "techniques": [{"name": "magnitude-pruning", "sparsity": 0.8, "scope": "layer"}, {"name": "quantization", "mode": "int8"}]}"#
        let spec = try TrialSpec.decode(Data(json.utf8), source: "s.json")
        #expect(spec.techniques.map(\.name) == [.magnitudePruning, .quantization])
        #expect(spec.techniques[0].scope == .layer)
        #expect(try TrialSpec.decode(JSONCoding.encoder.encode(spec), source: "x") == spec)
        let typo = #"{"model": "m", "task": "SST-2", "data": "d", "techniques": [{"name": "ffn-pruning", "fracton": 0.5}]}"#
        #expect { try TrialSpec.decode(Data(typo.utf8), source: "s.json") } throws: { "\($0)".contains("unknown key 'techniques[0].fracton'") }
        let wrong = #"{"model": "m", "task": "SST-2", "data": "d", "techniques": [{"name": "ffn-pruning", "fraction": 0.5, "mode": "int8"}]}"#
        #expect { try TrialSpec.decode(Data(wrong.utf8), source: "s.json") } throws: { "\($0)".contains("ffn-pruning does not take 'mode'") }
        let capped = #"{"model": "m", "task": "SST-2", "data": "d", "techniques": [{"name": "max-seq-len", "tokens": 32}]}"#
        #expect(try TrialSpec.decode(Data(capped.utf8), source: "s.json").effectiveMaxSeqLen == 32)
    }
}
