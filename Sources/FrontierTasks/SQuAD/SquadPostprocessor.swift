/// The answer chosen for one question.
public struct SquadAnswer: Sendable, Equatable {
    /// The answer: a slice of the original context, or "empty" when no span was valid (what
    /// run_qa writes then, and what the metric then scores).
    public var text: String
    /// `context` range of the answer in Unicode scalars; nil for the "empty" fallback.
    public var span: Range<Int>?
    /// start logit + end logit (Float, as NumPy adds the float32 logits); 0 for "empty".
    public var score: Float
    /// Which of the question's features (0-based) and which token indices in it; nil for "empty".
    public var feature: Int?
    public var startToken: Int?
    public var endToken: Int?

    public init(text: String, span: Range<Int>?, score: Float, feature: Int?, startToken: Int?, endToken: Int?) {
        self.text = text
        self.span = span
        self.score = score
        self.feature = feature
        self.startToken = startToken
        self.endToken = endToken
    }

    /// run_qa's answer when no feature has a valid span.
    public static let empty = SquadAnswer(text: "empty", span: nil, score: 0, feature: nil, startToken: nil, endToken: nil)
}

/// run_qa's `postprocess_qa_predictions` for SQuAD v1 (no null answer), for one question over all
/// of its features.
///
/// Per feature, the `nBest` highest start logits and the `nBest` highest end logits (over every
/// token, [CLS] and question included — they take slots even though they cannot be used) are
/// paired; a pair counts when both tokens are in the context, end ≥ start and it spans at most
/// `maxAnswerLength` tokens; its score is start + end logit. The answer is the best-scoring pair
/// over all features, sliced from the original context by the tokens' character offsets.
///
/// Ties follow the Python code: candidates are appended feature by feature, start index by start
/// index, end index by end index (each in descending-logit order), and `sorted(…, reverse=True)` is
/// stable, so among equal scores the first appended wins — here a strictly greater score is needed
/// to replace the current best. Within one feature, NumPy's default `argsort` (quicksort, not
/// stable) leaves the order of equal logits unspecified; this orders them as
/// `np.argsort(x, kind="stable")[::-1]` does (higher index first). Real logits practically never
/// tie; tools/make_squad_golden.py checks that none do within a top-20 on its golden.
public enum SquadPostprocessor {
    /// - Parameters:
    ///   - context: the question's original context, whose Unicode-scalar offsets the features hold.
    ///   - startLogits, endLogits: one array per feature, one logit per token of that feature.
    public static func bestAnswer(context: String, features: [SquadFeature], startLogits: [[Float]], endLogits: [[Float]],
                                  settings: SquadSettings) -> SquadAnswer {
        var best: (score: Float, feature: Int, start: Int, end: Int, span: Range<Int>)?
        for (f, feature) in features.enumerated() where f < startLogits.count && f < endLogits.count {
            let starts = topIndices(startLogits[f], count: settings.nBest)
            let ends = topIndices(endLogits[f], count: settings.nBest)
            let offsets = feature.contextOffsets
            for s in starts {
                guard s < offsets.count, let startSpan = offsets[s] else { continue }
                for e in ends {
                    guard e < offsets.count, let endSpan = offsets[e] else { continue }
                    guard e >= s, e - s + 1 <= settings.maxAnswerLength else { continue }
                    let score = startLogits[f][s] + endLogits[f][e]
                    if let current = best, !(score > current.score) { continue }
                    best = (score, f, s, e, startSpan.lowerBound..<max(startSpan.lowerBound, endSpan.upperBound))
                }
            }
        }
        guard let best else { return .empty }
        let text = slice(context, best.span)
        // run_qa also falls back to "empty" when the single remaining candidate has empty text;
        // context tokens always cover at least one character, so a real span is never empty.
        return SquadAnswer(text: text, span: best.span, score: best.score, feature: best.feature,
                           startToken: best.start, endToken: best.end)
    }

    /// Indices of the `count` largest values, largest first; equal values by decreasing index —
    /// `np.argsort(x, kind="stable")[-1:-count-1:-1]`. NaN ranks above everything, as NumPy sorts it last.
    public static func topIndices(_ values: [Float], count: Int) -> [Int] {
        let n = min(count, values.count)
        guard n > 0 else { return [] }
        func before(_ a: Int, _ b: Int) -> Bool {  // a ranks higher than b
            let x = values[a], y = values[b]
            if x.isNaN != y.isNaN { return x.isNaN }
            return x > y || (!(x < y) && a > b)
        }
        // Partial selection: keep the best n in a small sorted array (n is 20, features ≤ 512 tokens).
        var top: [Int] = []
        top.reserveCapacity(n + 1)
        for index in values.indices {
            if top.count == n, let last = top.last, !before(index, last) { continue }
            var position = top.count
            while position > 0, before(index, top[position - 1]) { position -= 1 }
            top.insert(index, at: position)
            if top.count > n { top.removeLast() }
        }
        return top
    }

    /// `context[range]` in Unicode scalars, like Python's `context[start:end]` (clamped, never trapping).
    static func slice(_ context: String, _ range: Range<Int>) -> String {
        let scalars = context.unicodeScalars
        let count = scalars.count
        let lower = min(max(range.lowerBound, 0), count), upper = min(max(range.upperBound, lower), count)
        let from = scalars.index(scalars.startIndex, offsetBy: lower)
        let to = scalars.index(from, offsetBy: upper - lower)
        return String(scalars[from..<to])
    }
}
