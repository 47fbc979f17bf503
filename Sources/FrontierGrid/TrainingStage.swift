import Foundation
import FrontierSupport

/// One training run of a sweep: a fine-tune (or one IMP level) whose checkpoint every point
/// that names it is measured on. Equal stages (same model, task, data, recipe, seed and
/// inputs) are one stage however many variants, axis values and repeats use it, so a grid
/// trains each distinct model once and measures it everywhere.
public struct TrainingStage: Sendable, Equatable, Codable {
    /// Where the stage starts from.
    public enum Start: Sendable, Equatable, Codable {
        /// The grid's model (its label, as in point keys; `modelPath` has the path).
        case model(String)
        /// The checkpoint another stage makes.
        case stage(String)
    }

    /// The first 16 hex digits of the SHA-256 of `identity`.
    public var key: String
    /// Canonical task name.
    public var task: String
    /// The task's data folder, as written (`${FRONTIER_SHARED}/…`, expanded by the agent).
    public var data: String
    /// The grid model's path as written (the pre-trained weights IMP rewinds to).
    public var modelPath: String
    public var start: Start
    public var recipe: TrainingRecipe
    /// IMP: this stage's level (1 and up; level 0 is the plain fine-tune, nil here) and sparsity.
    public var impLevel: Int?
    public var sparsity: Double?
    /// The stage whose mask this one trains under: the previous IMP level, or `mask_from`'s.
    public var maskStage: String?
    /// Stages that must finish first (their checkpoints or masks are this stage's inputs).
    public var dependsOn: [String]
    /// The variants whose points use the stage, directly or through a later stage.
    public var variants: [String]
    /// `any` or a device class.
    public var trainOn: String

    public var label: String {
        var text = "train \(task)"
        if let impLevel, let sparsity {
            text += " imp level \(impLevel) (\(String(format: "%g", sparsity * 100)) %)"
            if recipe.imp?.pooler == .dense { text += " pooler dense" }
        }
        if case let .stage(from) = start { text += " from \(from)" }
        if let maskStage, impLevel == nil { text += " mask of \(maskStage)" }
        if let p = recipe.prune {
            var parts: [String] = []
            if let f = p.ffn { parts.append("ffn \(String(format: "%g", f * 100)) %") }
            if let k = p.keepLayers { parts.append("\(k) layers\(p.layerStrategy.map { " (\($0))" } ?? "")") }
            if let sp = p.sparsity { parts.append("sparsity \(String(format: "%g", sp * 100)) %") }
            text += " pruned to " + parts.joined(separator: ", ")
        }
        return text + " seed \(recipe.seed)"
    }

    /// The scheme of `identity`; bump with a migration only (stage keys name stored artifacts).
    public static let keyScheme = "frontier-training-stage-v1"

    /// What the stage computes, and nothing else: the model's label (not its path), the task,
    /// the recipe without `train_on`, the inputs by key. Length-prefixed parts, as point keys.
    static func identity(task: String, modelLabel: String, start: Start, recipe: TrainingRecipe, impLevel: Int?,
                         maskStage: String?) -> String {
        var parts = [keyScheme, "task", task, "model", modelLabel]
        switch start {
        case let .model(label): parts += ["start-model", label]
        case let .stage(key): parts += ["start-stage", key]
        }
        parts += ["regime", recipe.regime, "epochs", String(recipe.epochs), "lr", String(recipe.lr), "batch", String(recipe.batch),
                  "max_seq_len", String(recipe.maxSeqLen), "warmup_ratio", String(recipe.warmupRatio),
                  "weight_decay", String(recipe.weightDecay), "seed", String(recipe.seed), "threads", String(recipe.threads),
                  "limit", recipe.limit.map(String.init) ?? "-", "dropout", recipe.dropout.map { String($0) } ?? "-"]
        if let impLevel, let imp = recipe.imp, impLevel > 0 {
            parts += ["imp-level", String(impLevel), "per_round", String(imp.perRound), "of", imp.of.rawValue,
                      "rewind_step", imp.rewindStep.map(String.init) ?? "-"]
            // Absent when pruned (the default), so that the keys of earlier grids stay.
            if imp.pooler == .dense { parts += ["pooler", "dense"] }
        }
        // Absent from stages without it, so that their keys stay what they were.
        if let prune = recipe.prune { parts += prune.identity }
        if let maskStage { parts += ["mask-stage", maskStage] }
        return parts.map { "\($0.utf8.count):\($0)" }.joined(separator: ";")
    }

    static func key(_ identity: String) -> String { String(SHA256.hex(identity).prefix(16)) }
}
