import Foundation
import FrontierSupport

/// Everything that decides what a fine-tune computes, as the command line gave it: the state
/// it checkpoints carries these, and a run resumes only when they are identical (the same
/// command), because parameters and moments saved under one setting continued under another
/// would give a model no single command produces.
///
/// Kept as plain values (paths, names, numbers) rather than the engine's types, so the state
/// file and `training.json` read as the options that made them.
public struct FineTuneSettings: Codable, Sendable, Equatable {
    /// `FineTuneTask.description`: `SST-2`, `STS-B`, `squad`, ….
    public var task: String
    /// The base checkpoint folder (absolute).
    public var base: String
    /// The data folder (absolute): GLUE task folders, or the SQuAD JSON files.
    public var data: String
    /// `full`, `top-K` or `frozen` (`TrainingRegime(name:)`).
    public var regime: String
    public var epochs: Int
    /// Train on the first N examples of the train file (SQuAD: questions).
    public var limit: Int?
    /// Sequences per micro-batch.
    public var batchSize: Int
    /// Micro-batches per optimiser update.
    public var accumulation: Int
    /// Tokens per sequence, specials included (SQuAD: per window).
    public var maxSeqLen: Int
    /// SQuAD: tokens shared by consecutive windows of a long context; nil for GLUE.
    public var docStride: Int?
    public var learningRate: Double
    /// Warm-up over `ceil(ratio × total updates)` updates, then linear decay to 0.
    public var warmupRatio: Double
    public var weightDecay: Double
    /// Bound on the global gradient norm; nil: no clipping.
    public var maxGradNorm: Double?
    /// One dropout rate for every site; nil: the rates of the base's config.json.
    public var dropout: Double?
    /// Data order, dropout masks and a new head's initialisation.
    public var seed: UInt64
    /// Engine threads: the gradient sums are split by thread, so the result depends on it.
    public var threads: Int
    /// false: file order in every epoch.
    public var shuffle: Bool
    /// Dev evaluation every N updates (nil: only at the end).
    public var evalEvery: Int?
    /// Dev examples per evaluation (nil: all; MNLI: per split; SQuAD: questions).
    public var evalLimit: Int?
    /// Training state written every N updates (nil: never; the run then cannot resume).
    public var checkpointEvery: Int?
    /// `packed` or `openblas`, for evaluation.
    public var gemm: String
    /// Structural techniques applied to the base before training, in order (their labels).
    public var techniques: [String]
    /// Magnitude pruning before training: a sparsity over the prunable weights …
    public var sparsity: Double?
    public var sparsityScope: String?
    /// … or a mask file (absolute).
    public var mask: String?

    public init(task: String, base: String, data: String, regime: String, epochs: Int = 3, limit: Int? = nil, batchSize: Int = 32,
                accumulation: Int = 1, maxSeqLen: Int = 128, docStride: Int? = nil, learningRate: Double = 5e-5,
                warmupRatio: Double = 0, weightDecay: Double = 0.01, maxGradNorm: Double? = 1,
                dropout: Double? = nil, seed: UInt64 = 42, threads: Int = 1, shuffle: Bool = true, evalEvery: Int? = nil,
                evalLimit: Int? = nil, checkpointEvery: Int? = nil, gemm: String = "packed", techniques: [String] = [],
                sparsity: Double? = nil, sparsityScope: String? = nil, mask: String? = nil) {
        self.task = task
        self.base = base
        self.data = data
        self.regime = regime
        self.epochs = epochs
        self.limit = limit
        self.batchSize = batchSize
        self.accumulation = accumulation
        self.maxSeqLen = maxSeqLen
        self.docStride = docStride
        self.learningRate = learningRate
        self.warmupRatio = warmupRatio
        self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm
        self.dropout = dropout
        self.seed = seed
        self.threads = threads
        self.shuffle = shuffle
        self.evalEvery = evalEvery
        self.evalLimit = evalLimit
        self.checkpointEvery = checkpointEvery
        self.gemm = gemm
        self.techniques = techniques
        self.sparsity = sparsity
        self.sparsityScope = sparsityScope
        self.mask = mask
    }

    /// Refuses values no run could use, naming the option.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError.invalidSettings(message) } }
        try check(FineTuneTask(name: task) != nil, "unknown task '\(task)' (known: \(FineTuneTask.names.joined(separator: ", ")))")
        try check(TrainingRegime(name: regime) != nil, "unknown regime '\(regime)'; use full, top-K (e.g. top-2) or frozen")
        try check(epochs >= 1, "--epochs must be at least 1; got \(epochs)")
        try check(limit.map { $0 >= 1 } ?? true, "--limit must be at least 1; got \(limit ?? 0)")
        try check(batchSize >= 1, "--batch must be at least 1; got \(batchSize)")
        try check(accumulation >= 1, "--accumulation must be at least 1; got \(accumulation)")
        try check(maxSeqLen >= 3, "--max-seq-len must be at least 3 ([CLS], a token, [SEP]); got \(maxSeqLen)")
        try check(docStride.map { $0 >= 0 && $0 < maxSeqLen } ?? true, "--doc-stride must be in 0..<\(maxSeqLen) (--max-seq-len); got \(docStride ?? 0)")
        try check(learningRate.isFinite && learningRate > 0, "--lr must be a positive number; got \(learningRate)")
        try check(warmupRatio.isFinite && (0...1).contains(warmupRatio), "--warmup-ratio must be in [0, 1]; got \(warmupRatio)")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be ≥ 0; got \(weightDecay)")
        try check(maxGradNorm.map { $0.isFinite && $0 > 0 } ?? true, "--max-grad-norm must be positive (0 turns clipping off); got \(maxGradNorm ?? 0)")
        try check(dropout.map { $0.isFinite && (0..<1).contains($0) } ?? true, "--dropout must be in [0, 1); got \(dropout ?? 0)")
        try check(threads >= 1, "--threads must be at least 1; got \(threads)")
        try check(evalEvery.map { $0 >= 1 } ?? true, "--eval-every must be at least 1; got \(evalEvery ?? 0)")
        try check(evalLimit.map { $0 >= 1 } ?? true, "--eval-limit must be at least 1; got \(evalLimit ?? 0)")
        try check(checkpointEvery.map { $0 >= 1 } ?? true, "--checkpoint-every must be at least 1; got \(checkpointEvery ?? 0)")
        try check(sparsity.map { $0.isFinite && (0...0.99).contains($0) } ?? true, "--sparsity must be in [0, 0.99]; got \(sparsity ?? 0)")
        try check(sparsity == nil || mask == nil, "give --sparsity or --mask, not both")
    }

    public var fineTuneTask: FineTuneTask { FineTuneTask(name: task)! }
    public var trainingRegime: TrainingRegime { TrainingRegime(name: regime)! }

    /// Where each setting comes from on the command line, for messages about differences.
    static let optionNames: [String: String] = [
        "task": "--task", "base": "--base", "data": "--data", "regime": "--regime", "epochs": "--epochs", "limit": "--limit",
        "batch_size": "--batch", "accumulation": "--accumulation", "max_seq_len": "--max-seq-len", "doc_stride": "--doc-stride",
        "learning_rate": "--lr", "warmup_ratio": "--warmup-ratio", "weight_decay": "--weight-decay",
        "max_grad_norm": "--max-grad-norm", "dropout": "--dropout", "seed": "--seed", "threads": "--threads",
        "shuffle": "shuffle (--no-shuffle)", "eval_every": "--eval-every", "eval_limit": "--eval-limit",
        "checkpoint_every": "--checkpoint-every", "gemm": "--gemm", "techniques": "techniques", "sparsity": "--sparsity",
        "sparsity_scope": "--sparsity-scope", "mask": "--mask",
    ]

    /// One line per setting that differs, `--lr: 8e-05 in the saved state, 5e-05 now`, in a
    /// stable order; empty when the settings are equal.
    public func differences(from saved: FineTuneSettings) -> [String] {
        guard let mine = try? Self.fields(self), let theirs = try? Self.fields(saved) else { return ["the settings could not be compared"] }
        return Set(mine.keys).union(theirs.keys).sorted().compactMap { key in
            let now = mine[key] ?? "unset", then = theirs[key] ?? "unset"
            guard now != then else { return nil }
            return "\(Self.optionNames[key] ?? key): \(then) in the saved state, \(now) now"
        }
    }

    /// Each setting as its JSON text (absent for nil).
    private static func fields(_ settings: FineTuneSettings) throws -> [String: String] {
        let encoder = JSONCoding.encoder
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let object = try JSONSerialization.jsonObject(with: encoder.encode(settings)) as? [String: Any] ?? [:]
        var fields: [String: String] = [:]
        for (key, value) in object {
            let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            fields[key] = String(decoding: data, as: UTF8.self)
        }
        return fields
    }
}
