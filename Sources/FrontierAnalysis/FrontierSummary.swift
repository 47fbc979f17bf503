import Foundation

/// A configuration as summaries name it: its identity and headline values (medians), with
/// their intervals and what may be wrong with them.
public struct ConfigRef: Codable, Sendable, Equatable {
    public var configKey: String
    public var technique: String
    public var variant: String
    public var metric: Double?
    public var metricInterval: ConfidenceInterval?
    public var joulesPerExample: Double?
    public var joulesPerExampleInterval: ConfidenceInterval?
    public var joulesPerCorrect: Double?
    public var latencyP50Ms: Double?
    public var latencyP50MsInterval: ConfidenceInterval?
    public var energySource: String?
    public var energyEstimated: Bool
    public var energyBasis: String?
    public var disturbed: Bool
    public var collapsed: Bool

    public init(_ config: ConfigAggregate) {
        configKey = config.configKey
        technique = config.technique
        variant = config.variant
        metric = config.metricValue
        metricInterval = config.metricInterval
        joulesPerExample = config.value(.joulesPerExample)
        joulesPerExampleInterval = config.interval(.joulesPerExample)
        joulesPerCorrect = config.joulesPerCorrect?.median
        latencyP50Ms = config.value(.latencyP50Ms)
        latencyP50MsInterval = config.interval(.latencyP50Ms)
        energySource = config.energySource
        energyEstimated = config.energyEstimated
        energyBasis = config.energyBasis
        disturbed = config.disturbed
        collapsed = config.collapsed
    }

    public func value(_ measure: FrontierMeasure) -> Double? {
        switch measure {
        case .joulesPerExample: joulesPerExample
        case .latencyP50Ms: latencyP50Ms
        default: nil
        }
    }

    public func interval(_ measure: FrontierMeasure) -> ConfidenceInterval? {
        switch measure {
        case .joulesPerExample: joulesPerExampleInterval
        case .latencyP50Ms: latencyP50MsInterval
        default: nil
        }
    }
}

/// What a task × model × device class comes to: the baseline, the cheapest configurations that
/// stay close to it, the knee of the accuracy–energy frontier and where extra energy stops paying.
///
/// Definitions (all on medians of repeats; a point is 0.01 of the metric, i.e. metric × 100):
/// - **within N points**: metric ≥ baseline metric − N/100 (inclusive, 1e-9 slack for rounding).
///   The baseline itself qualifies, so a selection exists whenever the baseline has the measure.
///   Disturbed and collapsed configurations (`ConfigAggregate`) are left out unless nothing else
///   qualifies; then the pick is made among them and a note says so. Among those, the minimum
///   J/example (the minimum latency p50); ties go to the higher metric, then the smaller configKey.
/// - **ratios**: the pick's measure ÷ the baseline's. Where the pick's repeats carry a baseline
///   measured beside them (`PairedRatio`), the median of the per-repeat ratios against those;
///   otherwise the pick's median ÷ the baseline configuration's median. Either way with the
///   conservative interval `[low_a / high_b, high_a / low_b]`, and `baselineUsed` naming the
///   measurements divided by. The `verdict` (`BaselineVerdict`) says what the ratio may claim:
///   a pick whose metric and measure are within noise of the baseline's is *indistinguishable
///   from baseline*, never an improvement.
/// - **chance level**: the baseline's (else the median of the configurations'); configurations
///   at it are `collapsedConfigKeys`, and are left out of the knee and the segments as well: a
///   model at chance anchors no trade-off.
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

    /// The cheapest configuration on one measure within N points of the baseline, and what its
    /// ratio to the baseline may claim.
    public struct Pick: Codable, Sendable, Equatable {
        public var config: ConfigRef
        public var measure: FrontierMeasure
        /// The measure ÷ the baseline's (below 1 saves, for energy and latency).
        public var ratio: Double?
        public var ratioInterval: ConfidenceInterval?
        /// The baseline measurements divided by: the paired ones, or the baseline configuration.
        public var baselineUsed: [BaselineUse]
        public var verdict: BaselineVerdict?
        /// The metric and the measure are both within noise of the baseline's.
        public var indistinguishableFromBaseline: Bool { verdict == .indistinguishable }
    }

    public struct WithinBaseline: Codable, Sendable, Equatable {
        public var points: Double
        public var energy: Pick?
        public var latency: Pick?
        /// When every qualifying configuration was disturbed or collapsed, and so on.
        public var notes: [String]

        public var minEnergy: ConfigRef? { energy?.config }
        public var minLatency: ConfigRef? { latency?.config }
        /// minEnergy's J/example ÷ the baseline's (below 1 saves energy).
        public var energyRatio: Double? { energy?.ratio }
        public var energyRatioInterval: ConfidenceInterval? { energy?.ratioInterval }
        /// minLatency's p50 ÷ the baseline's.
        public var latencyRatio: Double? { latency?.ratio }
        public var latencyRatioInterval: ConfidenceInterval? { latency?.ratioInterval }
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
    /// Configurations with an energy, and how many of them estimated it: all or some.
    public var energyConfigurations: Int
    public var estimatedEnergyConfigurations: Int
    /// Why the energies are what they are (the agents' notes, each once, sorted).
    public var energyNotes: [String]
    /// The energy bases present, sorted; more than one: joules of different bases are not
    /// comparable, and `notes` says so.
    public var energyBases: [String]
    /// The constant predictor's metric on this group's dev set.
    public var chanceLevel: Double?
    public var collapsedConfigKeys: [String]
    public var disturbedConfigKeys: [String]
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
                var pickNotes: [String] = []
                func choose(_ measure: FrontierMeasure) -> Pick? {
                    let clean = close.filter { !$0.disturbed && !$0.collapsed }
                    var chosen = cheapest(clean, measure)
                    if chosen == nil, let fallback = cheapest(close, measure) {
                        chosen = fallback
                        pickNotes.append("within \(Self.tick(points)) pt, only disturbed or collapsed configurations have \(measure.label); the \(measure.slug) pick is one of them")
                    }
                    return chosen.map { pick($0, measure: measure, baseline: baseline) }
                }
                let energy = choose(.joulesPerExample), latency = choose(.latencyP50Ms)
                if let pickBasis = energy?.config.energyBasis, let baseBasis = baseline.energyBasis, pickBasis != baseBasis {
                    pickNotes.append("within \(Self.tick(points)) pt, the energy pick's basis (\(pickBasis)) differs from the baseline's (\(baseBasis)): its ratio compares different quantities")
                }
                within.append(WithinBaseline(points: points, energy: energy, latency: latency, notes: pickNotes))
            }
        } else if baseline != nil {
            notes.append("the baseline has no metric")
        }
        if let baseline, baseline.disturbed {
            notes.append("the baseline itself was measured through interference (disturbed); ratios against it are doubtful except where paired baselines were used")
        }

        let chance = baseline?.chanceLevel ?? MeasureSpread(mine.map(\.chanceLevel))?.median
        let energetic = mine.filter { frontierFinite($0.value(.joulesPerExample)) != nil }
        let estimated = energetic.filter(\.energyEstimated).count
        let bases = Set(energetic.flatMap(\.energyBases)).sorted()
        if bases.count > 1 {
            let counts = bases.map { b in "\(b) (\(energetic.filter { $0.energyBases.contains(b) }.count))" }
            notes.append("energies of \(bases.count) bases: \(counts.joined(separator: ", ")) configurations; joules of different bases are not comparable")
        }

        let byKey = Dictionary(mine.map { ($0.configKey, $0) }, uniquingKeysWith: { a, _ in a })
        let path = envelope(energyFrontier.configKeys.compactMap { byKey[$0] }.filter { !$0.collapsed })
        let segments = energySegments(path)
        let threshold = options.diminishingPointsPerDoubling
        return FrontierSummary(
            group: group, metricName: baseline?.metricName ?? mine.lazy.compactMap(\.metricName).first,
            configurations: mine.count, failedTrials: failedTrials, baseline: baseline.map(ConfigRef.init),
            within: within, knee: knee(path), energySegments: segments,
            diminishingReturns: merge(segments.filter { $0.pointsPerDoubling < threshold }),
            diminishingPointsPerDoubling: threshold, energyEstimated: estimated > 0,
            energyConfigurations: energetic.count, estimatedEnergyConfigurations: estimated,
            energyNotes: Set(mine.flatMap(\.energyNotes)).sorted(), energyBases: bases, chanceLevel: chance,
            collapsedConfigKeys: mine.filter(\.collapsed).map(\.configKey),
            disturbedConfigKeys: mine.filter(\.disturbed).map(\.configKey), notes: notes)
    }

    /// `config`'s ratio to `baseline` on `measure`, against its paired baselines where it has
    /// them, and the verdict on it (see the type's definitions).
    static func pick(_ config: ConfigAggregate, measure: FrontierMeasure, baseline: ConfigAggregate) -> Pick {
        var ratio: Double?, interval: ConfidenceInterval?, used: [BaselineUse]
        if let paired = config.pairedRatio(measure) {
            (ratio, interval, used) = (paired.ratio, paired.interval, paired.baselines)
        } else {
            ratio = Self.ratio(config.value(measure), baseline.value(measure))
            if let a = frontierFinite(config.value(measure)), let b = frontierFinite(baseline.value(measure)),
               config.interval(measure) != nil || baseline.interval(measure) != nil {
                interval = ConfidenceInterval.ratio(config.interval(measure) ?? .point(a), baseline.interval(measure) ?? .point(b))
            }
            used = [BaselineUse(id: baseline.configKey, paired: false)]
        }
        var verdict: BaselineVerdict?
        if config.configKey == baseline.configKey {
            verdict = .baseline
        } else if let ratio {
            verdict = BaselineVerdict.judge(measure: measure, ratio: ratio, ratioInterval: interval,
                                            metric: (config.metricValue, config.metricInterval),
                                            baselineMetric: (baseline.metricValue, baseline.metricInterval))
        }
        return Pick(config: ConfigRef(config), measure: measure, ratio: ratio, ratioInterval: interval,
                    baselineUsed: used, verdict: verdict)
    }

    /// The frontier points that raise the metric, in order: under statistical dominance a point
    /// may stay on the frontier with a lower metric than a cheaper one (within noise), and a
    /// trade-off curve through it would bend back.
    static func envelope(_ path: [ConfigAggregate]) -> [ConfigAggregate] {
        var best = -Double.infinity
        return path.filter { c in
            guard let m = frontierFinite(c.metricValue) else { return true }
            guard m > best else { return false }
            best = m
            return true
        }
    }

    static func tick(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
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
