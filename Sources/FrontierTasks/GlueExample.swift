/// The gold answer of one GLUE example.
public enum GlueGold: Sendable, Equatable {
    /// A class index in the task's `GlueTask.labels` order (the `datasets` order), not the
    /// model's: the model's order is only known at evaluation time (`GlueLabelMap`).
    case label(Int)
    /// An STS-B similarity score in 0…5.
    case score(Double)
}

/// One example of a GLUE task: one text (SST-2, CoLA) or a pair, and its gold answer.
public struct GlueExample: Sendable, Equatable {
    /// The file's own id column where the task has one (`index`, `id`), otherwise the 0-based
    /// position among the file's examples, so a prediction can be traced back to its row.
    public var id: String
    public var textA: String
    public var textB: String?
    public var gold: GlueGold

    public init(id: String, textA: String, textB: String? = nil, gold: GlueGold) {
        self.id = id
        self.textA = textA
        self.textB = textB
        self.gold = gold
    }

    /// A classification example (`gold` = `.label(label)`); the initialiser callers written
    /// before regression tasks existed use.
    public init(id: String, textA: String, textB: String? = nil, label: Int) {
        self.init(id: id, textA: textA, textB: textB, gold: .label(label))
    }

    /// The class index of a classification example, or -1 for an STS-B example, which has a
    /// score instead. Kept so classification-only callers (SST-2 code written before the other
    /// tasks) still compile; new code should switch over `gold`.
    public var label: Int {
        if case let .label(index) = gold { return index }
        return -1
    }

    /// The score of an STS-B example; nil for classification.
    public var score: Double? {
        if case let .score(value) = gold { return value }
        return nil
    }
}

/// The name the engine's first task (SST-2) used; every GLUE task now shares `GlueExample`.
public typealias SentenceClassificationExample = GlueExample
