import Foundation
import FrontierAnalysis
import FrontierSupport

/// The machine-readable outputs: `trials.csv`, `frontier.csv`, `summary.json`. Pure.
public enum ReportTables {
    /// One row per trial, every field of `TrialRecord`: `parameters` and `metrics` also as JSON
    /// objects, each parameter as `param.<name>` and each metric as `metric.<name>` (union of the
    /// names, sorted); failure reasons joined with " | ".
    public static func trialsCSV(_ records: [TrialRecord]) -> String {
        let parameterNames = Set(records.flatMap { $0.parameters.keys }).sorted()
        let metricNames = Set(records.flatMap { $0.metrics.keys }).sorted()
        let header = ["trial_id", "point_key", "config_key", "task", "model", "device_class", "variant", "technique",
                      "is_baseline", "repeat_index", "status", "failure_reasons", "metric_name", "metric",
                      "joules_per_example", "joules_per_correct", "energy_source", "latency_p50_ms", "latency_p99_ms",
                      "throughput_examples_per_s", "peak_rss_mb", "model_bytes", "agent_id", "finished_at",
                      "parameters", "metrics"]
            + parameterNames.map { "param.\($0)" } + metricNames.map { "metric.\($0)" }
        let sorted = records.sorted {
            ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId)
        }
        let x = ReportFormat.exact
        let rows = sorted.map { r -> [String] in
            let parameters: [String] = parameterNames.map { r.parameters[$0]?.description ?? "" }
            return [r.trialId, r.pointKey, r.configKey, r.task, r.model, r.deviceClass, r.variant, r.technique,
             String(r.isBaseline), String(r.repeatIndex), r.status.rawValue, r.failureReasons.joined(separator: " | "),
             r.metricName ?? "", x(r.metric), x(r.joulesPerExample), x(r.joulesPerCorrect), r.energySource ?? "",
             x(r.latencyP50Ms), x(r.latencyP99Ms), x(r.throughputExamplesPerS), x(r.peakRssMb),
             r.modelBytes.map(String.init) ?? "", r.agentId ?? "", r.finishedAt ?? "",
             compactJSON(r.parameters), compactJSON(r.metrics)]
                + parameters + metricNames.map { x(r.metrics[$0]) }
        }
        return ReportCSV.document(header: header, rows: rows)
    }

    /// One row per (configuration, frontier) of every group: the medians and spreads, and the
    /// configuration's standing on that frontier: `frontier` (with its 1-based rank along it),
    /// `dominated`, or `excluded` with what it lacks.
    public static func frontierCSV(_ analysis: FrontierAnalysis) -> String {
        let measures = FrontierMeasure.allCases
        var header = ["task", "model", "device_class", "frontier", "config_key", "technique", "variant", "is_baseline",
                      "standing", "rank", "missing", "repeats", "metric_name", "metric", "metric_min", "metric_max"]
        for m in measures { header += [m.rawValue, m.rawValue + "_min", m.rawValue + "_max"] }
        header += ["joules_per_correct", "energy_source", "energy_estimated", "model_bytes", "trial_ids", "failed_trial_ids"]
        let x = ReportFormat.exact
        var rows: [[String]] = []
        for frontier in analysis.frontiers {
            let ranks = Dictionary(frontier.configKeys.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { a, _ in a })
            let dominated = Set(frontier.dominated)
            let excluded = Dictionary(frontier.excluded.map { ($0.configKey, $0.missing) }, uniquingKeysWith: { a, _ in a })
            var configs = analysis.configurations(in: frontier.group)
            configs.sort { (ranks[$0.configKey] ?? .max, $0.configKey) < (ranks[$1.configKey] ?? .max, $1.configKey) }
            for c in configs {
                let standing = ranks[c.configKey] != nil ? "frontier" : dominated.contains(c.configKey) ? "dominated" : "excluded"
                var row = [c.group.task, c.group.model, c.group.deviceClass, frontier.name, c.configKey, c.technique,
                           c.variant, String(c.isBaseline), standing, ranks[c.configKey].map(String.init) ?? "",
                           (excluded[c.configKey] ?? []).joined(separator: " "), String(c.repeats), c.metricName ?? "",
                           x(c.metric?.median), x(c.metric?.min), x(c.metric?.max)]
                for m in measures { row += [x(c.spread(m)?.median), x(c.spread(m)?.min), x(c.spread(m)?.max)] }
                row += [x(c.joulesPerCorrect?.median), c.energySource ?? "", String(c.energyEstimated),
                        c.modelBytes.map(String.init) ?? "", c.trialIds.joined(separator: " "),
                        c.failedTrialIds.joined(separator: " ")]
                rows.append(row)
            }
        }
        return ReportCSV.document(header: header, rows: rows)
    }

    /// `summary.json`: the context, the analysis (aggregates with spreads, frontiers with what each
    /// excluded, summaries, the cross-device comparison, failures) and the trials themselves.
    public struct SummaryDocument: Codable, Sendable, Equatable {
        public var format = "frontier-summary/1"
        public var gridName: String
        public var generatedAt: String
        public var storePath: String?
        public var notes: [String]
        public var devices: [String: String]
        public var definitions: [String: String]
        public var analysis: FrontierAnalysis
        public var trials: [TrialRecord]
    }

    /// What the summary's terms mean, written into `summary.json` and the HTML.
    public static func definitions(_ options: FrontierAnalysis.Options) -> [String: String] {
        [
            "point": "0.01 of the headline metric (metric × 100); metrics are on their natural scale",
            "repeats": "each measure is the median over the accepted repeats of a configuration that have it; min and max give the spread; failed trials are listed apart",
            "dominates": "at least as good on the metric and every measure of the frontier and strictly better on one (metric and throughput maximised; energy, latency, memory minimised)",
            "ties": "identical points do not dominate each other: all of them are on the frontier, ordered by config key",
            "missing": "a configuration lacking the metric or a frontier's measure is excluded from that frontier only and listed with what it lacks",
            "within_n_points": "the minimum J/example (latency p50) among configurations whose metric ≥ baseline − N points, the baseline included; ties to the higher metric, then config key",
            "knee": "on the accuracy–energy frontier with x = log2(J/example), y = metric, both scaled so the ends are (0,0) and (1,1): the point farthest above the chord between the ends; none with fewer than three points",
            "diminishing_returns": "consecutive accuracy–energy frontier segments gaining less than \(ReportFormat.tick(options.summary.diminishingPointsPerDoubling)) points per doubling of J/example, merged into stretches",
            "cross_device": "ratios of J/example and latency p50 against the reference device class (\(options.referenceDeviceClass ?? "the first alphabetically")); best = smallest median, ties alphabetical",
        ]
    }

    public static func summaryJSON(_ analysis: FrontierAnalysis, records: [TrialRecord], context: ReportContext) throws -> Data {
        let document = SummaryDocument(
            gridName: context.gridName, generatedAt: context.generatedAt, storePath: context.storePath,
            notes: context.notes, devices: context.devices, definitions: definitions(analysis.options),
            analysis: analysis,
            trials: records.sorted { ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId) })
        var data = try JSONCoding.encoder.encode(document)
        data.append(0x0A)
        return data
    }

    static func compactJSON<V: Encodable>(_ dictionary: [String: V]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(dictionary)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}
