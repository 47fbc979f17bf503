import Foundation

/// The GLUE metrics with the definitions of scikit-learn and SciPy, which Hugging Face
/// `evaluate`'s `glue` metric calls; `tools/check_metrics.py` compares them on random cases.
///
/// Pure functions over equally long arrays (a length mismatch is a programming error and traps).
/// Where the reference libraries return NaN for an undefined value (correlation with a constant
/// side or fewer than two points, accuracy of nothing) these do too, so a degenerate run is
/// visible rather than reported as a plausible number; Matthews and F1 follow scikit-learn and
/// give 0 instead.
public enum TaskMetrics {
    /// Fraction of equal entries (`accuracy_score`). NaN for empty input.
    public static func accuracy(predictions: [Int], labels: [Int]) -> Double {
        precondition(predictions.count == labels.count, "accuracy: \(predictions.count) predictions for \(labels.count) labels")
        guard !labels.isEmpty else { return .nan }
        let correct = zip(predictions, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return Double(correct) / Double(labels.count)
    }

    /// F1 of the `positive` class (`f1_score`, binary average): 2·TP / (2·TP + FP + FN), which is
    /// the harmonic mean of precision and recall without dividing by zero when one of them is
    /// undefined. 0 when there is no positive in either array (scikit-learn's `zero_division`
    /// default). GLUE reports it for MRPC and QQP, whose positive class (equivalent / duplicate)
    /// is the minority one that accuracy alone hides.
    public static func f1(predictions: [Int], labels: [Int], positive: Int = 1) -> Double {
        precondition(predictions.count == labels.count, "f1: \(predictions.count) predictions for \(labels.count) labels")
        var truePositives = 0, falsePositives = 0, falseNegatives = 0
        for (predicted, gold) in zip(predictions, labels) {
            switch (predicted == positive, gold == positive) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): break
            }
        }
        let denominator = 2 * truePositives + falsePositives + falseNegatives
        return denominator == 0 ? 0 : Double(2 * truePositives) / Double(denominator)
    }

    /// Matthews correlation coefficient (`matthews_corrcoef`), in its multi-class form (Gorodkin's
    /// R_K, identical to the binary formula for two classes) so a prediction of a class outside
    /// the task's labels still counts: (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)), with s
    /// examples, c correct, t_k / p_k the true / predicted counts of class k. 0 when undefined
    /// (all predictions or all labels one class), as scikit-learn and GLUE's CoLA scoring do.
    public static func matthewsCorrelation(predictions: [Int], labels: [Int]) -> Double {
        precondition(predictions.count == labels.count, "matthews: \(predictions.count) predictions for \(labels.count) labels")
        var truth: [Int: Double] = [:], predicted: [Int: Double] = [:]
        var correct = 0.0
        for (p, t) in zip(predictions, labels) {
            truth[t, default: 0] += 1
            predicted[p, default: 0] += 1
            if p == t { correct += 1 }
        }
        let s = Double(labels.count)
        // Counts are integers below 2^26 in practice, so these sums of products are exact in Double.
        let crossed = truth.reduce(0.0) { $0 + $1.value * (predicted[$1.key] ?? 0) }
        let covariance = correct * s - crossed
        let predictedSpread = s * s - predicted.values.reduce(0) { $0 + $1 * $1 }
        let trueSpread = s * s - truth.values.reduce(0) { $0 + $1 * $1 }
        guard predictedSpread * trueSpread != 0 else { return 0 }
        return covariance / (predictedSpread * trueSpread).squareRoot()
    }

    /// Pearson's r (`scipy.stats.pearsonr`). NaN with fewer than two points or when either side
    /// is constant, as SciPy returns. Centred two-pass sums in Double, clamped to [-1, 1] like
    /// SciPy, so rounding never yields |r| > 1.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "pearson: \(x.count) values against \(y.count)")
        guard x.count >= 2, let x0 = x.first, let y0 = y.first,
              !x.allSatisfy({ $0 == x0 }), !y.allSatisfy({ $0 == y0 }) else { return .nan }
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n, meanY = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            let dx = a - meanX, dy = b - meanY
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
        }
        let r = sxy / (sxx * syy).squareRoot()
        return min(1, max(-1, r))
    }

    /// Spearman's ρ (`scipy.stats.spearmanr`): Pearson's r of the ranks, tied values sharing
    /// their average rank. NaN when Pearson's r of the ranks is undefined.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "spearman: \(x.count) values against \(y.count)")
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// 1-based ranks with ties given the mean of the ranks they span (`scipy.stats.rankdata`,
    /// method "average"): [10, 20, 20, 30] → [1, 2.5, 2.5, 4]. NaN inputs are a caller error
    /// (predictions are checked finite before scoring); they would rank arbitrarily.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
            // Positions start..<end (0-based) hold ranks start+1 ... end; their mean:
            let rank = Double(start + 1 + end) / 2
            for position in start..<end { ranks[order[position]] = rank }
            start = end
        }
        return ranks
    }
}
