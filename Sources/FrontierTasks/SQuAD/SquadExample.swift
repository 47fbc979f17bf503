/// One SQuAD question with its paragraph and gold answers, as `dev-v1.1.json` has it.
///
/// Texts are kept exactly as in the file (no stripping, no normalisation): answer spans are
/// Unicode-scalar offsets into `context`, and the official metric normalises answers itself.
public struct SquadExample: Sendable, Equatable {
    public var id: String
    /// The article's title (informational; the evaluation never reads it).
    public var title: String
    public var question: String
    public var context: String
    /// Gold answer texts, in file order (SQuAD v1.1 dev has up to six, often repeated).
    public var answers: [String]
    /// `answer_start` of each gold answer: a Unicode-scalar (Python `str`) index into `context`.
    public var answerStarts: [Int]

    public init(id: String, title: String = "", question: String, context: String, answers: [String], answerStarts: [Int]) {
        self.id = id
        self.title = title
        self.question = question
        self.context = context
        self.answers = answers
        self.answerStarts = answerStarts
    }
}

/// A problem with a SQuAD JSON file, always naming the file and, below the top level, where in it:
/// a JSON path such as `data[3].paragraphs[1].qas[0].answers[2].text`, plus the question id once
/// it is known, so a bad record can be found without a JSON viewer.
public struct SquadDataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// JSON path of the offending value (nil for whole-file problems such as invalid JSON).
    public let location: String?
    /// The id of the question being read, when it was already known.
    public let questionID: String?
    public let detail: String

    public init(file: String, location: String? = nil, questionID: String? = nil, _ detail: String) {
        self.file = file
        self.location = location
        self.questionID = questionID
        self.detail = detail
    }

    public var description: String {
        var text = file
        if let location { text += ": \(location)" }
        if let questionID { text += " (question \(questionID))" }
        return text + ": " + detail
    }
}

/// Settings or inputs that make SQuAD features impossible to build or evaluate.
public enum SquadError: Error, CustomStringConvertible, Equatable {
    case invalidSettings(String)
    /// The question leaves no room for a context window longer than the stride (HF's tokenizer
    /// refuses the same input: `stride` must be smaller than the truncated length).
    case questionTooLong(id: String, questionTokens: Int, detail: String)
    case notQuestionAnswering(head: String)
    /// The model's output does not have the shape a question-answering head gives.
    case modelOutput(String)

    public var description: String {
        switch self {
        case let .invalidSettings(detail): return "invalid SQuAD settings: \(detail)"
        case let .questionTooLong(id, tokens, detail): return "question \(id) (\(tokens) tokens): \(detail)"
        case let .notQuestionAnswering(head): return "SQuAD needs a question-answering checkpoint (qa_outputs); this one has a \(head) head"
        case let .modelOutput(detail): return "unexpected model output: \(detail)"
        }
    }
}
