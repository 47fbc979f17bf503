import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTasks
import FrontierSupport


// MARK: - The official metric (hand-written cases, no shared files)

/// Expected values are those of `evaluate-v1.1.py` (checked with its normalize_answer / f1_score /
/// exact_match_score in Python: tools/make_squad_golden.py holds a verbatim copy).
@Suite("SQuAD metric") struct SquadMetricTests {
    @Test(arguments: [
        ("The Cat!", "cat"),
        ("  a  an the   ", ""),                       // only articles and spaces
        ("Theater", "theater"),                        // articles only as whole words
        ("the-end", "theend"),                         // punctuation goes before articles
        ("A.B.C.", "abc"),
        ("an_apple", "anapple"),                       // "_" is in string.punctuation
        ("Denver Broncos\u{2019}", "denver broncos\u{2019}"),  // non-ASCII punctuation stays
        ("ÉCOLE", "école"),
        ("ΟΔΟΣ ΟΔΟΣ.", "οδος οδος"),                   // Python's final sigma: ς at word ends
        ("a\u{301} cat", "\u{301} cat"),               // a combining mark is not a \w character
        ("tab\tand\u{A0}nbsp\u{2003}em", "tab and nbsp em"),
        ("x\u{1C}y", "x y"),                           // str.isspace() includes U+001C
        ("İstanbul", "i\u{307}stanbul"),               // full lowercase mapping: one scalar becomes two
        ("THE Ǆ", "ǆ"),
        ("\u{BD} an \u{663}", "\u{BD} \u{663}"),       // numerics are word characters
    ])
    func normalizeFollowsTheOfficialScript(input: String, expected: String) {
        let normalized = SquadMetrics.normalize(input)
        #expect(normalized.unicodeScalars.elementsEqual(expected.unicodeScalars),
                "normalize(\(input.debugDescription)) = \(normalized.debugDescription), want \(expected.debugDescription)")
    }

    @Test func exactMatchAndF1OfSingleAnswers() {
        #expect(SquadMetrics.exactMatch(prediction: "the Denver Broncos", gold: "Denver Broncos") == 1)
        #expect(SquadMetrics.f1(prediction: "Denver Broncos won", gold: "Denver Broncos") == 0.8)
        // Tokens are a multiset: "cat" twice in common, not three times.
        #expect(SquadMetrics.f1(prediction: "the the cat cat cat", gold: "cat dog cat") == 2.0 / 3.0)
        #expect(SquadMetrics.f1(prediction: "Denver", gold: "Denver Broncos") == 2.0 / 3.0)
        // Python compares code points: precomposed "é" is not "e" + combining acute (Swift's == says equal).
        #expect(SquadMetrics.exactMatch(prediction: "é", gold: "e\u{301}") == 0)
        #expect(SquadMetrics.f1(prediction: "é", gold: "e\u{301}") == 0)
    }

    @Test func emptyPredictions() {
        #expect(SquadMetrics.exactMatch(prediction: "", gold: "Denver") == 0)
        #expect(SquadMetrics.f1(prediction: "", gold: "Denver") == 0)
        // A gold that normalises to nothing: exact match 1 but F1 0 (no common token), as in the script.
        #expect(SquadMetrics.exactMatch(prediction: "", gold: "the") == 1)
        #expect(SquadMetrics.f1(prediction: "", gold: "the") == 0)
        #expect(SquadMetrics.exactMatch(prediction: "", golds: []) == 0)
    }

    @Test func maxOverGoldAnswers() {
        let golds = ["Denver Broncos", "Broncos", "the Broncos team"]
        #expect(SquadMetrics.exactMatch(prediction: "Broncos", golds: golds) == 1)
        #expect(SquadMetrics.f1(prediction: "Broncos", golds: golds) == 1)
        #expect(SquadMetrics.exactMatch(prediction: "Denver", golds: ["Denver Broncos", "Carolina"]) == 0)
        #expect(SquadMetrics.f1(prediction: "Denver", golds: ["Denver Broncos", "Carolina"]) == 2.0 / 3.0)
    }

    @Test func evaluateAveragesOverAllQuestionsOnTheScriptsScale() {
        let examples = [
            SquadExample(id: "q1", question: "", context: "", answers: ["Denver Broncos", "Broncos"], answerStarts: [0, 0]),
            SquadExample(id: "q2", question: "", context: "", answers: ["Santa Clara, California"], answerStarts: [0]),
            SquadExample(id: "q3", question: "", context: "", answers: ["gold"], answerStarts: [0]),  // unanswered: 0
        ]
        let metrics = SquadMetrics.evaluate(predictions: ["q1": "the broncos", "q2": "Clara"], examples: examples)
        #expect(metrics["exact_match"] == 33.333333333333336)
        #expect(metrics["f1"] == 50.0)
    }
}

// MARK: - Reader

@Suite("SQuAD reader") struct SquadReaderTests {
    static let valid = #"""
    {"version": "1.1", "data": [
      {"title": "T1", "paragraphs": [
        {"context": "Denver won. Ça va.", "qas": [
          {"id": "a", "question": "Who won?", "answers": [{"text": "Denver", "answer_start": 0}, {"answer_start": 0, "text": "Denver"}]},
          {"id": "b", "question": " How?", "answers": [{"text": "Ça va", "answer_start": 12}], "is_impossible": false}]}]},
      {"paragraphs": [{"context": "x", "qas": [{"id": "c", "question": "q", "answers": [{"text": "x", "answer_start": 0}]}]}]}
    ]}
    """#

    @Test func readsQuestionsInFileOrder() throws {
        let examples = try SquadReader.parse(Data(Self.valid.utf8), file: "inline.json")
        #expect(examples.map(\.id) == ["a", "b", "c"])
        #expect(examples[0] == SquadExample(id: "a", title: "T1", question: "Who won?", context: "Denver won. Ça va.",
                                            answers: ["Denver", "Denver"], answerStarts: [0, 0]))
        #expect(examples[1].question == " How?")  // kept raw; features left-strip it
        #expect(examples[2].title == "")
    }

    static func mutate(_ replace: String, with replacement: String) -> String {
        Self.valid.replacingOccurrences(of: replace, with: replacement)
    }

    /// (JSON, expected location, question id or nil, a phrase of the detail)
    static let badInputs: [(String, String?, String?, String)] = [
        (#"{"data": ["#, nil, nil, "not valid JSON"),
        ("[]", "(top level)", nil, "expected an object"),
        (#"{"version": "1.1"}"#, "data", nil, #"missing key "data""#),
        (#"{"data": {}}"#, "data", nil, "expected an array"),
        (#"{"data": [{"title": "T"}]}"#, "data[0].paragraphs", nil, "missing key"),
        (#"{"data": [{"paragraphs": [{"qas": []}]}]}"#, "data[0].paragraphs[0].context", nil, "missing key"),
        (#"{"data": [{"paragraphs": [{"context": 7, "qas": []}]}]}"#, "data[0].paragraphs[0].context", nil, "expected a string"),
        (mutate(#""id": "a", "#, with: ""), "data[0].paragraphs[0].qas[0].id", nil, #"missing key "id""#),
        (mutate(#""question": "Who won?", "#, with: ""), "data[0].paragraphs[0].qas[0].question", "a", "missing key"),
        (mutate(#""answer_start": 12"#, with: #""answer_start": "12""#), "data[0].paragraphs[0].qas[1].answers[0].answer_start", "b", "expected an integer"),
        (mutate(#""answer_start": 12"#, with: #""answer_start": true"#), "data[0].paragraphs[0].qas[1].answers[0].answer_start", "b", "integer"),
        (mutate(#""answer_start": 12"#, with: #""answer_start": 1.5"#), "data[0].paragraphs[0].qas[1].answers[0].answer_start", "b", "expected an integer, found 1.5"),
        (mutate(#""text": "Ça va""#, with: #""text": null"#), "data[0].paragraphs[0].qas[1].answers[0].text", "b", "found null"),
        (mutate(#"[{"text": "Ça va", "answer_start": 12}]"#, with: "{}"), "data[0].paragraphs[0].qas[1].answers", "b", "expected an array"),
        (mutate(#"[{"text": "Ça va", "answer_start": 12}]"#, with: "[]"), "data[0].paragraphs[0].qas[1].answers", "b", "no gold answers"),
        (mutate(#""answer_start": 12"#, with: #""answer_start": 19"#), "data[0].paragraphs[0].qas[1].answers[0].answer_start", "b", "outside the context (18 characters)"),
        (mutate(#""id": "c""#, with: #""id": "a""#), "data[1].paragraphs[0].qas[0]", "a", "duplicate question id (first at data[0].paragraphs[0].qas[0])"),
    ]

    @Test(arguments: badInputs.indices)
    func rejectsBadInputNamingFileAndPlace(case index: Int) {
        let (json, location, id, phrase) = Self.badInputs[index]
        do {
            let examples = try SquadReader.parse(Data(json.utf8), file: "bad.json")
            Issue.record("case \(index): accepted, read \(examples.count) questions")
        } catch let error as SquadDataError {
            #expect(error.file == "bad.json")
            #expect(error.location == location, "case \(index): \(error)")
            #expect(error.questionID == id, "case \(index): \(error)")
            #expect(error.detail.contains(phrase), "case \(index): \(error)")
            #expect("\(error)".hasPrefix("bad.json"))
        } catch {
            Issue.record("case \(index): unexpected error \(error)")
        }
    }

    @Test func missingFileIsNamed() {
        #expect(throws: SquadDataError(file: "/nonexistent/dev-v1.1.json", "no such file")) {
            try SquadReader.read(path: "/nonexistent/dev-v1.1.json")
        }
    }
}

// MARK: - Features and post-processing on a tiny vocabulary (no shared files)

/// ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then the words.
private let squadTokens = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "who", "won", "?", "denver", "the", "game", "in", "2016", ".", "broncos", "##s", "was", "played", "at", "santa", "clara",
]

private func squadTokenizer() throws -> BertTokenizer {
    try BertTokenizer(vocabulary: Vocabulary(tokens: squadTokens))
}

@Suite("SQuAD features and post-processing") struct SquadFeatureTests {
    /// HF's overflow semantics (tokenizers `Encoding::truncate`, checked in Python with
    /// `tokenizer(q, c, truncation="only_second", max_length=10, stride=2, return_overflowing_tokens=True)`
    /// for a 1-token question and contexts of 6, 10 and 11 tokens).
    @Test func windowsStepByWidthMinusStrideAndOverlapByStride() throws {
        let settings = SquadSettings(maxLength: 10, docStride: 2, maxQueryLength: nil)
        func windows(_ n: Int) throws -> [Range<Int>] {
            try SquadFeaturizer.contextWindows(contextTokens: n, questionTokens: 1, settings: settings)
        }
        #expect(try windows(0) == [0..<0])
        #expect(try windows(6) == [0..<6])
        #expect(try windows(7) == [0..<6, 4..<7])
        #expect(try windows(10) == [0..<6, 4..<10])
        #expect(try windows(11) == [0..<6, 4..<10, 8..<11])
        // run_qa's numbers: a 10-token question leaves 371 context tokens per window, step 243.
        let defaults = SquadSettings()
        #expect(try SquadFeaturizer.contextWindows(contextTokens: 700, questionTokens: 10, settings: defaults)
                == [0..<371, 243..<614, 486..<700])
    }

    @Test func aQuestionLeavingNoRoomBeyondTheStrideIsAnError() throws {
        let settings = SquadSettings(maxLength: 9, docStride: 2, maxQueryLength: nil)
        // Fits without truncation: no window needed, no error (HF neither).
        #expect(try SquadFeaturizer.contextWindows(contextTokens: 2, questionTokens: 4, settings: settings) == [0..<2])
        // Needs windows of 9 - 4 - 3 = 2 tokens with stride 2: HF panics ("stride must be strictly less than max_len").
        #expect(throws: SquadError.self) {
            try SquadFeaturizer.contextWindows(contextTokens: 11, questionTokens: 4, settings: settings, id: "q")
        }
        #expect(throws: SquadError.self) { try SquadSettings(maxLength: 100, docStride: 40, maxQueryLength: 64).validate() }
        #expect(throws: Never.self) { try SquadSettings().validate() }
    }

    @Test func featureLayoutTypesAndOffsets() throws {
        let tokenizer = try squadTokenizer()
        let context = "Denver won the game."
        let features = try SquadFeaturizer.features(question: "  \tWho won?", context: context, exampleIndex: 7,
                                                    tokenizer: tokenizer, settings: SquadSettings())
        #expect(features.count == 1)
        let f = try #require(features.first)
        #expect(f.exampleIndex == 7)
        #expect(f.ids == [2, 5, 6, 7, 3, 8, 6, 9, 10, 13, 3])
        #expect(f.typeIds == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(f.contextOffsets == [nil, nil, nil, nil, nil, 0..<6, 7..<10, 11..<14, 15..<19, 19..<20, nil])
    }

    @Test func questionsAreCutToMaxQueryLength() throws {
        let tokenizer = try squadTokenizer()
        let settings = SquadSettings(maxLength: 12, docStride: 1, maxQueryLength: 2)
        let features = try SquadFeaturizer.features(question: "who won the game?", context: "denver won the game in 2016.",
                                                    exampleIndex: 0, tokenizer: tokenizer, settings: settings)
        // [CLS] who won [SEP] + 7 context tokens per window (12 - 2 - 3) + [SEP]; 7 context tokens fit in one.
        #expect(features.map(\.ids) == [[2, 5, 6, 3, 8, 6, 9, 10, 11, 12, 13, 3]])
        let uncut = SquadSettings(maxLength: 12, docStride: 1, maxQueryLength: nil)
        let windows = try SquadFeaturizer.features(question: "who won the game?", context: "denver won the game in 2016.",
                                                   exampleIndex: 0, tokenizer: tokenizer, settings: uncut)
        // 5 question tokens leave 4 context tokens per window, step 3: [0, 4), [3, 7).
        #expect(windows.map { $0.ids.suffix(5) } == [[8, 6, 9, 10, 3], [10, 11, 12, 13, 3]])
        #expect(windows[1].contextOffsets.compactMap { $0 } == [15..<19, 20..<22, 23..<27, 27..<28])
    }

    @Test func leftStripUsesPythonWhitespace() {
        #expect(SquadFeaturizer.leftStripped(" \u{1C}\u{3000}Who? ") == "Who? ")
        #expect(SquadFeaturizer.leftStripped("\u{200B}Who") == "\u{200B}Who")  // zero-width space is not isspace()
        #expect(SquadFeaturizer.leftStripped("  ") == "")
    }

    /// `np.argsort(x, kind="stable")[-1:-n-1:-1]`.
    @Test func topIndicesAreArgsortReversed() {
        #expect(SquadPostprocessor.topIndices([0.5, 2, -1, 2, 3], count: 3) == [4, 3, 1])
        #expect(SquadPostprocessor.topIndices([1, 2], count: 20) == [1, 0])
        #expect(SquadPostprocessor.topIndices([], count: 20) == [])
        var rng = SplitMix64(seed: 3)
        let values = (0..<300).map { _ in Float(rng.next() % 50) }  // many ties
        let reference = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }.reversed().prefix(20)
        #expect(SquadPostprocessor.topIndices(values, count: 20) == Array(reference))
    }

    /// A feature with offsets only on context tokens 2...5 of 7.
    static let feature = SquadFeature(exampleIndex: 0, ids: [2, 5, 3, 8, 6, 9, 3], typeIds: [0, 0, 0, 1, 1, 1, 1],
                                      contextOffsets: [nil, nil, nil, 0..<6, 7..<10, 11..<14, nil])
    static let context = "Denver won the game."

    @Test func bestValidSpanSkipsNonContextTokensAndBackwardSpans() {
        // The largest logits sit on [CLS] and the question: they take top slots but cannot be used.
        let start: [Float] = [9, 8, 0, 1, 3, 0.5, 7]
        let end: [Float] = [9, 0, 8, 2, 0.1, 2.5, 7]
        let answer = SquadPostprocessor.bestAnswer(context: Self.context, features: [Self.feature], startLogits: [start],
                                                   endLogits: [end], settings: SquadSettings())
        // Candidates: start 4 ("won", 3) + end 5 ("the", 2.5) = 5.5 beats start 3 + end 5 = 3.5; end 3 < start 4 is skipped.
        #expect(answer.text == "won the")
        #expect(answer.span == 7..<14)
        #expect(answer.score == 5.5)
        #expect((answer.feature, answer.startToken, answer.endToken) == (0, 4, 5))
    }

    @Test func nBestAndMaxAnswerLengthLimitCandidates() {
        let start: [Float] = [0, 0, 0, 5, 4, 0, 0]
        let end: [Float] = [0, 0, 0, 0, 1, 6, 0]
        func best(_ settings: SquadSettings) -> String {
            SquadPostprocessor.bestAnswer(context: Self.context, features: [Self.feature], startLogits: [start],
                                          endLogits: [end], settings: settings).text
        }
        #expect(best(SquadSettings()) == "Denver won the")
        #expect(best(SquadSettings(maxAnswerLength: 2)) == "won the")
        // With one start and one end candidate (tokens 3 and 5) and spans of at most 2 tokens, nothing is valid.
        #expect(best(SquadSettings(nBest: 1, maxAnswerLength: 2)) == "empty")
    }

    @Test func equalScoresKeepTheFirstCandidateInRunQAsOrder() {
        // Feature 0 and feature 1 both reach score 3; the first feature's candidate is appended first.
        let other = SquadFeature(exampleIndex: 0, ids: [2, 5, 3, 9, 10, 13, 3], typeIds: [0, 0, 0, 1, 1, 1, 1],
                                 contextOffsets: [nil, nil, nil, 11..<14, 15..<19, 19..<20, nil])
        let answer = SquadPostprocessor.bestAnswer(
            context: Self.context, features: [Self.feature, other],
            startLogits: [[0, 0, 0, 2, 0, 0, 0], [0, 0, 0, 0, 2, 0, 0]],
            endLogits: [[0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0]], settings: SquadSettings())
        #expect(answer.text == "Denver")
        #expect(answer.feature == 0)
        // Within one feature: start 3 is tried before start 4 (higher logit first); both give 3.
        let within = SquadPostprocessor.bestAnswer(
            context: Self.context, features: [Self.feature], startLogits: [[0, 0, 0, 2, 1, 0, 0]],
            endLogits: [[0, 0, 0, 0, 2, 1, 0]], settings: SquadSettings())
        #expect(within.text == "Denver won")  // (3, 4) = 4 is best; sanity
        let tie = SquadPostprocessor.bestAnswer(
            context: Self.context, features: [Self.feature], startLogits: [[0, 0, 0, 2, 1, -9, -9]],
            endLogits: [[-9, -9, -9, -9, 2, 3, -9]], settings: SquadSettings())
        // (3, 5) = 5, (4, 5) = 4, (3, 4) = 4: the unique best wins. Now make (3, 4) and (4, 5) tie for best.
        #expect(tie.text == "Denver won the")
        let tie2 = SquadPostprocessor.bestAnswer(
            context: Self.context, features: [Self.feature], startLogits: [[-9, -9, -9, 2, 1, -9, -9]],
            endLogits: [[-9, -9, -9, -9, 3, 4, -99]], settings: SquadSettings(maxAnswerLength: 2))
        // Candidates in order: start 3 × (end 5 too long, end 4 → 5), start 4 × (end 5 → 5, end 4 → 4). First 5 wins.
        #expect((tie2.startToken, tie2.endToken) == (3, 4))
    }

    @Test func noFeatureWithAValidSpanGivesEmpty() {
        let onlyQuestion = SquadFeature(exampleIndex: 0, ids: [2, 5, 3, 3], typeIds: [0, 0, 0, 1], contextOffsets: [nil, nil, nil, nil])
        let answer = SquadPostprocessor.bestAnswer(context: "", features: [onlyQuestion], startLogits: [[1, 2, 3, 4]],
                                                   endLogits: [[1, 2, 3, 4]], settings: SquadSettings())
        #expect(answer == .empty)
        #expect(answer.text == "empty")
    }

    @Test func answersAreSlicedByUnicodeScalars() {
        // "😀" is one scalar (two UTF-16 units, four UTF-8 bytes); "e\u{301}" two scalars, one Character.
        let context = "😀 e\u{301}t\u{E9} fin"
        let f = SquadFeature(exampleIndex: 0, ids: [2, 3, 8, 9, 10, 3], typeIds: [0, 0, 1, 1, 1, 1],
                             contextOffsets: [nil, nil, 0..<1, 2..<6, 7..<10, nil])
        let answer = SquadPostprocessor.bestAnswer(context: context, features: [f], startLogits: [[0, 0, 0, 5, 0, 0]],
                                                   endLogits: [[0, 0, 0, 5, 0, 0]], settings: SquadSettings())
        #expect(Array(answer.text.unicodeScalars) == Array("e\u{301}t\u{E9}".unicodeScalars))
    }

    /// End to end on a tiny random QA model: the streaming batches give the same answers as running
    /// each question's features alone, whatever the batch size (windows straddle batches).
    @Test func evaluatorIsIndependentOfBatchSize() throws {
        let tokenizer = try squadTokenizer()
        let config = TinyCheckpoint.config(.bert, vocab: squadTokens.count, maxPositions: 32)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .questionAnswering))
        let settings = SquadSettings(maxLength: 16, docStride: 3, maxQueryLength: 4)
        let long = "Denver won the game in 2016. The game was played at Santa Clara. Broncos won the game."
        let examples = [
            SquadExample(id: "1", question: "who won?", context: long, answers: ["Denver"], answerStarts: [0]),
            SquadExample(id: "2", question: "who won the game in 2016?", context: long, answers: ["Broncos"], answerStarts: [66]),
            SquadExample(id: "3", question: "who?", context: "Denver.", answers: ["Denver"], answerStarts: [0]),
            SquadExample(id: "4", question: "where was the game played?", context: long, answers: ["Santa Clara"], answerStarts: [52]),
        ]
        let workspace = Workspace(threads: 2)
        var reference: [SquadAnswer] = []
        var featureCount = 0
        for (index, example) in examples.enumerated() {
            let features = try SquadFeaturizer.features(question: example.question, context: example.context, exampleIndex: index,
                                                        tokenizer: tokenizer, settings: settings)
            featureCount += features.count
            var starts: [[Float]] = [], ends: [[Float]] = []
            for feature in features {
                var batch = EncoderBatch()
                batch.append(ids: feature.ids, typeIds: feature.typeIds)
                let output = try model.forward(batch, workspace: workspace)
                starts += output.startLogits
                ends += output.endLogits
            }
            reference.append(SquadPostprocessor.bestAnswer(context: example.context, features: features, startLogits: starts,
                                                           endLogits: ends, settings: settings))
        }
        #expect(featureCount > examples.count + 3, "the long context should need several windows")
        for batchSize in [1, 2, 3, 5, 64] {
            var calls: [(Int, Int)] = []
            let evaluation = try SquadEvaluator.evaluate(examples: examples, model: model, tokenizer: tokenizer, batchSize: batchSize,
                                                         settings: settings, workspace: workspace) { calls.append(($0, $1)) }
            #expect(evaluation.examples == 4 && evaluation.features == featureCount)
            #expect(evaluation.predictions.map(\.id) == ["1", "2", "3", "4"])
            #expect(evaluation.predictions.map(\.answer) == reference, "batch size \(batchSize)")
            #expect(calls.last.map { $0 == (4, 4) } == true)
            let predictions = Dictionary(uniqueKeysWithValues: evaluation.predictions.map { ($0.id, $0.prediction) })
            #expect(evaluation.metrics == SquadMetrics.evaluate(predictions: predictions, examples: examples))
        }
    }

    @Test func evaluatorRejectsModelsWithoutASpanHead() throws {
        let tokenizer = try squadTokenizer()
        let config = TinyCheckpoint.config(.bert, vocab: squadTokens.count)
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .classifier(labels: 3)))
        #expect(throws: SquadError.notQuestionAnswering(head: "sequence-classification")) {
            try SquadEvaluator.evaluate(examples: [], model: model, tokenizer: tokenizer, batchSize: 8, workspace: Workspace())
        }
    }
}

// MARK: - Against transformers on SQuAD v1.1 dev (needs ../shared)

/// tools/make_squad_golden.py: run_qa.py's features and post-processing, the official metric.
@Suite("SQuAD against transformers") struct SquadGoldenTests {
    static let vocabFolder = "models/minilm-l6-sst2"
    static let devFile = "data/squad/v1.1/dev-v1.1.json"

    /// The golden's line for one feature: example index, ids, token types, offsets ('-' outside the context).
    static func line(_ f: SquadFeature) -> String {
        let offsets = f.contextOffsets.map { $0.map { "\($0.lowerBound):\($0.upperBound)" } ?? "-" }
        return "\(f.exampleIndex)\t\(f.ids.map(String.init).joined(separator: " "))\t"
            + "\(f.typeIds.map(String.init).joined(separator: " "))\t\(offsets.joined(separator: " "))"
    }

    @Test func defaultsAreTheGoldensSettings() throws {
        let settings = try #require(try Golden.load("squad_random_qa.json")["settings"] as? [String: Int])
        #expect(SquadSettings() == SquadSettings(maxLength: settings["max_length"] ?? 0, docStride: settings["doc_stride"] ?? 0,
                                                 maxQueryLength: settings["max_query_length"], nBest: settings["n_best_size"] ?? 0,
                                                 maxAnswerLength: settings["max_answer_length"] ?? 0))
    }

    /// Every dev question's windows (ids, token types, context offsets) equal HF's overflowing encodings.
    @Test(.needsShared("models/minilm-l6-sst2/vocab.txt", "data/squad/v1.1/dev-v1.1.json")) func everyDevFeatureMatchesRunQA() throws {
        let golden = try #require(try Golden.load("squad_random_qa.json")["dev_features"] as? [String: Any])
        let tokenizer = try BertTokenizer.load(directory: SharedData.path(Self.vocabFolder))
        let examples = try SquadReader.read(path: SharedData.path(Self.devFile).path)
        #expect(examples.count == golden["examples"] as? Int)
        var hasher = SHA256()
        var count = 0
        var windows: [Int: Int] = [:]
        var context: (text: String, tokens: (ids: [Int32], offsets: [Range<Int>]))?
        for (index, example) in examples.enumerated() {
            if context.map({ $0.text.unicodeScalars.elementsEqual(example.context.unicodeScalars) }) != true {
                context = (example.context, tokenizer.tokenize(example.context))
            }
            guard let tokens = context?.tokens else { continue }
            let question = tokenizer.tokenize(SquadFeaturizer.leftStripped(example.question)).ids
            let features = try SquadFeaturizer.features(question: question, context: tokens, exampleIndex: index,
                                                        tokenizer: tokenizer, settings: SquadSettings())
            windows[features.count, default: 0] += 1
            for feature in features {
                hasher.update(((count == 0 ? "" : "\n") + Self.line(feature)).utf8)
                count += 1
            }
        }
        print("SQuAD dev: \(examples.count) questions -> \(count) features; questions by window count \(windows.sorted { $0.key < $1.key })")
        #expect(count == golden["features"] as? Int)
        #expect(hasher.finalize() == golden["sha256"] as? String)
    }

    /// 50 dev questions (21 of them over several windows) through a random QA model with the real
    /// vocabulary: the same features and the same answer strings as transformers + run_qa.
    @Test(.needsShared("models/minilm-l6-sst2/vocab.txt", "data/squad/v1.1/dev-v1.1.json")) func randomModelChoosesTheSameSpansAsTransformers() throws {
        let golden = try Golden.load("squad_random_qa.json")
        let questions = golden["questions"] as? [[String: Any]] ?? []
        #expect(questions.count == 50)
        let tokenizer = try BertTokenizer.load(directory: SharedData.path(Self.vocabFolder))
        let byID = Dictionary(try SquadReader.read(path: SharedData.path(Self.devFile).path).map { ($0.id, $0) },
                              uniquingKeysWith: { first, _ in first })
        let examples = try questions.map { q in try #require(byID[q["id"] as? String ?? ""], "dev has no question \(q["id"] ?? "?")") }
        let model = try GoldenModelTests.randomCheckpoint(golden)

        var featureMismatches: [String] = []
        for (index, (example, q)) in zip(examples, questions).enumerated() {
            let features = try SquadFeaturizer.features(question: example.question, context: example.context, exampleIndex: index,
                                                        tokenizer: tokenizer, settings: SquadSettings())
            let hashes = features.map { SHA256.hex($0.ids.map(String.init).joined(separator: " ")) }
            if features.map(\.count) != (q["feature_lengths"] as? [Int]) || hashes != (q["feature_ids_sha256"] as? [String]) {
                featureMismatches.append("\(example.id): lengths \(features.map(\.count)) vs \(q["feature_lengths"] ?? "?")")
            }
        }
        #expect(featureMismatches.isEmpty, "\(featureMismatches)")

        let evaluation = try SquadEvaluator.evaluate(examples: examples, model: model, tokenizer: tokenizer, batchSize: 16,
                                                     workspace: Workspace(threads: 2))
        let expectedFeatures = questions.reduce(0) { $0 + ($1["features"] as? Int ?? 0) }
        #expect(evaluation.features == expectedFeatures)
        var matches = 0
        var worstScore: Float = 0
        for (prediction, q) in zip(evaluation.predictions, questions) {
            let expected = q["answer"] as? String ?? ""
            let same = prediction.prediction.unicodeScalars.elementsEqual(expected.unicodeScalars)
            let a = prediction.answer
            let where_ = (a.feature ?? -1, a.startToken ?? -1, a.endToken ?? -1)
            let expectedWhere = (q["feature"] as? Int ?? -2, q["start"] as? Int ?? -2, q["end"] as? Int ?? -2)
            let scoreDifference = abs(a.score - Float((q["score"] as? NSNumber)?.doubleValue ?? .nan))
            worstScore = max(worstScore, scoreDifference.isNaN ? .infinity : scoreDifference)
            if same && where_ == expectedWhere { matches += 1 }
            #expect(same, "\(prediction.id): \(prediction.prediction.debugDescription) vs transformers \(expected.debugDescription)")
            #expect(where_ == expectedWhere, "\(prediction.id): feature/start/end \(where_) vs \(expectedWhere)")
            #expect(scoreDifference < 1e-4, "\(prediction.id): score \(a.score) vs \(q["score"] ?? "?")")
        }
        print("SQuAD random-model golden: \(matches)/\(questions.count) answers identical to transformers over \(evaluation.features) features; max |score - transformers| = \(worstScore); EM \(evaluation.metrics["exact_match"] ?? .nan), F1 \(evaluation.metrics["f1"] ?? .nan)")
    }

    /// The file-reading entry point (what `frontier-agent eval` calls) gives the first `limit`
    /// questions of the file the same predictions as evaluating them from memory.
    @Test(.needsShared("models/minilm-l6-sst2/vocab.txt", "data/squad/v1.1/dev-v1.1.json")) func fileEntryPointReadsLimitsAndEvaluates() throws {
        let golden = try Golden.load("squad_random_qa.json")
        let tokenizer = try BertTokenizer.load(directory: SharedData.path(Self.vocabFolder))
        let checkpoint = Checkpoint(directory: SharedData.path(Self.vocabFolder), model: try GoldenModelTests.randomCheckpoint(golden),
                                    tokenizer: tokenizer)
        let dev = SharedData.path(Self.devFile)
        var reported: [(Int, Int)] = []
        let evaluation = try SquadEvaluator.evaluate(checkpoint: checkpoint, dataFile: dev, limit: 30, batchSize: 7,
                                                     workspace: Workspace(threads: 2)) { reported.append(($0, $1)) }
        let examples = Array(try SquadReader.read(path: dev.path).prefix(30))
        let direct = try SquadEvaluator.evaluate(examples: examples, model: checkpoint.model, tokenizer: tokenizer, batchSize: 30,
                                                 workspace: Workspace(threads: 2))
        #expect(evaluation.examples == 30 && evaluation.features == 30)
        #expect(evaluation.predictions == direct.predictions)
        #expect(evaluation.metrics == direct.metrics)
        #expect(reported.last.map { $0 == (30, 30) } == true && reported.count == 5)
    }

    /// The official script's numbers on synthetic predictions for all 10,570 questions, to the
    /// last bit, and the normalised form of every gold answer.
    @Test(.needsShared("data/squad/v1.1/dev-v1.1.json")) func officialMetricOnEveryDevQuestion() throws {
        let golden = try #require(try Golden.load("squad_random_qa.json")["metrics"] as? [String: Any])
        let examples = try SquadReader.read(path: SharedData.path(Self.devFile).path)
        func slice(_ text: String, _ from: Int, _ to: Int) -> String {
            let scalars = Array(text.unicodeScalars)
            let lower = min(max(from, 0), scalars.count), upper = min(max(to, lower), scalars.count)
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[lower..<upper])
            return String(view)
        }
        var predictions: [String: String] = [:]
        for (k, e) in examples.enumerated() {
            let text = e.answers.first ?? "", start = e.answerStarts.first ?? 0
            let end = start + text.unicodeScalars.count
            switch (k % 97 == 0, k % 4) {
            case (true, _): predictions[e.id] = ""
            case (false, 0): predictions[e.id] = text
            case (false, 1): predictions[e.id] = slice(e.context, max(0, start - 7), end + 7)
            case (false, 2): predictions[e.id] = slice(text, 0, text.unicodeScalars.count / 2)
            default: predictions[e.id] = slice(e.context, end, end + 20)
            }
        }
        let metrics = SquadMetrics.evaluate(predictions: predictions, examples: examples)
        print("official metric on synthetic dev predictions: \(metrics) (script: EM \(golden["exact_match"] ?? "?"), F1 \(golden["f1"] ?? "?"))")
        // Parsed from the repr strings: JSONSerialization on Linux can be an ulp off, Double(String) is exact.
        #expect(metrics["exact_match"] == (golden["exact_match_repr"] as? String).flatMap(Double.init))
        #expect(metrics["f1"] == (golden["f1_repr"] as? String).flatMap(Double.init))
        let normalized = examples.flatMap { $0.answers.map(SquadMetrics.normalize) }
        #expect(normalized.count == golden["gold_answers"] as? Int)
        #expect(SHA256.hex(normalized.joined(separator: "\n")) == golden["normalized_gold_answers_sha256"] as? String)
    }
}
