import Foundation
import FrontierAnalysis
import FrontierSupport

/// The machine-readable outputs: `trials.csv`, `frontier.csv`, `summary.json`. Pure.
public enum ReportTables {
    /// One row per trial, every field of `TrialRecord`: `parameters` and `metrics` also as JSON
    /// objects (parameters typed: numbers as numbers, booleans as booleans), each parameter as
    /// `param.<name>` and each metric as `metric.<name>` (union of the names, sorted); failure
    /// reasons and energy notes joined with " | "; each interval as `<field>_low` and `_high`; the
    /// paired baseline as its id, time and value columns.
    public static func trialsCSV(_ records: [TrialRecord]) -> String {
        let parameterNames = Set(records.flatMap { $0.parameters.keys }).sorted()
        let metricNames = Set(records.flatMap { $0.metrics.keys }).sorted()
        var header = ["trial_id", "point_key", "config_key", "task", "model", "device_class", "variant", "technique",
                      "is_baseline", "repeat_index", "status", "failure_reasons", "metric_name", "metric",
                      "metric_low", "metric_high", "examples", "chance_level",
                      "joules_per_example", "joules_per_example_low", "joules_per_example_high", "joules_per_correct",
                      "energy_source", "energy_basis", "energy_notes"]
        header += ["latency_p50_ms", "latency_p50_ms_low", "latency_p50_ms_high", "latency_p99_ms",
                   "throughput_examples_per_s", "throughput_low", "throughput_high", "peak_rss_mb", "weight_bytes_held",
                   "model_bytes", "disturbed", "remeasured_windows", "interference", "paired_baseline_id",
                   "paired_baseline_measured_at", "paired_baseline_trials_before", "paired_baseline_joules_per_example",
                   "paired_baseline_latency_p50_ms", "paired_baseline_throughput", "agent_id", "finished_at",
                   "parameters", "metrics"]
        header += ["training_stage", "training_device_class", "training_j", "training_energy_source", "training_s",
                   "training_wall_s", "training_examples_per_s", "training_peak_rss_mb", "training_resumed"]
        header += parameterNames.map { "param.\($0)" } + metricNames.map { "metric.\($0)" }
        let sorted = records.sorted {
            ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId)
        }
        let rows = sorted.map { r -> [String] in
            var row = identity(r)
            row += measures(r)
            row += provenance(r)
            row += training(r)
            row += parameterNames.map { r.parameters[$0]?.description ?? "" }
            row += metricNames.map { ReportFormat.exact(r.metrics[$0]) }
            return row
        }
        return ReportCSV.document(header: header, rows: rows)
    }

    static func identity(_ r: TrialRecord) -> [String] {
        [r.trialId, r.pointKey, r.configKey, r.task, r.model, r.deviceClass, r.variant, r.technique,
         String(r.isBaseline), String(r.repeatIndex), r.status.rawValue, r.failureReasons.joined(separator: " | ")]
    }

    static func measures(_ r: TrialRecord) -> [String] {
        let x = ReportFormat.exact
        let metricInterval = r.effectiveMetricInterval
        var row = [r.metricName ?? "", x(r.metric), x(metricInterval?.low), x(metricInterval?.high),
                   r.examples.map(String.init) ?? "", x(r.chanceLevel)]
        row += [x(r.joulesPerExample), x(r.joulesPerExampleInterval?.low), x(r.joulesPerExampleInterval?.high),
                x(r.joulesPerCorrect), r.energySource ?? "", r.energyBasis ?? "", r.energyNotes.joined(separator: " | ")]
        row += [x(r.latencyP50Ms), x(r.latencyP50MsInterval?.low), x(r.latencyP50MsInterval?.high), x(r.latencyP99Ms),
                x(r.throughputExamplesPerS), x(r.throughputInterval?.low), x(r.throughputInterval?.high),
                x(r.peakRssMb), r.weightBytesHeld.map(String.init) ?? "", r.modelBytes.map(String.init) ?? ""]
        return row
    }

    static func training(_ r: TrialRecord) -> [String] {
        guard let t = r.training else { return Array(repeating: "", count: 9) }
        let x = ReportFormat.exact
        return [t.stage, t.deviceClass, x(t.joules), t.energySource ?? "", x(t.trainingS), x(t.wallS), x(t.examplesPerS),
                x(t.peakRssMb), String(t.resumed)]
    }

    static func provenance(_ r: TrialRecord) -> [String] {
        let x = ReportFormat.exact
        let b = r.pairedBaseline
        var row = [String(r.disturbed), String(r.remeasuredWindows), r.interferenceSummary ?? ""]
        row += [b?.id ?? "", b?.measuredAt ?? "", b?.trialsBefore.map(String.init) ?? "", x(b?.joulesPerExample),
                x(b?.latencyP50Ms), x(b?.throughputExamplesPerS)]
        row += [r.agentId ?? "", r.finishedAt ?? "", compactJSON(r.parameters), compactJSON(r.metrics)]
        return row
    }

    /// One row per (configuration, frontier) of every group: the medians, spreads and intervals,
    /// and the configuration's standing on that frontier: `frontier` (with its 1-based rank along
    /// it, and `within_noise` when point values alone would have dominated it), `dominated`, or
    /// `excluded` with what it lacks; then whether it is collapsed or disturbed.
    public static func frontierCSV(_ analysis: FrontierAnalysis) -> String {
        let measures = FrontierMeasure.allCases
        var header = ["task", "model", "device_class", "frontier", "config_key", "technique", "variant", "is_baseline",
                      "standing", "rank", "within_noise", "missing", "repeats", "metric_name", "metric", "metric_min",
                      "metric_max", "metric_low", "metric_high", "chance_level", "collapsed", "disturbed",
                      "disturbed_repeats"]
        for m in measures { header += [m.rawValue, m.rawValue + "_min", m.rawValue + "_max", m.rawValue + "_low", m.rawValue + "_high"] }
        header += ["joules_per_correct", "energy_source", "energy_estimated", "energy_basis", "weight_bytes_held",
                   "model_bytes", "paired_baselines", "trial_ids", "failed_trial_ids"]
        let x = ReportFormat.exact
        var rows: [[String]] = []
        for frontier in analysis.frontiers {
            let ranks = Dictionary(frontier.configKeys.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { a, _ in a })
            let dominated = Set(frontier.dominated), noise = Set(frontier.withinNoise)
            let excluded = Dictionary(frontier.excluded.map { ($0.configKey, $0.missing) }, uniquingKeysWith: { a, _ in a })
            var configs = analysis.configurations(in: frontier.group)
            configs.sort { (ranks[$0.configKey] ?? .max, $0.configKey) < (ranks[$1.configKey] ?? .max, $1.configKey) }
            for c in configs {
                let standing = ranks[c.configKey] != nil ? "frontier" : dominated.contains(c.configKey) ? "dominated" : "excluded"
                var row = [c.group.task, c.group.model, c.group.deviceClass, frontier.name, c.configKey, c.technique,
                           c.variant, String(c.isBaseline), standing, ranks[c.configKey].map(String.init) ?? "",
                           String(noise.contains(c.configKey)), (excluded[c.configKey] ?? []).joined(separator: " "),
                           String(c.repeats), c.metricName ?? ""]
                row += spreadCells(c.metric)
                row += [x(c.chanceLevel), String(c.collapsed), String(c.disturbed), String(c.disturbedRepeats)]
                for m in measures { row += spreadCells(c.spread(m)) }
                row += [x(c.joulesPerCorrect?.median), c.energySource ?? "", String(c.energyEstimated), c.energyBasis ?? "",
                        c.weightBytesHeld.map(String.init) ?? "", c.modelBytes.map(String.init) ?? "",
                        c.pairedBaselines.map(\.id).joined(separator: " "), c.trialIds.joined(separator: " "),
                        c.failedTrialIds.joined(separator: " ")]
                rows.append(row)
            }
        }
        return ReportCSV.document(header: header, rows: rows)
    }

    /// Median, min, max, interval low and high.
    static func spreadCells(_ s: MeasureSpread?) -> [String] {
        let x = ReportFormat.exact
        return [x(s?.median), x(s?.min), x(s?.max), x(s?.interval?.low), x(s?.interval?.high)]
    }

    /// `summary.json`: the context, the analysis (aggregates with spreads, frontiers with what each
    /// excluded, summaries, the cross-device comparison, failures) and the trials themselves.
    public struct SummaryDocument: Codable, Sendable, Equatable {
        /// 2: parameters typed, intervals, statistical dominance, verdicts on the picks.
        public var format = "frontier-summary/2"
        public var gridName: String
        public var generatedAt: String
        public var storePath: String?
        public var notes: [String]
        /// What the page's energy banner says: which energies are estimated and why, and whether
        /// bases are mixed (`energyNotes(_:)`).
        public var energyNotes: [String]
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
            "dominates": "significantly better on at least one of the metric and the frontier's measures (the two intervals do not overlap) and significantly worse on none (metric and throughput maximised; energy, latency, memory minimised); a value without an interval counts as its point value, so without intervals this is: at least as good everywhere and strictly better somewhere",
            "within_noise": "on the frontier only because nothing beats it by more than the noise: point values alone would have dominated it",
            "ties": "identical points do not dominate each other: all of them are on the frontier, ordered by config key",
            "missing": "a configuration lacking the metric or a frontier's measure is excluded from that frontier only and listed with what it lacks",
            "intervals": "95 % intervals of the medians: Wilson for accuracy, a seeded bootstrap otherwise; over repeats, one repeat's own interval, the hull of two, or for three and more the bootstrap of the repeats' median widened to the typical repeat's interval",
            "collapsed": "the metric's interval reaches down to the chance level (the constant predictor's metric on the same dev set; for correlations 0), or without an interval the metric is at or below it; left out of the picks, the knee and the diminishing returns",
            "disturbed": "at least half of the repeats were measured through interference above the threshold even after re-measuring, so the median rests on disturbed values; such a configuration dominates nothing on the frontiers (it can be dominated) and is left out of the picks",
            "paired_baseline": "a baseline measured beside a trial on the same agent; ratios use the median of the per-repeat ratios against those where they exist, else the baseline configuration's median",
            "indistinguishable_from_baseline": "the pick's metric interval overlaps the baseline's and its ratio interval holds 1: no saving is claimed",
            "ratio_interval": "conservative: [low_a / high_b, high_a / low_b]",
            "within_n_points": "the minimum J/example (latency p50) among configurations whose metric ≥ baseline − N points, the baseline included, disturbed and collapsed ones left out unless nothing else qualifies; ties to the higher metric, then config key",
            "knee": "on the accuracy–energy frontier with x = log2(J/example), y = metric, both scaled so the ends are (0,0) and (1,1): the point farthest above the chord between the ends; none with fewer than three points",
            "diminishing_returns": "consecutive accuracy–energy frontier segments gaining less than \(ReportFormat.tick(options.summary.diminishingPointsPerDoubling)) points per doubling of J/example, merged into stretches",
            "cross_device": "ratios of J/example and latency p50 against the reference device class (\(options.referenceDeviceClass ?? "the first alphabetically")); best = smallest median, ties alphabetical",
        ]
    }

    public static func summaryJSON(_ analysis: FrontierAnalysis, records: [TrialRecord], context: ReportContext) throws -> Data {
        let document = SummaryDocument(
            gridName: context.gridName, generatedAt: context.generatedAt, storePath: context.storePath,
            notes: context.notes, energyNotes: energyNotes(analysis), devices: context.devices,
            definitions: definitions(analysis.options),
            analysis: analysis,
            trials: records.sorted { ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId) })
        var data = try JSONCoding.encoder.encode(document)
        data.append(0x0A)
        return data
    }

    /// The report's statements about energy as a whole: for estimated energies, for how many
    /// configurations (all or some, on which device classes) and why, from the agents' notes; and
    /// whether energies of different bases are present. Empty when everything is metered on one
    /// basis. The HTML banner and `summary.json` both say these.
    public static let estimatedEnergyNotePrefix = "Energy is estimated, not metered, for"

    public static func energyNotes(_ analysis: FrontierAnalysis) -> [String] {
        let energetic = analysis.configurations.filter { frontierFinite($0.value(.joulesPerExample)) != nil }
        let estimated = energetic.filter(\.energyEstimated)
        var out: [String] = []
        if !estimated.isEmpty {
            let classes = Set(estimated.map(\.group.deviceClass)).sorted()
            let scope = estimated.count == energetic.count ? "all \(energetic.count) configurations"
                : "\(estimated.count) of \(energetic.count) configurations (device class\(classes.count == 1 ? "" : "es") \(classes.joined(separator: ", ")))"
            let reasons = Set(estimated.flatMap(\.energyNotes)).sorted()
            out.append(estimatedEnergyNotePrefix + " \(scope)"
                + (reasons.isEmpty ? "; the agents gave no reason." : ": " + reasons.joined(separator: "; ") + "."))
        }
        let bases = Set(energetic.flatMap(\.energyBases)).sorted()
        if bases.count > 1 {
            out.append("Energies of \(bases.count) bases are present (\(bases.joined(separator: ", "))): joules of different bases are not comparable; plots mark each basis with its own marker shape.")
        }
        return out
    }

    static func compactJSON<V: Encodable>(_ dictionary: [String: V]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(dictionary)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}
