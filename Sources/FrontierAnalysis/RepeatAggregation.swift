import Foundation

/// A measure over the repeats of one configuration: the median is what the frontiers use, the
/// range shows how much the repeats disagreed.
public struct MeasureSpread: Codable, Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// Repeats that had the measure (a repeat lacking it does not count towards it).
    public var count: Int

    public init(median: Double, min: Double, max: Double, count: Int) {
        self.median = median
        self.min = min
        self.max = max
        self.count = count
    }

    /// The spread of the finite values; nil when there are none.
    public init?(_ values: [Double?]) {
        let present = values.compactMap(frontierFinite)
        guard !present.isEmpty else { return nil }
        self.init(median: Percentiles.median(present), min: present.min()!, max: present.max()!, count: present.count)
    }
}

/// One configuration on one device class: the median of its accepted repeats.
public struct ConfigAggregate: Codable, Sendable, Equatable {
    public var group: FrontierGroup
    public var configKey: String
    public var variant: String
    public var technique: String
    public var parameters: [String: String]
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

    public var repeats: Int { trialIds.count }

    /// The median of a frontier measure.
    public func value(_ measure: FrontierMeasure) -> Double? { spread(measure)?.median }

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
            out.append(ConfigAggregate(
                group: key.group, configKey: key.configKey, variant: first.variant, technique: first.technique,
                parameters: first.parameters, isBaseline: repeats.contains(where: \.isBaseline),
                trialIds: repeats.map(\.trialId), failedTrialIds: (failed[key] ?? []).sorted(),
                metricName: metricName, metric: MeasureSpread(repeats.map(\.metric)), metrics: metrics,
                joulesPerExample: MeasureSpread(repeats.map(\.joulesPerExample)),
                joulesPerCorrect: MeasureSpread(repeats.map(joulesPerCorrect)),
                latencyP50Ms: MeasureSpread(repeats.map(\.latencyP50Ms)),
                latencyP99Ms: MeasureSpread(repeats.map(\.latencyP99Ms)),
                throughputExamplesPerS: MeasureSpread(repeats.map(\.throughputExamplesPerS)),
                peakRssMb: MeasureSpread(repeats.map(\.peakRssMb)),
                modelBytes: repeats.lazy.compactMap(\.modelBytes).first,
                energySource: sources.isEmpty ? nil : sources.joined(separator: "+"),
                energyEstimated: metered.contains { $0.energySource == "estimated" }))
        }
        return out.sorted { ($0.group, $0.configKey) < ($1.group, $1.configKey) }
    }

    /// The failed trials, sorted by group, configKey, repeat.
    public static func failedTrials(_ records: [TrialRecord]) -> [TrialRecord] {
        records.filter { $0.status == .failed }.sorted {
            ($0.group, $0.configKey, $0.repeatIndex, $0.trialId) < ($1.group, $1.configKey, $1.repeatIndex, $1.trialId)
        }
    }

    /// The reported J/correct, or J/example ÷ accuracy where the metric is accuracy.
    static func joulesPerCorrect(_ record: TrialRecord) -> Double? {
        if let reported = frontierFinite(record.joulesPerCorrect) { return reported }
        guard record.metricName == "accuracy", let joules = frontierFinite(record.joulesPerExample),
              let accuracy = frontierFinite(record.metric), accuracy > 0 else { return nil }
        return joules / accuracy
    }
}
