import Foundation
import FrontierTasks

/// Which of a task's metrics a sweep ranks configurations by.
public enum HeadlineMetric {
    /// The metric a task is ranked by: GLUE's first official metric (MNLI: matched accuracy),
    /// SQuAD's F1.
    public static func name(task: String, metrics: [String: Double]) -> String? {
        if let glue = GlueTask(name: task) {
            return glue.metricKeys.first { metrics[$0] != nil }
        }
        if metrics["f1"] != nil { return "f1" }
        return metrics.keys.sorted().first
    }
}
