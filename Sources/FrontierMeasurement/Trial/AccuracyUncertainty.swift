import Foundation
import FrontierAnalysis
import FrontierTasks

/// Intervals around a trial's task metrics and the task's chance level, from the accuracy
/// pass's per-example predictions. Accuracy gets the Wilson interval over the dev set's size;
/// the other metrics (F1, Matthews, correlations, SQuAD's EM/F1) a bootstrap over examples,
/// since none of them is a simple proportion.
enum AccuracyUncertainty {
    /// GLUE: every metric key of `metrics`, split by split.
    static func glue(task: GlueTask, predictions: [GluePrediction], metrics: [String: Double]) -> (intervals: [String: ConfidenceInterval], chance: ChanceLevel?) {
        var intervals: [String: ConfidenceInterval] = [:]
        var chanceMetrics: [String: Double] = [:]
        var predictors: [String] = []
        let splits = Dictionary(grouping: predictions, by: \.split)
        for (split, rows) in splits.sorted(by: { $0.key < $1.key }) {
            if task.isRegression {
                let predicted = rows.map { Double($0.prediction) ?? .nan }, gold = rows.map { Double($0.gold) ?? .nan }
                for name in task.metricNames {
                    let key = task.metricKey(name, split: split)
                    guard metrics[key] != nil else { continue }
                    let spearman = name == "spearmanr"
                    intervals[key] = MeasurementBootstrap.statistic(count: rows.count) { (idx: [Int]) -> Double in
                        let x = idx.map { predicted[$0] }, y = idx.map { gold[$0] }
                        return spearman ? TaskMetrics.spearman(x, y) : TaskMetrics.pearson(x, y)
                    }
                    // A constant has no correlation with anything.
                    chanceMetrics[key] = 0
                }
                predictors.append("a constant score")
                continue
            }
            let index = Dictionary(task.labels.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let predicted = rows.map { index[$0.prediction] ?? -1 }, gold = rows.map { index[$0.gold] ?? -1 }
            let counts = Dictionary(grouping: gold, by: { $0 }).mapValues(\.count)
            let majority = counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }
            for name in task.metricNames {
                let key = task.metricKey(name, split: split)
                guard metrics[key] != nil else { continue }
                switch name {
                case "accuracy":
                    let correct = zip(predicted, gold).filter { $0 == $1 }.count
                    intervals[key] = ConfidenceInterval.wilson(successes: correct, trials: rows.count)
                case "f1":
                    intervals[key] = MeasurementBootstrap.statistic(count: rows.count) { idx in
                        TaskMetrics.f1(predictions: idx.map { predicted[$0] }, labels: idx.map { gold[$0] }, positive: 1)
                    }
                case "matthews_correlation":
                    intervals[key] = MeasurementBootstrap.statistic(count: rows.count) { idx in
                        TaskMetrics.matthewsCorrelation(predictions: idx.map { predicted[$0] }, labels: idx.map { gold[$0] })
                    }
                default: break
                }
                if let majority {
                    let constant = [Int](repeating: majority.key, count: gold.count)
                    let value: Double? = switch name {
                    case "accuracy": TaskMetrics.accuracy(predictions: constant, labels: gold)
                    case "f1": TaskMetrics.f1(predictions: constant, labels: gold, positive: 1)
                    case "matthews_correlation": 0  // a constant prediction has no correlation
                    default: nil
                    }
                    if let value { chanceMetrics[key] = value.isFinite ? value : 0 }
                }
            }
            if let majority {
                let name = task.labels.indices.contains(majority.key) ? task.labels[majority.key] : "\(majority.key)"
                predictors.append(String(format: "majority class '%@' (%.1f %% of %d%@)", name,
                                         100 * Double(majority.value) / Double(max(1, rows.count)), rows.count,
                                         splits.count > 1 ? " in \(split)" : ""))
            }
        }
        let chance = chanceMetrics.isEmpty ? nil : ChanceLevel(predictor: predictors.joined(separator: "; "), metrics: chanceMetrics)
        return (intervals, chance)
    }

    /// SQuAD: bootstrap of the mean per-question exact match and F1 (0–100 scale).
    static func squad(predictions: [SquadPrediction]) -> [String: ConfidenceInterval] {
        let em = predictions.map { SquadMetrics.exactMatch(prediction: $0.prediction, golds: $0.golds) * 100 }
        let f1 = predictions.map { SquadMetrics.f1(prediction: $0.prediction, golds: $0.golds) * 100 }
        func mean(_ values: [Double]) -> ([Int]) -> Double { { idx in idx.reduce(0) { $0 + values[$1] } / Double(idx.count) } }
        var out: [String: ConfidenceInterval] = [:]
        out["exact_match"] = MeasurementBootstrap.statistic(count: em.count, mean(em))
        out["f1"] = MeasurementBootstrap.statistic(count: f1.count, mean(f1))
        return out
    }
}
