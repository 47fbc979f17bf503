import Foundation

/// A measure over the repeats of one configuration: the median is what the frontiers use, the
/// range shows how much the repeats disagreed, and the interval how sure the median is.
public struct MeasureSpread: Codable, Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// Repeats that had the measure (a repeat lacking it does not count towards it).
    public var count: Int
    /// The median's interval (`RepeatInterval`); nil with one repeat that measured none.
    public var interval: ConfidenceInterval?

    public init(median: Double, min: Double, max: Double, count: Int, interval: ConfidenceInterval? = nil) {
        self.median = median
        self.min = min
        self.max = max
        self.count = count
        self.interval = interval
    }

    /// The spread of the finite values, without an interval; nil when there are none.
    public init?(_ values: [Double?]) {
        let present = values.compactMap(frontierFinite)
        guard !present.isEmpty else { return nil }
        self.init(median: Percentiles.median(present), min: present.min()!, max: present.max()!, count: present.count)
    }

    /// The spread of the finite values with the median's interval from the repeats' values and
    /// their own intervals (`intervals[i]` belongs to `values[i]`); nil when no value is finite.
    public init?(_ values: [Double?], intervals: [ConfidenceInterval?]) {
        let pairs = zip(values, intervals).compactMap { v, i in frontierFinite(v).map { ($0, i) } }
        guard !pairs.isEmpty else { return nil }
        self.init(pairs.map(\.0))
        interval = RepeatInterval.combine(pairs.map(\.0), pairs.map(\.1))
    }
}

/// One configuration on one device class: the median of its accepted repeats, with intervals.
///
/// - **disturbed**: at least half of the repeats were measured through interference
///   (`TrialRecord.disturbed`). A median of n values is moved by no fewer than n/2 of them, so
///   with fewer disturbed repeats the median rests on undisturbed ones (one repeat: its own flag;
///   two: either, since their median is their mean).
/// - **collapsed**: the metric cannot be told from the constant predictor's (`chanceLevel`): the
///   metric's interval reaches down to the chance level (low ≤ chance), or without an interval
///   the metric is at or below it. Sparsity 0.9 at 50.9 % on SST-2 is the majority class, not a
///   cheap model; for correlations chance is the constant predictor's 0.
public struct ConfigAggregate: Codable, Sendable, Equatable {
    public var group: FrontierGroup
    public var configKey: String
    public var variant: String
    public var technique: String
    public var parameters: [String: ParameterValue]
    public var isBaseline: Bool
    /// The accepted trials aggregated, in repeat order.
    public var trialIds: [String]
    /// Trials of this configuration on this device class that failed (listed apart, not counted).
    public var failedTrialIds: [String]
    public var metricName: String?
    public var metric: MeasureSpread?
    /// Every metric of the task, each over the repeats that reported it.
    public var metrics: [String: MeasureSpread]
    public var joulesPerExample: MeasureSpread?
    /// As reported; for an accuracy metric without it, J/example ÷ accuracy (the same quantity).
    public var joulesPerCorrect: MeasureSpread?
    public var latencyP50Ms: MeasureSpread?
    public var latencyP99Ms: MeasureSpread?
    public var throughputExamplesPerS: MeasureSpread?
    public var peakRssMb: MeasureSpread?
    public var modelBytes: Int?
    /// The energy sources of the repeats that measured energy, sorted and joined with "+".
    public var energySource: String?
    /// Whether any repeat's energy was estimated rather than metered.
    public var energyEstimated: Bool
    /// The repeats' energy bases ("net/offline", …), sorted; two or more: the repeats' joules
    /// are not comparable with each other (see `energyBasisMixed`).
    public var energyBases: [String]
    /// Why the energy is what it is, from the repeats' agents; each note once, sorted.
    public var energyNotes: [String]
    /// Dev examples scored (the largest over repeats).
    public var examples: Int?
    public var chanceLevel: Double?
    public var collapsed: Bool
    public var disturbed: Bool
    public var disturbedRepeats: Int
    /// Windows measured again over all repeats.
    public var remeasuredWindows: Int
    /// What the interference was, per disturbed or re-measured repeat that said; each once.
    public var interference: [String]
    /// The weight bytes the workers held (the largest over repeats; they should agree).
    public var weightBytesHeld: Int?
    /// The baselines measured beside the repeats, in repeat order, each once.
    public var pairedBaselines: [PairedBaselineRef]
    /// Energy, latency p50 and throughput against those baselines, where the repeats had them.
    public var pairedRatios: [PairedRatio]
    /// What training the measured checkpoint cost, when the sweep trained it (one stage per
    /// configuration: its repeats measure the same checkpoint).
    public var training: TrainingCost? = nil

    public var repeats: Int { trialIds.count }

    /// The repeats' energy bases joined with "+" (like `energySource`); nil when none said.
    public var energyBasis: String? { energyBases.isEmpty ? nil : energyBases.joined(separator: "+") }
    public var energyBasisMixed: Bool { energyBases.count > 1 }

    /// The median of a frontier measure.
    public func value(_ measure: FrontierMeasure) -> Double? { spread(measure)?.median }

    /// The interval of a frontier measure's median.
    public func interval(_ measure: FrontierMeasure) -> ConfidenceInterval? { spread(measure)?.interval }

    /// The headline metric's interval.
    public var metricInterval: ConfidenceInterval? { metric?.interval }

    public func pairedRatio(_ measure: FrontierMeasure) -> PairedRatio? { pairedRatios.first { $0.measure == measure } }

    public func spread(_ measure: FrontierMeasure) -> MeasureSpread? {
        switch measure {
        case .joulesPerExample: joulesPerExample
        case .latencyP50Ms: latencyP50Ms
        case .latencyP99Ms: latencyP99Ms
        case .peakRssMb: peakRssMb
        case .throughput: throughputExamplesPerS
        }
    }

    /// The headline metric's median.
    public var metricValue: Double? { metric?.median }
}

public enum RepeatAggregation {
    /// Accepted trials grouped by (task, model, device class, configKey), each measure the median
    /// of the repeats that have it. Failed, pending and running trials are not aggregated; failed
    /// ones are named in `failedTrialIds` of their configuration when it has accepted repeats, and
    /// `failedTrials` lists them all. Sorted by group, then configKey.
    public static func aggregate(_ records: [TrialRecord]) -> [ConfigAggregate] {
        struct Key: Hashable { var group: FrontierGroup; var configKey: String }
        var accepted: [Key: [TrialRecord]] = [:]
        var failed: [Key: [String]] = [:]
        for record in records {
            let key = Key(group: record.group, configKey: record.configKey)
            switch record.status {
            case .accepted: accepted[key, default: []].append(record)
            case .failed: failed[key, default: []].append(record.trialId)
            case .pending, .running: continue
            }
        }
        var out: [ConfigAggregate] = []
        for (key, unsorted) in accepted {
            let repeats = unsorted.sorted { ($0.repeatIndex, $0.trialId) < ($1.repeatIndex, $1.trialId) }
            let first = repeats[0]
            let metricNames = Set(repeats.flatMap { $0.metrics.keys })
            var metrics: [String: MeasureSpread] = [:]
            for name in metricNames { metrics[name] = MeasureSpread(repeats.map { $0.metrics[name] }) }
            let metered = repeats.filter { frontierFinite($0.joulesPerExample) != nil }
            let sources = Set(metered.compactMap(\.energySource)).sorted()
            let metricName = repeats.lazy.compactMap(\.metricName).first
            func spread(_ measure: FrontierMeasure) -> MeasureSpread? {
                MeasureSpread(repeats.map { $0.value(measure) }, intervals: repeats.map { $0.interval(measure) })
            }
            let metric = MeasureSpread(repeats.map(\.metric), intervals: repeats.map(\.effectiveMetricInterval))
            let chance = MeasureSpread(repeats.map(\.chanceLevel))?.median
            let disturbedRepeats = repeats.filter(\.disturbed).count
            var paired: [PairedBaselineRef] = []
            for ref in repeats.compactMap(\.pairedBaseline) where !paired.contains(ref) { paired.append(ref) }
            out.append(ConfigAggregate(
                group: key.group, configKey: key.configKey, variant: first.variant, technique: first.technique,
                parameters: first.parameters, isBaseline: repeats.contains(where: \.isBaseline),
                trialIds: repeats.map(\.trialId), failedTrialIds: (failed[key] ?? []).sorted(),
                metricName: metricName, metric: metric, metrics: metrics,
                joulesPerExample: spread(.joulesPerExample),
                joulesPerCorrect: MeasureSpread(repeats.map(joulesPerCorrect), intervals: repeats.map { _ in nil }),
                latencyP50Ms: spread(.latencyP50Ms), latencyP99Ms: spread(.latencyP99Ms),
                throughputExamplesPerS: spread(.throughput), peakRssMb: spread(.peakRssMb),
                modelBytes: repeats.lazy.compactMap(\.modelBytes).first,
                energySource: sources.isEmpty ? nil : sources.joined(separator: "+"),
                energyEstimated: metered.contains { $0.energySource == "estimated" },
                energyBases: Set(metered.compactMap(\.energyBasis)).sorted(),
                energyNotes: Set(repeats.flatMap(\.energyNotes)).sorted(),
                examples: repeats.compactMap(\.examples).max(),
                chanceLevel: chance, collapsed: isCollapsed(metric, chance: chance),
                disturbed: disturbedRepeats > 0 && 2 * disturbedRepeats >= repeats.count,
                disturbedRepeats: disturbedRepeats, remeasuredWindows: repeats.map(\.remeasuredWindows).reduce(0, +),
                interference: repeats.filter { $0.disturbed || $0.remeasuredWindows > 0 }
                    .compactMap(\.interferenceSummary).reduce(into: []) { if !$0.contains($1) { $0.append($1) } },
                weightBytesHeld: repeats.compactMap(\.weightBytesHeld).max(),
                pairedBaselines: paired,
                pairedRatios: [FrontierMeasure.joulesPerExample, .latencyP50Ms, .throughput].compactMap {
                    PairedRatio.of(repeats, measure: $0)
                },
                training: repeats.lazy.compactMap(\.training).first))
        }
        return out.sorted { ($0.group, $0.configKey) < ($1.group, $1.configKey) }
    }

    /// The failed trials, sorted by group, configKey, repeat.
    public static func failedTrials(_ records: [TrialRecord]) -> [TrialRecord] {
        records.filter { $0.status == .failed }.sorted {
            ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId)
        }
    }

    /// Collapsed: the metric's interval reaches the chance level, or without one the metric is at
    /// or below it (see `ConfigAggregate`). Not collapsed when the chance level is unknown.
    static func isCollapsed(_ metric: MeasureSpread?, chance: Double?) -> Bool {
        guard let metric, let chance = frontierFinite(chance) else { return false }
        return (metric.interval?.low ?? metric.median) <= chance + 1e-12
    }

    /// The reported J/correct, or J/example ÷ accuracy where the metric is accuracy.
    static func joulesPerCorrect(_ record: TrialRecord) -> Double? {
        if let reported = frontierFinite(record.joulesPerCorrect) { return reported }
        guard record.metricName == "accuracy", let joules = frontierFinite(record.joulesPerExample),
              let accuracy = frontierFinite(record.metric), accuracy > 0 else { return nil }
        return joules / accuracy
    }
}
