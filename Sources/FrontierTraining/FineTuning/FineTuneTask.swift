import FrontierEngine
import FrontierTasks

/// What a fine-tune learns: one GLUE task (classification, or STS-B regression) or SQuAD v1.1
/// (answer spans). It decides the head, the targets, the dev metric and the architecture name
/// the written checkpoint declares.
public enum FineTuneTask: Sendable, Equatable, CustomStringConvertible {
    case glue(GlueTask)
    case squad

    /// A GLUE folder or `datasets` name (`SST-2`, `sst2`, `STS-B`, …) or `squad` (also
    /// `squad1.1`, `squad-v1.1`, as eval accepts).
    public init?(name: String) {
        if ["squad", "squad1.1", "squad-v1.1"].contains(name.lowercased()) {
            self = .squad
        } else if let task = GlueTask(name: name) {
            self = .glue(task)
        } else {
            return nil
        }
    }

    /// The name commands print and `training.json` records (`SST-2`, `squad`): what
    /// `RecordedTask` reads back.
    public var description: String {
        switch self {
        case let .glue(task): return task.folderName
        case .squad: return "squad"
        }
    }

    /// Every name `init(name:)` knows, for help texts and errors.
    public static var names: [String] { GlueTask.allCases.map(\.folderName) + ["squad"] }

    public var isQuestionAnswering: Bool { self == .squad }

    /// The head a bare encoder gets for this task.
    public var newHead: TrainableModel.NewHead {
        switch self {
        case let .glue(task): return .sequenceClassification(labels: task.isRegression ? 1 : task.labels.count)
        case .squad: return .questionAnswering
        }
    }

    /// The class names a new head is written with: the task's, in the `datasets` order the
    /// targets use (so `GlueLabelMap` matches them by name), or one generic output for STS-B.
    /// SQuAD's span layer has two outputs, which transformers' QA models read as `num_labels`.
    public var newHeadLabels: [String] {
        switch self {
        case let .glue(task): return task.isRegression ? ["LABEL_0"] : task.labels
        case .squad: return ["LABEL_0", "LABEL_1"]
        }
    }

    /// `problem_type` of the written config (nil: the key is removed, as for QA models).
    public var problemType: String? {
        switch self {
        case let .glue(task): return task.isRegression ? "regression" : "single_label_classification"
        case .squad: return nil
        }
    }

    /// The transformers class that loads the written checkpoint.
    public func architecture(_ family: ModelConfig.Family) -> String {
        let prefix = family == .bert ? "Bert" : "DistilBert"
        return prefix + (isQuestionAnswering ? "ForQuestionAnswering" : "ForSequenceClassification")
    }

    /// `finetuning_task` of the written config: run_glue's task name (`sst2`), or `squad`.
    public var finetuningTaskName: String {
        switch self {
        case let .glue(task): return task.rawValue
        case .squad: return "squad"
        }
    }

    /// Whether `head` already answers this task (its kind and its output count); the labels'
    /// meaning is checked separately (`RecordedTask`, `GlueLabelMap`).
    public func fits(_ head: TaskHead, config: ModelConfig) -> Bool {
        switch (self, head) {
        case (.squad, .questionAnswering): return true
        case let (.glue(task), .sequenceClassification):
            if task.isRegression { return config.isRegression && config.numLabels == 1 }
            return !config.isRegression && GlueLabelMap(task: task, modelLabels: config.labels) != nil
                && config.numLabels == task.labels.count
        default: return false
        }
    }
}
