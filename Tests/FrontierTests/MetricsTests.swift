import Foundation
import Testing
@testable import FrontierTasks


/// The GLUE metrics on cases small enough to compute by hand, and against scikit-learn / SciPy
/// on the random cases tools/check_metrics.py wrote (Fixtures/metrics/cases.json).
@Suite struct MetricsTests {
    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-15 }

    @Test func accuracy() {
        #expect(TaskMetrics.accuracy(predictions: [1, 0, 1, 1], labels: [1, 1, 1, 0]) == 0.5)
        #expect(TaskMetrics.accuracy(predictions: [2], labels: [2]) == 1)
        #expect(TaskMetrics.accuracy(predictions: [], labels: []).isNaN)
    }

    @Test func f1OfThePositiveClass() {
        // TP 2 (positions 0, 4), FP 1 (1), FN 1 (3): precision = recall = 2/3, F1 = 4/6.
        #expect(TaskMetrics.f1(predictions: [1, 1, 0, 0, 1], labels: [1, 0, 0, 1, 1]) == 4.0 / 6.0)
        #expect(TaskMetrics.f1(predictions: [1, 1], labels: [1, 1]) == 1)
        // No positive anywhere: undefined precision and recall, 0 as in scikit-learn.
        #expect(TaskMetrics.f1(predictions: [0, 0, 0], labels: [0, 0, 0]) == 0)
        // Positives only in the gold: recall 0, F1 0. Only predicted: precision 0, F1 0.
        #expect(TaskMetrics.f1(predictions: [0, 0], labels: [1, 0]) == 0)
        #expect(TaskMetrics.f1(predictions: [1, 1], labels: [0, 0]) == 0)
        // Another positive class (QQP-style 0 positive would be unusual, but the parameter works).
        #expect(TaskMetrics.f1(predictions: [0, 1, 0], labels: [0, 0, 0], positive: 0) == 0.8)
    }

    @Test func matthewsCorrelation() {
        // TP 2, TN 1, FP 1, FN 1: (2·1 − 1·1) / √(3·3·2·2) = 1/6.
        #expect(abs(TaskMetrics.matthewsCorrelation(predictions: [1, 1, 0, 0, 1], labels: [1, 0, 0, 1, 1]) - 1.0 / 6.0) < 1e-15)
        #expect(Self.close(TaskMetrics.matthewsCorrelation(predictions: [0, 1, 1, 0], labels: [0, 1, 1, 0]), 1))
        #expect(Self.close(TaskMetrics.matthewsCorrelation(predictions: [1, 0, 0, 1], labels: [0, 1, 1, 0]), -1))
        // Constant predictions or constant labels: undefined, 0 (scikit-learn, GLUE's CoLA scoring).
        #expect(TaskMetrics.matthewsCorrelation(predictions: [1, 1, 1, 1], labels: [0, 1, 1, 0]) == 0)
        #expect(TaskMetrics.matthewsCorrelation(predictions: [0, 1, 1, 0], labels: [1, 1, 1, 1]) == 0)
        #expect(TaskMetrics.matthewsCorrelation(predictions: [1], labels: [1]) == 0)
        // Multi-class form (scikit-learn's documented example value).
        #expect(abs(TaskMetrics.matthewsCorrelation(predictions: [0, 2, 1, 0], labels: [0, 1, 2, 0]) - 0.2) < 1e-15)
    }

    @Test func pearson() {
        #expect(Self.close(TaskMetrics.pearson([1, 2, 3], [2, 4, 6]), 1))
        #expect(Self.close(TaskMetrics.pearson([1, 2, 3], [3, 2, 1]), -1))
        // Centred: dx = dy' = (-1.5, -0.5, 0.5, 1.5) vs (-1.5, 0.5, -0.5, 1.5): 4 / √(5·5) = 0.8.
        #expect(abs(TaskMetrics.pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-15)
        #expect(TaskMetrics.pearson([1, 2, 3], [2, 2, 2]).isNaN)
        #expect(TaskMetrics.pearson([1], [2]).isNaN)
        #expect(Self.close(TaskMetrics.pearson([1, 2], [5, 1]), -1))
    }

    @Test func spearmanUsesAverageRanksForTies() {
        #expect(TaskMetrics.averageRanks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
        #expect(TaskMetrics.averageRanks([3, 3, 3]) == [2, 2, 2])
        #expect(TaskMetrics.averageRanks([0.5, -1, 7, 0.5, -1]) == [3.5, 1.5, 5, 3.5, 1.5])
        // Ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4): 4.5 / √(4.5·5) = 0.9486832980505138 (SciPy).
        #expect(abs(TaskMetrics.spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505139) < 1e-15)
        // Monotone but not linear: ρ = 1 where r < 1.
        #expect(Self.close(TaskMetrics.spearman([1, 2, 3, 4], [1, 4, 9, 100]), 1))
        #expect(TaskMetrics.pearson([1, 2, 3, 4], [1, 4, 9, 100]) < 1)
        #expect(Self.close(TaskMetrics.spearman([4, 3, 2, 1], [1, 2, 3, 4]), -1))
        #expect(TaskMetrics.spearman([1, 1, 1], [1, 2, 3]).isNaN)
    }

    /// Every case of Fixtures/metrics/cases.json against the scikit-learn / SciPy value stored
    /// with it (null = NaN there); prints the largest difference per metric.
    @Test func matchesScikitLearnAndSciPy() throws {
        let data = try Data(contentsOf: GlueFixtures.folder.appendingPathComponent("metrics/cases.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let classification = try #require(root["classification"] as? [[String: Any]])
        let regression = try #require(root["regression"] as? [[String: Any]])
        #expect(classification.count >= 40 && regression.count >= 30)

        func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }
        func doubles(_ value: Any?) -> [Double] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue } }
        var worst: [String: Double] = [:]
        func compare(_ name: String, _ ours: Double, _ expected: Any?, case index: Int) {
            let reference = (expected as? NSNumber)?.doubleValue ?? .nan
            if reference.isNaN || ours.isNaN {
                #expect(reference.isNaN && ours.isNaN, "\(name) case \(index): ours \(ours), reference \(reference)")
                return
            }
            let difference = abs(ours - reference)
            worst[name] = max(worst[name] ?? 0, difference)
            #expect(difference < 1e-12, "\(name) case \(index): ours \(ours), reference \(reference)")
        }
        for (index, item) in classification.enumerated() {
            let predictions = ints(item["predictions"]), labels = ints(item["labels"])
            #expect(predictions.count == labels.count && !labels.isEmpty)
            compare("accuracy", TaskMetrics.accuracy(predictions: predictions, labels: labels), item["accuracy"], case: index)
            compare("f1", TaskMetrics.f1(predictions: predictions, labels: labels), item["f1"], case: index)
            compare("matthews_correlation", TaskMetrics.matthewsCorrelation(predictions: predictions, labels: labels),
                    item["matthews_correlation"], case: index)
        }
        for (index, item) in regression.enumerated() {
            let predictions = doubles(item["predictions"]), scores = doubles(item["scores"])
            #expect(predictions.count == scores.count && scores.count >= 2)
            compare("pearson", TaskMetrics.pearson(predictions, scores), item["pearson"], case: index)
            compare("spearmanr", TaskMetrics.spearman(predictions, scores), item["spearmanr"], case: index)
        }
        print("metrics vs scikit-learn/SciPy over \(classification.count) + \(regression.count) cases: "
              + worst.sorted { $0.key < $1.key }.map { "max |\($0.key) diff| = \($0.value)" }.joined(separator: ", "))
        #expect(worst.count == 5)
    }
}
