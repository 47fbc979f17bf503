import Foundation

/// A variant's `train` block for one point, decoded (axes substituted): how to fine-tune the
/// grid's model on the point's task before measuring, and optionally how far to prune it by
/// iterative magnitude pruning. The defaults are `frontier-agent finetune`'s.
public struct TrainingRecipe: Codable, Sendable, Equatable {
    /// Iterative magnitude pruning to `sparsity` (Chen et al. 2020, as `frontier-agent imp`):
    /// one training stage per level, each from the one before.
    public struct Imp: Codable, Sendable, Equatable {
        public enum Basis: String, Codable, Sendable, CaseIterable {
            /// Each round prunes `per_round` of the original prunable count (the authors' code).
            case original
            /// Each round prunes `per_round` of the weights still kept (the paper's formula).
            case remaining
        }

        /// Whether the pooler is among the pruned matrices: `frontier-agent imp --pooler`. Spelled
        /// here rather than imported, as `Basis` mirrors `PruningSchedule.Basis`: reading a grid
        /// needs no training code, so FrontierGrid does not depend on FrontierTraining; the agent
        /// parses the same two words.
        public enum Pooler: String, Codable, Sendable, CaseIterable {
            /// Pruned with the encoder's matrices (Chen et al.'s prunable set).
            case prune
            /// Left dense: on a sentence-embedding model the unused pooler is the smallest matrix,
            /// and global magnitude pruning would empty it first (docs/tickets.md).
            case dense
        }

        public var sparsity: Double
        public var perRound: Double = 0.1
        public var of: Basis = .original
        /// Rewind to this fine-tuning step's weights instead of the pre-trained ones.
        public var rewindStep: Int?
        public var pooler: Pooler = .prune

        public init(sparsity: Double, perRound: Double = 0.1, of: Basis = .original, rewindStep: Int? = nil,
                    pooler: Pooler = .prune) {
            self.sparsity = sparsity
            self.perRound = perRound
            self.of = of
            self.rewindStep = rewindStep
            self.pooler = pooler
        }

        /// Keys left out take their defaults (the synthesised decoder would require them).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            sparsity = try c.decode(Double.self, forKey: .sparsity)
            perRound = try c.decodeIfPresent(Double.self, forKey: .perRound) ?? 0.1
            of = try c.decodeIfPresent(Basis.self, forKey: .of) ?? .original
            rewindStep = try c.decodeIfPresent(Int.self, forKey: .rewindStep)
            pooler = try c.decodeIfPresent(Pooler.self, forKey: .pooler) ?? .prune
        }

        /// The sparsity after `level` rounds.
        public func sparsity(afterLevel level: Int) -> Double {
            switch of {
            case .original: return min(1, Double(level) * perRound)
            case .remaining: return 1 - pow(1 - perRound, Double(level))
            }
        }

        /// The level that reaches `sparsity`, or nil when no level does (within 1e-6; sparsities
        /// are written with a few digits, so a level's own value is what a grid writes).
        public var level: Int? {
            guard perRound > 0, perRound < 1, sparsity >= 0, sparsity < 1 else { return nil }
            let guess: Double
            switch of {
            case .original: guess = sparsity / perRound
            case .remaining: guess = log(1 - sparsity) / log(1 - perRound)
            }
            let level = Int(guess.rounded())
            return abs(sparsity(afterLevel: level) - sparsity) < 1e-6 ? level : nil
        }

        /// The reachable sparsities next to `sparsity`, for an error message.
        public var nearestLevels: [Double] {
            guard perRound > 0, perRound < 1 else { return [] }
            var out: [Double] = []
            var level = 0
            while out.count < 64, sparsity(afterLevel: level) < 0.999 {
                out.append(sparsity(afterLevel: level))
                level += 1
            }
            let below = out.last { $0 < sparsity }, above = out.first { $0 > sparsity }
            return [below, above].compactMap { $0 }
        }
    }

    /// Pruning before training, so training recovers what it removed (retrained structured
    /// pruning, or unstructured sparsity held at zero while training): `frontier-agent
    /// finetune`'s --prune-ffn, --keep-layers/--layer-strategy and --sparsity.
    public struct Prune: Codable, Sendable, Equatable {
        /// Fraction of each layer's feed-forward neurons removed (smallest magnitude first).
        public var ffn: Double?
        public var keepLayers: Int?
        public var layerStrategy: String?
        /// Fraction of the prunable weights zeroed by global magnitude and held at zero.
        public var sparsity: Double?

        public init(ffn: Double? = nil, keepLayers: Int? = nil, layerStrategy: String? = nil, sparsity: Double? = nil) {
            self.ffn = ffn
            self.keepLayers = keepLayers
            self.layerStrategy = layerStrategy
            self.sparsity = sparsity
        }

        /// Length-prefixed parts for the stage identity.
        var identity: [String] {
            ["prune-ffn", ffn.map { String($0) } ?? "-", "prune-keep-layers", keepLayers.map(String.init) ?? "-",
             "prune-layer-strategy", layerStrategy ?? "-", "prune-sparsity", sparsity.map { String($0) } ?? "-"]
        }
    }

    /// `full`, `frozen` or `top-K`.
    public var regime: String = "full"
    public var epochs: Int = 3
    public var lr: Double = 5e-5
    public var batch: Int = 32
    public var maxSeqLen: Int = 128
    public var warmupRatio: Double = 0
    public var weightDecay: Double = 0.01
    public var seed: Int = 42
    /// The gradient sums are split by thread, so the trained bits depend on it.
    public var threads: Int = 2
    /// Train on the first N examples of the train file.
    public var limit: Int?
    /// One dropout rate for every site; nil: the model's config.json.
    public var dropout: Double?
    /// `any`, or a device class: where the stage may run (not part of what it computes).
    public var trainOn: String = "any"
    public var imp: Imp?
    public var prune: Prune?
    /// Start from the checkpoint another variant's training makes instead of the grid's model.
    public var from: String?
    /// Train under the mask another variant's IMP finds (a transfer when `mask_task` differs).
    public var maskFrom: String?
    /// The task the `mask_from` variant was pruned on; nil: this point's task.
    public var maskTask: String?

    public init() {}

    /// Keys left out take the defaults above.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TrainingRecipe()
        regime = try c.decodeIfPresent(String.self, forKey: .regime) ?? defaults.regime
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? defaults.epochs
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? defaults.lr
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? defaults.batch
        maxSeqLen = try c.decodeIfPresent(Int.self, forKey: .maxSeqLen) ?? defaults.maxSeqLen
        warmupRatio = try c.decodeIfPresent(Double.self, forKey: .warmupRatio) ?? defaults.warmupRatio
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? defaults.weightDecay
        seed = try c.decodeIfPresent(Int.self, forKey: .seed) ?? defaults.seed
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? defaults.threads
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
        trainOn = try c.decodeIfPresent(String.self, forKey: .trainOn) ?? defaults.trainOn
        imp = try c.decodeIfPresent(Imp.self, forKey: .imp)
        prune = try c.decodeIfPresent(Prune.self, forKey: .prune)
        from = try c.decodeIfPresent(String.self, forKey: .from)
        maskFrom = try c.decodeIfPresent(String.self, forKey: .maskFrom)
        maskTask = try c.decodeIfPresent(String.self, forKey: .maskTask)
    }

    /// What a stage stores: the training itself, without the variant references (a stage names
    /// its inputs by stage key) and, for a dense fine-tune, without the pruning.
    func trainingOnly(keepingImp: Bool) -> TrainingRecipe {
        var recipe = self
        recipe.from = nil
        recipe.maskFrom = nil
        recipe.maskTask = nil
        if !keepingImp { recipe.imp = nil }
        return recipe
    }

    /// What is wrong with the recipe, or nil.
    public func problem() -> String? {
        if regime != "full" && regime != "frozen" {
            guard regime.hasPrefix("top-"), let k = Int(regime.dropFirst(4)), k >= 1 else {
                return "regime must be full, frozen or top-K (K ≥ 1 layers), not '\(regime)'"
            }
        }
        if epochs < 1 { return "epochs must be at least 1" }
        if !(lr > 0) { return "lr must be positive" }
        if batch < 1 { return "batch must be at least 1" }
        if maxSeqLen < 8 { return "max_seq_len must be at least 8" }
        if !(0..<1).contains(warmupRatio) { return "warmup_ratio must be in [0, 1)" }
        if weightDecay < 0 { return "weight_decay must not be negative" }
        if seed < 0 { return "seed must not be negative" }
        if threads < 1 { return "threads must be at least 1" }
        if let limit, limit < 1 { return "limit must be at least 1" }
        if let dropout, !(0..<1).contains(dropout) { return "dropout must be in [0, 1)" }
        if trainOn.isEmpty { return "train_on must be any or a device class" }
        if let imp {
            if !(imp.perRound > 0 && imp.perRound < 1) { return "imp.per_round must be in (0, 1)" }
            if !(imp.sparsity > 0 && imp.sparsity < 1) { return "imp.sparsity must be in (0, 1)" }
            if let step = imp.rewindStep, step < 0 { return "imp.rewind_step must not be negative" }
            if imp.level == nil {
                let near = imp.nearestLevels.map { String(format: "%g", $0) }.joined(separator: " or ")
                return "imp.sparsity \(String(format: "%g", imp.sparsity)) is not reached by rounds of \(String(format: "%g", imp.perRound)) of the \(imp.of.rawValue) count" + (near.isEmpty ? "" : " (nearest: \(near))")
            }
            if maskFrom != nil { return "imp and mask_from both set the mask: give one" }
            // Each level is `frontier-agent imp --level`: every layer trains (as Chen et al.),
            // and the rewind point would have to travel from level 0's stage.
            if regime != "full" { return "imp trains every layer (regime full), not '\(regime)'" }
            if imp.rewindStep != nil {
                return "imp.rewind_step is not scheduled in sweeps (level 0's weights at that update would have to travel with its checkpoint); run `frontier-agent imp --rewind-step` and list its level folders as models"
            }
            if let prune, prune.ffn != nil || prune.keepLayers != nil {
                return "imp with prune.ffn or prune.keep_layers: IMP searches the full shape; prune structurally in another variant"
            }
        }
        if maskTask != nil && maskFrom == nil { return "mask_task needs mask_from" }
        if let prune {
            if prune.ffn == nil, prune.keepLayers == nil, prune.sparsity == nil {
                return "prune needs ffn, keep_layers or sparsity"
            }
            if let f = prune.ffn, !(f > 0 && f < 1) { return "prune.ffn must be in (0, 1)" }
            if let k = prune.keepLayers, k < 1 { return "prune.keep_layers must be at least 1" }
            if prune.layerStrategy != nil, prune.keepLayers == nil { return "prune.layer_strategy needs prune.keep_layers" }
            if let sp = prune.sparsity, !(sp > 0 && sp < 1) { return "prune.sparsity must be in (0, 1)" }
            if prune.sparsity != nil, imp != nil || maskFrom != nil { return "prune.sparsity and imp/mask_from both set the mask: give one" }
        }
        return nil
    }
}
