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
                lines.append("  baseline          \(s.metricName ?? "metric") \(ReportFormat.points(b.metric, b.metricInterval, unit: "pt")), \(joules(b.joulesPerExample, b.joulesPerExampleInterval, b, per: "example")), \(joules(b.joulesPerCorrect, nil, b, per: "correct")), p50 \(ReportFormat.number(b.latencyP50Ms, b.latencyP50MsInterval, unit: "ms"))\(b.disturbed ? " ⚠ disturbed" : "")")
            }
            for w in s.within {
                let n = ReportFormat.tick(w.points)
                if let p = w.energy {
                    let m = p.config
                    lines.append("  ≤\(n) pt energy     \(m.technique): \(joules(m.joulesPerExample, m.joulesPerExampleInterval, m)) (\(ReportFormat.verdict(p))), \(ReportFormat.points(m.metric, m.metricInterval, unit: "pt"))\(flags(m))\(against(p))")
                }
                if let p = w.latency {
                    let m = p.config
                    lines.append("  ≤\(n) pt latency    \(m.technique): \(ReportFormat.number(m.latencyP50Ms, m.latencyP50MsInterval, unit: "ms")) (\(ReportFormat.verdict(p))), \(ReportFormat.points(m.metric, m.metricInterval, unit: "pt"))\(flags(m))\(against(p))")
                }
                for note in w.notes { lines.append("  note: \(note)") }
            }
            if let k = s.knee {
                lines.append("  knee              \(k.config.technique): \(joules(k.config.joulesPerExample, k.config.joulesPerExampleInterval, k.config)), \(ReportFormat.points(k.config.metric)) pt")
            }
            for d in s.diminishingReturns {
                lines.append("  diminishing       \(ReportFormat.number(d.fromJoules)) → \(ReportFormat.number(d.toJoules)) J: \(ReportFormat.number(d.pointsPerDoubling, digits: 2)) pt per doubling")
            }
            if let chance = s.chanceLevel {
                let collapsed = s.collapsedConfigKeys.isEmpty ? "none collapsed"
                    : "collapsed to it: " + s.collapsedConfigKeys.map { technique($0, analysis, s.group) }.joined(separator: ", ")
                lines.append("  chance level      \(ReportFormat.points(chance)) pt; \(collapsed)")
            }
            if !s.disturbedConfigKeys.isEmpty {
                lines.append("  ⚠ disturbed       " + s.disturbedConfigKeys.map { technique($0, analysis, s.group) }.joined(separator: ", "))
            }
            if s.estimatedEnergyConfigurations > 0 {
                let scope = s.estimatedEnergyConfigurations == s.energyConfigurations ? "all \(s.energyConfigurations)"
                    : "\(s.estimatedEnergyConfigurations) of \(s.energyConfigurations)"
                lines.append("  energy            estimated for \(scope) configurations" + (s.energyNotes.isEmpty ? "" : ": " + s.energyNotes.joined(separator: "; ")))
            }
            for note in s.notes { lines.append("  note: \(note)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "0.0583 J (estimated)", or with `per` "0.0950 J/example [0.0931, 0.0968] (estimated)".
    static func joules(_ value: Double?, _ interval: ConfidenceInterval?, _ ref: ConfigRef, per: String? = nil) -> String {
        ReportFormat.number(value) + " J" + (per.map { "/" + $0 } ?? "") + (interval.map { " " + ReportFormat.interval($0) } ?? "")
            + (ref.energyEstimated ? " (estimated)" : "")
    }

    static func flags(_ ref: ConfigRef) -> String {
        (ref.disturbed ? " ⚠ disturbed" : "") + (ref.collapsed ? " (collapsed to chance)" : "")
    }

    /// " — against baseline agent-1/baseline#3 measured 12:03:10, 2 trials earlier" for a ratio
    /// against paired baselines; nothing for the usual baseline median.
    static func against(_ pick: FrontierSummary.Pick) -> String {
        guard pick.verdict != .baseline, pick.baselineUsed.contains(where: \.paired) else { return "" }
        return " — against " + ReportFormat.baselineUsed(pick.baselineUsed)
    }

    static func technique(_ configKey: String, _ analysis: FrontierAnalysis, _ group: FrontierGroup) -> String {
        analysis.configurations.first { $0.group == group && $0.configKey == configKey }?.technique ?? configKey
    }
}
