/// The official SQuAD v1.1 metric (`evaluate-v1.1.py`, also Hugging Face `evaluate`'s "squad"):
/// exact match and token F1 after `normalize_answer`, the max over a question's gold answers,
/// averaged over all questions and reported on the script's 0–100 scale.
///
/// Ported for identical numbers, not just similar ones: normalisation works on Unicode scalars with
/// Python's `str.lower`, `string.punctuation`, `re`'s `\b` and `str.split` (see `PythonText`);
/// strings are compared scalar by scalar (Python `==`), not by Swift's canonical equivalence; sums
/// run in the script's order, so results agree to the last bit.
public enum SquadMetrics {
    /// `normalize_answer`: lowercase, remove ASCII punctuation (`string.punctuation`), replace the
    /// whole words "a", "an", "the" by a space, then collapse whitespace runs to single spaces and
    /// trim — in that order (so "the-end" → "theend", not "end").
    public static func normalize(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: normalizedTokens(text).joined(separator: [" "]))
        return String(view)
    }

    /// `exact_match_score`: 1 when the normalised texts are equal code point for code point, else 0.
    public static func exactMatch(prediction: String, gold: String) -> Double {
        normalizedTokens(prediction) == normalizedTokens(gold) ? 1 : 0
    }

    /// `f1_score`: harmonic mean of token precision and recall, tokens counted as multisets. No
    /// common token gives 0 — also when both sides normalise to nothing, where exact match is 1.
    public static func f1(prediction: String, gold: String) -> Double {
        f1(normalizedTokens(prediction), normalizedTokens(gold))
    }

    /// Max of `exactMatch` over the gold answers (0 without any).
    public static func exactMatch(prediction: String, golds: [String]) -> Double {
        let p = normalizedTokens(prediction)
        return golds.map { p == normalizedTokens($0) ? 1.0 : 0.0 }.max() ?? 0
    }

    /// Max of `f1` over the gold answers (0 without any).
    public static func f1(prediction: String, golds: [String]) -> Double {
        let p = normalizedTokens(prediction)
        return golds.map { f1(p, normalizedTokens($0)) }.max() ?? 0
    }

    /// The script's `evaluate`: `["exact_match": …, "f1": …]`, each 100 × mean over `examples` (in
    /// their order); a question without a prediction scores 0 and still counts, as in the script.
    public static func evaluate(predictions: [String: String], examples: [SquadExample]) -> [String: Double] {
        guard !examples.isEmpty else { return ["exact_match": 0, "f1": 0] }
        var exact = 0.0, f1Sum = 0.0
        for example in examples {
            guard let prediction = predictions[example.id] else { continue }
            exact += exactMatch(prediction: prediction, golds: example.answers)
            f1Sum += f1(prediction: prediction, golds: example.answers)
        }
        let total = Double(examples.count)
        return ["exact_match": 100.0 * exact / total, "f1": 100.0 * f1Sum / total]
    }

    // MARK: - Internals

    /// `normalize_answer(text).split()`: the normalised text as tokens of Unicode scalars.
    static func normalizedTokens(_ text: String) -> [[Unicode.Scalar]] {
        let lowered = PythonText.lower(Array(text.unicodeScalars))
        let unpunctuated = lowered.filter { !isPunctuation($0) }
        // remove_articles: `re.sub(r'\b(a|an|the)\b', ' ', text)`. "a", "an" and "the" are word
        // characters only, so a match is exactly a maximal run of word characters equal to one of them.
        var withoutArticles: [Unicode.Scalar] = []
        withoutArticles.reserveCapacity(unpunctuated.count)
        var i = 0
        while i < unpunctuated.count {
            guard PythonText.isWordCharacter(unpunctuated[i]) else {
                withoutArticles.append(unpunctuated[i])
                i += 1
                continue
            }
            var end = i + 1
            while end < unpunctuated.count, PythonText.isWordCharacter(unpunctuated[end]) { end += 1 }
            let word = unpunctuated[i..<end]
            if word.elementsEqual(["a"]) || word.elementsEqual(["a", "n"]) || word.elementsEqual(["t", "h", "e"]) {
                withoutArticles.append(" ")
            } else {
                withoutArticles += word
            }
            i = end
        }
        // white_space_fix + split: runs of `str.isspace()` characters separate tokens.
        return withoutArticles.split(whereSeparator: PythonText.isSpace).map(Array.init)
    }

    /// `string.punctuation`: the 32 ASCII punctuation characters; other Unicode punctuation stays.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        default: return false
        }
    }

    /// `Counter(p) & Counter(g)`, then precision / recall / F1 with the script's operation order.
    static func f1(_ prediction: [[Unicode.Scalar]], _ gold: [[Unicode.Scalar]]) -> Double {
        var counts: [[UInt32]: Int] = [:]  // keyed by code points: Python's Counter compares str by code points
        for token in gold { counts[token.map(\.value), default: 0] += 1 }
        var same = 0
        for token in prediction {
            let key = token.map(\.value)
            if let n = counts[key], n > 0 {
                counts[key] = n - 1
                same += 1
            }
        }
        guard same > 0 else { return 0 }
        let precision = 1.0 * Double(same) / Double(prediction.count)
        let recall = 1.0 * Double(same) / Double(gold.count)
        return (2 * precision * recall) / (precision + recall)
    }
}
