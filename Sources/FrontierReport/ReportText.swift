import Foundation
import FrontierAnalysis

/// A plain-text digest of the analysis for a terminal (`frontier status`-style). Pure.
public enum ReportText {
    public static func status(_ analysis: FrontierAnalysis, gridName: String? = nil) -> String {
        let c = analysis.counts
        var lines: [String] = []
        lines.append("\(gridName.map { "grid \($0): " } ?? "")\(c.total) trials — \(c.accepted) accepted, \(c.failed) failed, \(c.running) running, \(c.pending) pending")
        for s in analysis.summaries {
            lines.append("")
            lines.append("\(s.group.description): \(s.configurations) configurations\(s.failedTrials > 0 ? ", \(s.failedTrials) failed trial\(s.failedTrials == 1 ? "" : "s")" : "")")
            if let b = s.baseline {
                lines.append("  baseline          \(s.metricName ?? "metric") \(ReportFormat.points(b.metric)) pt, \(joules(b.joulesPerExample, b, per: "example")), \(joules(b.joulesPerCorrect, b, per: "correct")), p50 \(ReportFormat.number(b.latencyP50Ms)) ms")
            }
            for w in s.within {
                let n = ReportFormat.tick(w.points)
                if let m = w.minEnergy {
                    lines.append("  ≤\(n) pt energy     \(m.technique): \(joules(m.joulesPerExample, m)) (\(ReportFormat.ratio(w.energyRatio))), \(ReportFormat.points(m.metric)) pt")
                }
                if let m = w.minLatency {
                    lines.append("  ≤\(n) pt latency    \(m.technique): \(ReportFormat.number(m.latencyP50Ms)) ms (\(ReportFormat.ratio(w.latencyRatio))), \(ReportFormat.points(m.metric)) pt")
                }
            }
            if let k = s.knee {
                lines.append("  knee              \(k.config.technique): \(joules(k.config.joulesPerExample, k.config)), \(ReportFormat.points(k.config.metric)) pt")
            }
            for d in s.diminishingReturns {
                lines.append("  diminishing       \(ReportFormat.number(d.fromJoules)) → \(ReportFormat.number(d.toJoules)) J: \(ReportFormat.number(d.pointsPerDoubling, digits: 2)) pt per doubling")
            }
            for note in s.notes { lines.append("  note: \(note)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "0.0583 J (estimated)", or with `per` "0.0950 J/example (estimated)".
    static func joules(_ value: Double?, _ ref: ConfigRef, per: String? = nil) -> String {
        ReportFormat.number(value) + " J" + (per.map { "/" + $0 } ?? "") + (ref.energyEstimated ? " (estimated)" : "")
    }
}
