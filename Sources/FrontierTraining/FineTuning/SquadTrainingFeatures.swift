import Foundation
import FrontierEngine
import FrontierTasks

/// SQuAD training features as transformers' run_qa `prepare_train_features` makes them: each
/// question's context cut into windows of `maxLength` tokens overlapping by `docStride`
/// (`SquadFeaturizer`, the same windows evaluation uses, with run_qa's unlimited question
/// length), and each window labelled with the token positions of the first gold answer — or
/// with position 0, the [CLS] token, when the window does not hold the whole answer.
public enum SquadTrainingFeatures {
    /// The train file under a SQuAD data folder, beside `dev-v1.1.json`.
    public static let trainFile = "train-v1.1.json"

    /// run_qa's featurisation settings for a maximum length and stride: no question limit
    /// (BERT's `run_squad.py` had 64; run_qa has none).
    public static func settings(maxLength: Int, docStride: Int) -> SquadSettings {
        SquadSettings(maxLength: maxLength, docStride: docStride, maxQueryLength: nil)
    }

    /// Reads `file`, keeps the first `limit` questions and featurises them.
    public static func load(file: URL, limit: Int?, tokenizer: BertTokenizer, settings: SquadSettings) throws -> TrainingSet {
        let all = try SquadReader.read(path: file.path)
        let examples = limit.map { Array(all.prefix($0)) } ?? all
        var sequences: [TrainingSequence] = []
        var split = 0, outside = 0
        var cached: (text: String, tokens: (ids: [Int32], offsets: [Range<Int>]))?
        for (index, example) in examples.enumerated() {
            // Consecutive questions usually share their paragraph: tokenise it once.
            let context: (ids: [Int32], offsets: [Range<Int>])
            if let cached, cached.text.unicodeScalars.elementsEqual(example.context.unicodeScalars) {
                context = cached.tokens
            } else {
                context = tokenizer.tokenize(example.context)
                cached = (example.context, context)
            }
            let windows = try self.sequences(example, index: index, context: context, tokenizer: tokenizer, settings: settings)
            if windows.count > 1 { split += 1 }
            outside += windows.filter { $0.target == .span(start: 0, end: 0) }.count
            sequences += windows
        }
        return TrainingSet(sequences: sequences, file: file.path, examples: examples.count, availableExamples: all.count,
                           truncated: split, windowsWithoutAnswer: outside)
    }

    /// The training windows of one question, in order.
    public static func sequences(_ example: SquadExample, index: Int, context: (ids: [Int32], offsets: [Range<Int>]),
                                 tokenizer: BertTokenizer, settings: SquadSettings) throws -> [TrainingSequence] {
        let question = tokenizer.tokenize(SquadFeaturizer.leftStripped(example.question)).ids
        let features = try SquadFeaturizer.features(question: question, context: context, exampleIndex: index,
                                                    tokenizer: tokenizer, settings: settings, id: example.id)
        guard let start = example.answerStarts.first, let text = example.answers.first else {
            throw TrainingError.invalidBatch("SQuAD question \(example.id) has no answer to train on")
        }
        let end = start + text.unicodeScalars.count
        return features.map { feature in
            let (first, last) = answerPositions(feature.contextOffsets, answerStart: start, answerEnd: end)
            return TrainingSequence(ids: feature.ids, typeIds: feature.typeIds, target: .span(start: first, end: last), example: index)
        }
    }

    /// The answer's first and last token in a window, from the tokens' character spans
    /// (`nil` outside the context window), exactly as `prepare_train_features` walks
    /// `offset_mapping`: (0, 0), the [CLS] token, unless the window's context covers the
    /// characters `answerStart..<answerEnd` (Unicode-scalar indices, Python `str` indices).
    ///
    /// Tokens outside the context count as HF's special-token offsets `(0, 0)`. That keeps one
    /// quirk of the original: an answer that starts in the window's last context token walks
    /// on past the final [SEP] (whose start, 0, is ≤ the answer's) and gets that [SEP]'s index
    /// as its start, as run_qa labels it.
    public static func answerPositions(_ offsets: [Range<Int>?], answerStart: Int, answerEnd: Int) -> (start: Int, end: Int) {
        guard let first = offsets.firstIndex(where: { $0 != nil }), let last = offsets.lastIndex(where: { $0 != nil }) else {
            return (0, 0)
        }
        func lower(_ i: Int) -> Int { offsets[i]?.lowerBound ?? 0 }
        func upper(_ i: Int) -> Int { offsets[i]?.upperBound ?? 0 }
        guard lower(first) <= answerStart, upper(last) >= answerEnd else { return (0, 0) }
        var start = first
        while start < offsets.count, lower(start) <= answerStart { start += 1 }
        var end = last
        while end >= 0, upper(end) >= answerEnd { end -= 1 }
        return (start - 1, end + 1)
    }
}
