/// One labelled example of a GLUE-style classification task (single sentence or pair).
public struct SentenceClassificationExample: Sendable, Equatable {
    public var id: String
    public var textA: String
    public var textB: String?
    public var label: Int

    public init(id: String, textA: String, textB: String? = nil, label: Int) {
        self.id = id
        self.textA = textA
        self.textB = textB
        self.label = label
    }
}
