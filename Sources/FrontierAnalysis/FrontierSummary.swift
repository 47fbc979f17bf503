import Foundation

/// A configuration as summaries name it: its identity and headline values (medians).
public struct ConfigRef: Codable, Sendable, Equatable {
    public var configKey: String
    public var technique: String
    public var variant: String
    public var metric: Double?
    public var joulesPerExample: Double?
    public var joulesPerCorrect: Double?
    public var latencyP50Ms: Double?
    public var energySource: String?
    public var energyEstimated: Bool

    public init(_ config: ConfigAggregate) {
        configKey = config.configKey
        technique = config.technique
        variant = config.variant
        metric = config.metricValue
        joulesPerExample = config.value(.joulesPerExample)
        joulesPerCorrect = config.joulesPerCorrect?.median
        latencyP50Ms = config.value(.latencyP50Ms)
        energySource = config.energySource
        energyEstimated = config.energyEstimated
    }
}

/// What a task × model × device class comes to: the baseline, the cheapest configurations that
/// stay close to it, the knee of the accuracy–energy frontier and where extra energy stops paying.
///
/// Definitions (all on medians of repeats; a point is 0.01 of the metric, i.e. metric × 100):
/// - **within N points**: metric ≥ baseline metric − N/100 (inclusive, 1e-9 slack for rounding).
///   The baseline itself qualifies, so a selection exists whenever the baseline has the measure.
///   Among those, the minimum J/example (the minimum latency p50); ties go to the higher metric,
///   then the smaller configKey.
/// - **knee**: on the accuracy–energy frontier (ordered by energy), x = log2(J/example) and y = the
///   metric, both scaled so the frontier's ends are (0, 0) and (1, 1); the knee is the frontier
///   point farthest above the chord between the ends, distance (y − x)/√2. No knee with fewer
///   than three frontier points, when the ends share an x or y, or when no point lies above the
///   chord. Ties go to the cheaper point. Log energy because techniques move energy by factors.
/// - **diminishing returns**: consecutive frontier segments whose gain, in points per doubling of
///   energy — Δ(metric × 100) / Δlog2(J/example) — is below `diminishingPointsPerDoubling`
///   (default 0.5), merged into stretches; a stretch's rate is its total gain over its total
///   doublings. Identical (tied) frontier points make no segment.
public struct FrontierSummary: Codable, Sendable, Equatable {
    public struct Options: Codable, Sendable, Equatable {
        /// The "within N points of the baseline" selections made.
        public var withinPoints: [Double]
        /// Below this gain in points per doubling of energy, a frontier segment is diminishing.
        public var diminishingPointsPerDoubling: Double

        public init(withinPoints: [Double] = [1, 2], diminishingPointsPerDoubling: Double = 0.5) {
            self.withinPoints = withinPoints
            self.diminishingPointsPerDoubling = diminishingPointsPerDoubling
        }
    }

    public struct WithinBaseline: Codable, Sendable, Equatable {
        public var points: Double
        public var minEnergy: ConfigRef?
        public var minLatency: ConfigRef?
        /// minEnergy's J/example ÷ the baseline's (below 1 saves energy).
        public var energyRatio: Double?
        /// minLatency's p50 ÷ the baseline's.
        public var latencyRatio: Double?
    }

    public struct Knee: Codable, Sendable, Equatable {
        public var config: ConfigRef
        /// Distance above the chord in the normalised plane (at most 1/√2).
        public var distance: Double
    }

    /// A segment of the accuracy–energy frontier, or a stretch of merged ones.
    public struct Segment: Codable, Sendable, Equatable {
        public var fromConfigKey: String
        public var toConfigKey: String
        public var fromJoules: Double
        public var toJoules: Double
        public var fromMetric: Double
        public var toMetric: Double
        public var segments: Int
        /// log2(toJoules / fromJoules).
        public var doublings: Double { log2(toJoules / fromJoules) }
        /// (toMetric − fromMetric) × 100.
        public var points: Double { (toMetric - fromMetric) * 100 }
        public var pointsPerDoubling: Double { points / doublings }
    }

    public var group: FrontierGroup
    public var metricName: String?
    /// Configurations with accepted trials.
    public var configurations: Int
    public var failedTrials: Int
    public var baseline: ConfigRef?
    public var within: [WithinBaseline]
    public var knee: Knee?
    /// Every segment of the accuracy–energy frontier with its rate.
    public var energySegments: [Segment]
    public var diminishingReturns: [Segment]
    public var diminishingPointsPerDoubling: Double
    /// Whether any configuration's energy in the group is estimated.
    public var energyEstimated: Bool
    public var notes: [String]

    /// The summary of one group from its configurations and its accuracy–energy frontier.
    public static func summarise(_ configs: [ConfigAggregate], group: FrontierGroup, energyFrontier: ParetoFrontier,
                                 failedTrials: Int = 0, options: Options = .init()) -> FrontierSummary {
        let mine = configs.filter { $0.group == group }.sorted { $0.configKey < $1.configKey }
        var notes: [String] = []
        let baselines = mine.filter(\.isBaseline)
        let baseline = baselines.max { ($0.repeats, $1.configKey) < ($1.repeats, $0.configKey) }
        if baselines.count > 1 { notes.append("\(baselines.count) baseline configurations; using \(baseline!.configKey)") }
        if baseline == nil { notes.append("no accepted dense fp32 baseline") }

        var within: [WithinBaseline] = []
        if let baseline, let base = frontierFinite(baseline.metricValue) {
            for points in options.withinPoints {
                let close = mine.filter { c in frontierFinite(c.metricValue).map { $0 >= base - points / 100 - 1e-9 } ?? false }
                let energy = cheapest(close, .joulesPerExample)
                let latency = cheapest(close, .latencyP50Ms)
                within.append(WithinBaseline(
                    points: points, minEnergy: energy.map(ConfigRef.init), minLatency: latency.map(ConfigRef.init),
                    energyRatio: ratio(energy?.value(.joulesPerExample), baseline.value(.joulesPerExample)),
                    latencyRatio: ratio(latency?.value(.latencyP50Ms), baseline.value(.latencyP50Ms))))
            }
        } else if baseline != nil {
            notes.append("the baseline has no metric")
        }

        let byKey = Dictionary(mine.map { ($0.configKey, $0) }, uniquingKeysWith: { a, _ in a })
        let path = energyFrontier.configKeys.compactMap { byKey[$0] }
        let segments = energySegments(path)
        let threshold = options.diminishingPointsPerDoubling
        return FrontierSummary(
            group: group, metricName: baseline?.metricName ?? mine.lazy.compactMap(\.metricName).first,
            configurations: mine.count, failedTrials: failedTrials, baseline: baseline.map(ConfigRef.init),
            within: within, knee: knee(path), energySegments: segments,
            diminishingReturns: merge(segments.filter { $0.pointsPerDoubling < threshold }),
            diminishingPointsPerDoubling: threshold, energyEstimated: mine.contains(where: \.energyEstimated),
            notes: notes)
    }

    /// One summary per group that has accepted configurations or failed trials, sorted.
    public static func summaries(_ configs: [ConfigAggregate], frontiers: [ParetoFrontier], failed: [TrialRecord],
                                 options: Options = .init()) -> [FrontierSummary] {
        let groups = Set(configs.map(\.group)).union(failed.map(\.group)).sorted()
        return groups.map { group in
            let frontier = frontiers.first { $0.group == group && $0.measures == [.joulesPerExample] }
                ?? Pareto.frontier(configs, group: group, measures: [.joulesPerExample])
            return summarise(configs, group: group, energyFrontier: frontier,
                             failedTrials: failed.filter { $0.group == group }.count, options: options)
        }
    }

    /// The knee of a frontier path ordered by energy (see the type's documentation).
    public static func knee(_ path: [ConfigAggregate]) -> Knee? {
        guard path.count >= 3 else { return nil }
        let xs = path.map { $0.value(.joulesPerExample).map { $0 > 0 ? log2($0) : .nan } ?? .nan }
        let ys = path.map { $0.metricValue ?? .nan }
        guard xs.allSatisfy(\.isFinite), ys.allSatisfy(\.isFinite) else { return nil }
        let (x0, x1, y0, y1) = (xs.first!, xs.last!, ys.first!, ys.last!)
        guard x1 != x0, y1 != y0 else { return nil }
        var best: (index: Int, distance: Double)?
        for i in 1..<(path.count - 1) {
            let d = ((ys[i] - y0) / (y1 - y0) - (xs[i] - x0) / (x1 - x0)) / 2.0.squareRoot()
            if d > 1e-12, d > (best?.distance ?? 0) { best = (i, d) }
        }
        return best.map { Knee(config: ConfigRef(path[$0.index]), distance: $0.distance) }
    }

    /// Consecutive segments of a frontier path ordered by energy, skipping ties and points without
    /// a positive energy.
    public static func energySegments(_ path: [ConfigAggregate]) -> [Segment] {
        let points = path.compactMap { c -> (String, Double, Double)? in
            guard let j = frontierFinite(c.value(.joulesPerExample)), j > 0, let m = frontierFinite(c.metricValue) else { return nil }
            return (c.configKey, j, m)
        }
        var out: [Segment] = []
        var previous: (String, Double, Double)?
        for point in points {
            if let from = previous {
                guard point.1 > from.1 else { continue }
                out.append(Segment(fromConfigKey: from.0, toConfigKey: point.0, fromJoules: from.1, toJoules: point.1,
                                   fromMetric: from.2, toMetric: point.2, segments: 1))
            }
            previous = point
        }
        return out
    }

    /// Adjacent segments (one's end is the next's start) joined into stretches.
    static func merge(_ segments: [Segment]) -> [Segment] {
        var out: [Segment] = []
        for segment in segments {
            if var last = out.last, last.toConfigKey == segment.fromConfigKey {
                last.toConfigKey = segment.toConfigKey
                last.toJoules = segment.toJoules
                last.toMetric = segment.toMetric
                last.segments += segment.segments
                out[out.count - 1] = last
            } else {
                out.append(segment)
            }
        }
        return out
    }

    static func cheapest(_ configs: [ConfigAggregate], _ measure: FrontierMeasure) -> ConfigAggregate? {
        configs.filter { frontierFinite($0.value(measure)) != nil }.min { a, b in
            let (va, vb) = (a.value(measure)!, b.value(measure)!)
            if va != vb { return va < vb }
            let (ma, mb) = (a.metricValue ?? -.infinity, b.metricValue ?? -.infinity)
            if ma != mb { return ma > mb }
            return a.configKey < b.configKey
        }
    }

    static func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a = frontierFinite(a), let b = frontierFinite(b), b != 0 else { return nil }
        return a / b
    }
}
