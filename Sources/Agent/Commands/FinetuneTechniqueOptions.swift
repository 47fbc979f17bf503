import ArgumentParser
import FrontierTechniques

/// The techniques `finetune` applies to the base before training: the ones that change what
/// the model is (which weights exist or stay zero), not how it runs. Inference-time techniques
/// (quantization, early exit, token pruning, sparse kernels) belong to the fine-tuned folder's
/// eval, bench or run; head pruning is left out because a model with pruned heads needs
/// `pruned_heads` in config.json, which the engine's loader does not read, so the fine-tuned
/// folder could not be loaded back.
struct FinetuneTechniqueOptions: ParsableArguments {
    @Option(help: "Unstructured magnitude pruning before training: zero this fraction of the prunable weights (0–0.99) and keep them at zero while training.")
    var sparsity: Double?
    @Option(name: .customLong("sparsity-scope"), help: "One threshold over all prunable weights (global, as the lottery-ticket papers) or one per matrix (layer).")
    var sparsityScope: MagnitudePruning.Scope?
    @Option(help: "Hold the weights a 0/1 mask file zeroes at zero instead of --sparsity (frontier-masks or lottery-ticket key names, e.g. bert.encoder.layer.0.attention.self.query.weight_mask).")
    var mask: String?
    @Option(name: .customLong("save-mask"), help: "Also write the mask to this file (it is always written to OUT/mask.safetensors).")
    var saveMask: String?
    @Option(name: .customLong("prune-ffn"), help: "Before training, remove this fraction of each layer's feed-forward neurons, smallest magnitude first.")
    var pruneFfn: Double?
    @Option(name: .customLong("keep-layers"), help: "Before training, keep this many encoder layers.")
    var keepLayers: Int?
    @Option(name: .customLong("layer-strategy"), help: "Which layers --keep-layers keeps: bottom (drop the top), top or alternate.")
    var layerStrategy: LayerDropping.Strategy?

    func validate() throws {
        if sparsity != nil && mask != nil { throw ValidationError("give --sparsity or --mask, not both.") }
        if sparsityScope != nil && sparsity == nil { throw ValidationError("--sparsity-scope needs --sparsity.") }
        if saveMask != nil && sparsity == nil && mask == nil { throw ValidationError("--save-mask needs --sparsity or --mask.") }
        if layerStrategy != nil && keepLayers == nil { throw ValidationError("--layer-strategy needs --keep-layers.") }
        if mask != nil, pruneFfn != nil || keepLayers != nil {
            throw ValidationError("--mask describes the unpruned base; it cannot be combined with --prune-ffn or --keep-layers (use --sparsity, which prunes the shrunk model).")
        }
        do { try TechniquePipeline.validate(structural) } catch { throw ValidationError("\(error)") }
    }

    /// FFN pruning and layer dropping, in that order, as the pipeline applies them.
    var structural: [TechniqueSpec] {
        var list: [TechniqueSpec] = []
        if let pruneFfn {
            var t = TechniqueSpec(name: .ffnPruning)
            t.fraction = pruneFfn
            list.append(t)
        }
        if let keepLayers {
            var t = TechniqueSpec(name: .layerDropping)
            t.keep = keepLayers; t.strategy = layerStrategy
            list.append(t)
        }
        return list
    }
}
