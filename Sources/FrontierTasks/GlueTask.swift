/// The nine GLUE tasks, with what a reader and an evaluator must know about each.
///
/// The raw value is the Hugging Face `datasets` / `evaluate` config name (`sst2`, `stsb`, …)
/// because metric keys and label orders follow those libraries; `folderName` is the name of the
/// task's folder in the standard GLUE download (`SST-2`, `STS-B`, …), which is what users type.
public enum GlueTask: String, CaseIterable, Sendable, Equatable {
    case cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli

    /// The folder name in the GLUE download (`DATA/<folderName>/dev.tsv`).
    public var folderName: String {
        switch self {
        case .cola: return "CoLA"
        case .sst2: return "SST-2"
        case .mrpc: return "MRPC"
        case .qqp: return "QQP"
        case .stsb: return "STS-B"
        case .mnli: return "MNLI"
        case .qnli: return "QNLI"
        case .rte: return "RTE"
        case .wnli: return "WNLI"
        }
    }

    /// Accepts the folder name or the `datasets` name, ignoring case, `-` and `_`
    /// ("SST-2", "sst2", "sts_b", "STSB"), so either spelling a user has seen works.
    public init?(name: String) {
        func key(_ text: String) -> String { text.lowercased().filter { $0 != "-" && $0 != "_" } }
        guard let task = Self.allCases.first(where: { key($0.folderName) == key(name) }) else { return nil }
        self = task
    }

    /// Class names in the Hugging Face `datasets` GLUE order: the class index a fine-tuned model
    /// uses when its `id2label` is generic (`LABEL_0`, …), because `run_glue` trains with the
    /// dataset's `ClassLabel` ids. Empty for STS-B, a regression task.
    public var labels: [String] {
        switch self {
        case .cola: return ["unacceptable", "acceptable"]
        case .sst2: return ["negative", "positive"]
        case .mrpc: return ["not_equivalent", "equivalent"]
        case .qqp: return ["not_duplicate", "duplicate"]
        case .stsb: return []
        case .mnli: return ["entailment", "neutral", "contradiction"]
        case .qnli, .rte: return ["entailment", "not_entailment"]
        case .wnli: return ["not_entailment", "entailment"]
        }
    }

    /// STS-B predicts a similarity score in 0…5 from a single regression output.
    public var isRegression: Bool { self == .stsb }

    /// The dev files (without `.tsv`), evaluated and reported separately: MNLI's matched and
    /// mismatched genres are two benchmarks, not one.
    public var devSplits: [String] {
        self == .mnli ? ["dev_matched", "dev_mismatched"] : ["dev"]
    }

    /// The metrics of Hugging Face `evaluate`'s `glue` config for this task.
    public var metricNames: [String] {
        switch self {
        case .cola: return ["matthews_correlation"]
        case .mrpc, .qqp: return ["accuracy", "f1"]
        case .stsb: return ["pearson", "spearmanr"]
        case .sst2, .mnli, .qnli, .rte, .wnli: return ["accuracy"]
        }
    }

    /// The key a split's metric is reported under: the bare metric name for single-split tasks,
    /// `accuracy_matched` / `accuracy_mismatched` for MNLI (the split name minus `dev_`), so one
    /// flat dictionary holds both MNLI numbers without ambiguity.
    public func metricKey(_ metric: String, split: String) -> String {
        guard devSplits.count > 1 else { return metric }
        let suffix = split.hasPrefix("dev_") ? String(split.dropFirst(4)) : split
        return "\(metric)_\(suffix)"
    }

    /// Every key `GlueEvaluator` reports for this task, in a stable order.
    public var metricKeys: [String] {
        devSplits.flatMap { split in metricNames.map { metricKey($0, split: split) } }
    }
}
