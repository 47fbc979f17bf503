import Foundation
import FrontierEngine

/// What a trial's techniques did to the model, for the result.
public struct AppliedTechniques: Codable, Sendable, Equatable {
    public var techniques: [String]
    public var parameterCount: Int
    /// Parameters left non-zero (magnitude pruning zeroes without shrinking).
    public var nonZeroParameterCount: Int
    /// Encoder linear layers by the form that runs them (`LinearForm`: `dense`, `sparse`, `int8`, …).
    public var kernels: [String: Int]
    public var layers: Int
    public var keptLayers: [Int]?
    /// Layer → original indices of the heads removed.
    public var removedHeads: [String: [Int]]?
    public var maxSeqLen: Int?
    public var notes: [String]

    package init(techniques: [String], parameterCount: Int, nonZeroParameterCount: Int, kernels: [String: Int], layers: Int,
                 keptLayers: [Int]?, removedHeads: [String: [Int]]?, maxSeqLen: Int?, notes: [String]) {
        self.techniques = techniques
        self.parameterCount = parameterCount
        self.nonZeroParameterCount = nonZeroParameterCount
        self.kernels = kernels
        self.layers = layers
        self.keptLayers = keptLayers
        self.removedHeads = removedHeads
        self.maxSeqLen = maxSeqLen
        self.notes = notes
    }
}

/// Labelled train examples for techniques that calibrate or train (head importance, exit
/// heads), produced on demand: most trials need none.
public struct TechniqueData: Sendable {
    public var train: @Sendable (_ limit: Int) throws -> [HeadImportance.Example]

    public init(train: @escaping @Sendable (_ limit: Int) throws -> [HeadImportance.Example]) {
        self.train = train
    }

    public static let none = TechniqueData { _ in
        throw TechniqueError.needsData("this technique needs the task's train split, and none was given")
    }
}

/// Validates an ordered list of techniques and applies it to a loaded checkpoint: weight
/// transforms at load time, run-time ones as forward options.
public enum TechniquePipeline {
    public static let defaultCalibrationExamples = 128
    public static let defaultExitTrainExamples = 2000

    /// Combination rules, before anything is loaded.
    public static func validate(_ techniques: [TechniqueSpec]) throws {
        var seen: Set<TechniqueSpec.Name> = []
        for technique in techniques {
            try technique.validate()
            guard seen.insert(technique.name).inserted else {
                throw TechniqueError.incompatible("\(technique.name.rawValue) is listed twice")
            }
        }
        let order = techniques.map(\.name)
        func position(_ name: TechniqueSpec.Name) -> Int? { order.firstIndex(of: name) }
        if let magnitude = techniques.first(where: { $0.name == .magnitudePruning }), magnitude.mask != nil, let at = position(.magnitudePruning) {
            for structural in [TechniqueSpec.Name.headPruning, .ffnPruning, .layerDropping] {
                if let other = position(structural), other < at {
                    throw TechniqueError.incompatible("a mask file describes the unpruned model; list magnitude-pruning before \(structural.rawValue)")
                }
            }
        }
        if let quantization = position(.quantization) {
            for weightChanging in [TechniqueSpec.Name.magnitudePruning, .headPruning, .ffnPruning, .layerDropping] {
                if let other = position(weightChanging), other > quantization {
                    throw TechniqueError.incompatible("quantization must come after \(weightChanging.rawValue): it quantises the weights as they are when it runs")
                }
            }
        }
    }

    /// Applies the techniques in order. Returns the checkpoint with the model they made, the
    /// forward options they need at run time (merged into `base`) and what was done.
    ///
    /// Consumes the checkpoint and hands each technique the only copy of the model, so that a
    /// caller passing `consume checkpoint` never holds the model twice: each technique frees an
    /// old layer as it builds the new one, as editing in place did.
    public static func apply(_ techniques: [TechniqueSpec], to checkpoint: consuming Checkpoint, data: TechniqueData, base: ForwardOptions,
                             workspace: Workspace, progress: (String) -> Void = { _ in })
        throws -> (checkpoint: Checkpoint, options: ForwardOptions, applied: AppliedTechniques) {
        try validate(techniques)
        let directory = checkpoint.directory, tokenizer = checkpoint.tokenizer
        var model = (consume checkpoint).model
        var options = base
        var applied = AppliedTechniques(techniques: techniques.map(\.label), parameterCount: 0, nonZeroParameterCount: 0,
                                        kernels: [:], layers: 0, keptLayers: nil, removedHeads: nil, maxSeqLen: nil, notes: [])
        var sparseKernel: TechniqueSpec.SparseKernel?
        for technique in techniques {
            switch technique.name {
            case .magnitudePruning:
                let masks: MagnitudePruning.Masks
                if let mask = technique.mask {
                    masks = try MagnitudePruning.load(from: URL(fileURLWithPath: mask), for: model)
                } else {
                    masks = try MagnitudePruning.masks(for: model, sparsity: technique.sparsity!, scope: technique.scope ?? .global)
                }
                model = try MagnitudePruning.apply(masks, to: consume model)
                if let path = technique.saveMask { try MagnitudePruning.save(masks, to: URL(fileURLWithPath: path)) }
                let pruned = masks.reduce(0) { $0 + $1.keep.filter { !$0 }.count }, total = masks.reduce(0) { $0 + $1.keep.count }
                progress(String(format: "magnitude pruning: %d of %d prunable weights zeroed (%.1f%%)", pruned, total, 100 * Double(pruned) / Double(max(1, total))))
                sparseKernel = technique.kernel ?? .auto
            case .headPruning:
                let heads: [Int: Set<Int>]
                if let explicit = technique.heads {
                    heads = Dictionary(uniqueKeysWithValues: explicit.map { (Int($0.key)!, Set($0.value)) })
                } else {
                    let perLayer = technique.perLayer!
                    if let narrowest = model.layers.map(\.numHeads).min(), perLayer >= narrowest {
                        throw TechniqueError.invalid("head-pruning per_layer \(perLayer) would leave a layer with no heads (the smallest has \(narrowest))")
                    }
                    let examples = try data.train(technique.calibrationExamples ?? defaultCalibrationExamples)
                    progress("head importance: masking each of \(model.layers.reduce(0) { $0 + $1.numHeads }) heads on \(examples.count) calibration examples")
                    let importance = try HeadImportance.lossIncrease(model: model, examples: examples, workspace: workspace, options: base)
                    // Importance is indexed by current head position; prune by original index.
                    let positions = HeadPruning.leastImportant(importance, perLayer: perLayer)
                    heads = Dictionary(uniqueKeysWithValues: positions.map { layer, chosen in
                        let original = model.layers[layer].originalHeads ?? Array(0..<model.layers[layer].numHeads)
                        return (layer, Set(chosen.map { original[$0] }))
                    })
                }
                model = try HeadPruning.prune(consume model, heads: heads)
                applied.removedHeads = Dictionary(uniqueKeysWithValues: heads.filter { !$0.value.isEmpty }.map { ("\($0.key)", $0.value.sorted()) })
            case .ffnPruning:
                if let blocks = technique.blocks {
                    model = try FeedForwardPruning.removingBlocks(consume model, layers: blocks)
                    progress("FFN pruning: the feed-forward blocks of layers \(blocks.sorted()) removed")
                } else {
                    let removed: [Int: [Int]]
                    (model, removed) = try FeedForwardPruning.prune(consume model, fraction: technique.fraction!)
                    progress("FFN pruning: \(removed.values.reduce(0) { $0 + $1.count }) neurons removed")
                }
            case .layerDropping:
                let kept: [Int]
                (model, kept) = try LayerDropping.apply(consume model, keep: technique.keep!, strategy: technique.strategy ?? .bottom)
                applied.keptLayers = kept
            case .earlyExit:
                let examples = try data.train(technique.trainExamples ?? defaultExitTrainExamples)
                progress("early exit: training exit heads on \(examples.count) train examples")
                options.earlyExit = try EarlyExitTraining.train(model: model, examples: examples, entropyThreshold: technique.entropy!,
                                                                workspace: workspace, options: base)
            case .tokenPruning:
                guard technique.fromLayer! < model.layers.count else {
                    throw TechniqueError.incompatible("token pruning from layer \(technique.fromLayer!) but the model has \(model.layers.count) layers (after layer dropping, if any)")
                }
                let specials = Set([tokenizer.sepId])
                options.tokenPruning = TokenPruning(fromLayer: technique.fromLayer!, keep: technique.keepFraction!, alwaysKeep: specials)
            case .quantization:
                model = try Quantization.apply(technique.mode!, to: consume model, notes: &applied.notes)
            case .maxSeqLen:
                applied.maxSeqLen = technique.tokens
            }
        }
        if let sparseKernel {
            let installed: Int
            (model, installed) = try SparseExecution.install(on: consume model, mode: sparseKernel, notes: &applied.notes)
            if installed > 0 { progress("sparse kernel on \(installed) layers") }
        }
        try model.validate(options)
        applied.parameterCount = model.parameterCount
        applied.nonZeroParameterCount = try model.nonZeroParameterCount
        applied.layers = model.layers.count
        applied.kernels = model.kernelCounts
        return (Checkpoint(directory: directory, model: model, tokenizer: tokenizer), options, applied)
    }
}

extension EncoderModel {
    /// Encoder linear layers by the kernel that runs them.
    public var kernelCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for layer in layers {
            for linear in layer.linears { counts[linear.form.rawValue, default: 0] += 1 }
        }
        return counts
    }
}
