import FrontierEngine

/// The knobs of SQuAD evaluation, with the defaults of transformers' `run_qa.py` (and of BERT's
/// original `run_squad.py`, which adds the question limit).
public struct SquadSettings: Sendable, Equatable {
    /// Tokens per feature, [CLS] and both [SEP]s included (run_qa `max_seq_length`).
    public var maxLength: Int
    /// Tokens shared by consecutive windows over a long context (run_qa `doc_stride`; despite the
    /// name it is the overlap, not the step, exactly as HF's tokenizer `stride` is).
    public var docStride: Int
    /// Question tokens kept (the rest are cut), as BERT's `run_squad.py` does with 64. run_qa has no
    /// such limit: nil reproduces it. No SQuAD v1.1 dev question is longer than 38 tokens, so on dev
    /// both give the same features.
    public var maxQueryLength: Int?
    /// Start and end candidates per feature (the top `nBest` logits of each), run_qa `n_best_size`.
    public var nBest: Int
    /// Longest answer in tokens, run_qa `max_answer_length`.
    public var maxAnswerLength: Int

    public init(maxLength: Int = 384, docStride: Int = 128, maxQueryLength: Int? = 64, nBest: Int = 20, maxAnswerLength: Int = 30) {
        self.maxLength = maxLength
        self.docStride = docStride
        self.maxQueryLength = maxQueryLength
        self.nBest = nBest
        self.maxAnswerLength = maxAnswerLength
    }

    /// Rejects settings no question could be featurised with (HF would fail on them too, or
    /// silently produce nothing usable): checked once before a run rather than per question.
    public func validate() throws {
        if maxLength < 4 { throw SquadError.invalidSettings("maxLength must be ≥ 4 ([CLS] q [SEP] c [SEP]), got \(maxLength)") }
        if docStride < 0 { throw SquadError.invalidSettings("docStride must be ≥ 0, got \(docStride)") }
        if let q = maxQueryLength, q < 0 { throw SquadError.invalidSettings("maxQueryLength must be ≥ 0, got \(q)") }
        if nBest < 1 { throw SquadError.invalidSettings("nBest must be ≥ 1, got \(nBest)") }
        if maxAnswerLength < 1 { throw SquadError.invalidSettings("maxAnswerLength must be ≥ 1, got \(maxAnswerLength)") }
        if let q = maxQueryLength, maxLength - q - 3 <= docStride {
            throw SquadError.invalidSettings("maxLength \(maxLength) leaves \(maxLength - q - 3) context tokens after a \(q)-token question and [CLS]/[SEP]/[SEP], not more than docStride \(docStride)")
        }
    }
}

/// One model input of a SQuAD question: `[CLS] question [SEP] context-window [SEP]`.
public struct SquadFeature: Sendable, Equatable {
    /// Index of the question in the list being featurised.
    public var exampleIndex: Int
    public var ids: [Int32]
    /// 0 for [CLS], the question and its [SEP]; 1 for the context window and the final [SEP].
    public var typeIds: [Int32]
    /// For each token, its span in the context in Unicode scalars (Python `str` indices) when the
    /// token belongs to the context window; nil for [CLS], question tokens and the [SEP]s — run_qa's
    /// `offset_mapping` after it sets everything outside the context to None. Only tokens with a
    /// span can start or end an answer.
    public var contextOffsets: [Range<Int>?]

    public init(exampleIndex: Int, ids: [Int32], typeIds: [Int32], contextOffsets: [Range<Int>?]) {
        self.exampleIndex = exampleIndex
        self.ids = ids
        self.typeIds = typeIds
        self.contextOffsets = contextOffsets
    }

    public var count: Int { ids.count }
}

/// Builds the features of run_qa's `prepare_validation_features` with a fast BERT tokenizer:
/// `tokenizer(question.lstrip(), context, truncation="only_second", max_length=384, stride=128,
/// return_overflowing_tokens=True, return_offsets_mapping=True)`, without padding.
///
/// The tokenizer is run on the question and the context separately and the windows are cut here.
/// That is what HF does too: `tokenizers` encodes both texts, then `truncate_encodings` with
/// `OnlySecond` cuts the context to `maxLength - questionTokens - 3` tokens and turns the rest into
/// overflowing encodings (`Encoding::truncate` with stride), and the BERT template adds
/// [CLS]/[SEP] to each. Checked against HF on every SQuAD v1.1 dev question (10,784 features).
public enum SquadFeaturizer {
    /// The features of one question, in HF's order (first window first).
    public static func features(question: String, context: String, exampleIndex: Int, tokenizer: BertTokenizer,
                                settings: SquadSettings, id: String = "") throws -> [SquadFeature] {
        try features(question: tokenizer.tokenize(leftStripped(question)).ids, context: tokenizer.tokenize(context),
                     exampleIndex: exampleIndex, tokenizer: tokenizer, settings: settings, id: id)
    }

    /// The same from already tokenised texts (questions of one paragraph share its context tokens).
    /// `question` are the ids of the left-stripped question without specials; `context` its ids and
    /// Unicode-scalar offsets as `BertTokenizer.tokenize` returns them.
    public static func features(question: [Int32], context: (ids: [Int32], offsets: [Range<Int>]), exampleIndex: Int,
                                tokenizer: BertTokenizer, settings: SquadSettings, id: String = "") throws -> [SquadFeature] {
        let questionIds = settings.maxQueryLength.map { Array(question.prefix(max(0, $0))) } ?? question
        let windows = try contextWindows(contextTokens: context.ids.count, questionTokens: questionIds.count,
                                         settings: settings, id: id)
        var result: [SquadFeature] = []
        result.reserveCapacity(windows.count)
        for window in windows {
            let length = questionIds.count + window.count + 3
            var ids: [Int32] = []
            ids.reserveCapacity(length)
            ids.append(tokenizer.clsId)
            ids += questionIds
            ids.append(tokenizer.sepId)
            ids += context.ids[window]
            ids.append(tokenizer.sepId)
            var types = [Int32](repeating: 0, count: questionIds.count + 2)
            types += repeatElement(1, count: window.count + 1)
            var offsets = [Range<Int>?](repeating: nil, count: questionIds.count + 2)
            offsets.reserveCapacity(length)
            for position in window { offsets.append(context.offsets[position]) }
            offsets.append(nil)
            result.append(SquadFeature(exampleIndex: exampleIndex, ids: ids, typeIds: types, contextOffsets: offsets))
        }
        return result
    }

    /// The context token ranges of the features, following tokenizers' `Encoding::truncate`
    /// (direction right): when everything fits there is one window with all of the context (even
    /// none); otherwise windows of `w = maxLength - questionTokens - 3` tokens start at 0, w − stride,
    /// 2(w − stride), … and the last one is the first that reaches the end — so consecutive windows
    /// overlap by exactly `docStride` tokens and the last window may be shorter.
    ///
    /// - Throws: `SquadError.questionTooLong` where HF's tokenizer fails too: no room for a context
    ///   window (`w ≤ 0`, its "sequence to truncate too short") or `w ≤ docStride` (its assertion
    ///   that the stride is smaller than the truncated length). Only when a window is needed.
    public static func contextWindows(contextTokens: Int, questionTokens: Int, settings: SquadSettings,
                                      id: String = "") throws -> [Range<Int>] {
        guard settings.docStride >= 0 else { throw SquadError.invalidSettings("docStride must be ≥ 0, got \(settings.docStride)") }
        if questionTokens + contextTokens + 3 <= settings.maxLength { return [0..<contextTokens] }
        let width = settings.maxLength - questionTokens - 3
        guard width > settings.docStride else {
            throw SquadError.questionTooLong(id: id, questionTokens: questionTokens, detail:
                "with maxLength \(settings.maxLength) it leaves \(max(0, width)) context tokens per window, which must be more than docStride \(settings.docStride) (set maxQueryLength)")
        }
        let step = width - settings.docStride
        var windows: [Range<Int>] = []
        var start = 0
        while true {
            let end = min(start + width, contextTokens)
            windows.append(start..<end)
            if end == contextTokens { break }
            start += step
        }
        return windows
    }

    /// Python's `str.lstrip()`: drops leading characters for which `str.isspace()` is true, as
    /// run_qa does to every question (it cannot change BERT's ids, which ignore whitespace, but it
    /// keeps the question text identical to the one HF tokenises).
    public static func leftStripped(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !PythonText.isSpace($0) }) else { return "" }
        return String(scalars[first...])
    }
}
