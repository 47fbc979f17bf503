/// How a fine-tuned model's class indices correspond to a GLUE task's classes.
///
/// The label order is a property of how the model was trained, not of the task: a checkpoint
/// trained with `run_glue` on `datasets` GLUE uses the datasets order (MNLI: entailment 0,
/// neutral 1, contradiction 2), while one converted from another toolkit may say
/// `{0: contradiction, 1: entailment, 2: neutral}`. When the model's `id2label` names every
/// task class (ignoring case) those names are trusted; generic names (`LABEL_0`, …) or names
/// that do not cover the task mean the model was trained on the datasets ids, so that order is
/// used and `source` says so.
public struct GlueLabelMap: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        /// Matched by the names in the model's `id2label`.
        case modelNames = "id2label"
        /// The Hugging Face `datasets` GLUE order (`GlueTask.labels`).
        case datasetsOrder = "datasets-order"
    }

    public let source: Source
    /// The model class index of each task class (indexed like `GlueTask.labels`).
    public let modelClass: [Int]
    /// The task class of each model class index; nil where the model has a class the task
    /// does not (a prediction of it is simply wrong).
    public let taskClass: [Int?]

    /// - Returns: nil when the model has fewer classes than the task, which no mapping can fix.
    public init?(task: GlueTask, modelLabels: [String]) {
        let names = task.labels.map { $0.lowercased() }
        guard modelLabels.count >= names.count else { return nil }
        let model = modelLabels.map { $0.lowercased() }
        let byName = names.map { name in model.indices.filter { model[$0] == name } }
        if !names.isEmpty, byName.allSatisfy({ $0.count == 1 }) {
            source = .modelNames
            modelClass = byName.compactMap(\.first)
        } else {
            source = .datasetsOrder
            modelClass = Array(names.indices)
        }
        var inverse = [Int?](repeating: nil, count: modelLabels.count)
        for (taskIndex, modelIndex) in modelClass.enumerated() { inverse[modelIndex] = taskIndex }
        taskClass = inverse
    }
}
