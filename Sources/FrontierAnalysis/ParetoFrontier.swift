import Foundation

/// The configurations of one task × model × device class that no other configuration beats on
/// the metric and the measures at once — beats beyond the noise of the measurements.
///
/// Definitions:
/// - each configuration is compared on the metric and each measure of the frontier through the
///   interval of its median (`ConfigAggregate.interval`, `metricInterval`); a value without an
///   interval counts as an interval of no width (its point value);
/// - a configuration is **significantly better** than another on an axis when their intervals do
///   not overlap and its interval lies on the better side (the metric and throughput are
///   maximised, energy, latency and memory minimised); **significantly worse** the other way;
/// - a configuration *dominates* another when it is significantly better on at least one axis
///   and significantly worse on none (on every other axis the intervals overlap, or it is
///   better). So bf16 scoring 1 example of 256 more than fp32 at a latency equal within noise
///   dominates nothing, and both stay on the frontier; and a configuration whose only edge is
///   inside the noise (0.1 pt more at twice the energy) is dominated. Without intervals this is
///   the exact rule: at least as good everywhere and strictly better somewhere. Statistical
///   dominance need not be transitive; should it leave no configuration undominated (a cycle,
///   never seen in practice), the frontier is the exact one of the medians;
/// - a **disturbed** configuration (`ConfigAggregate.disturbed`) dominates nothing: its measures
///   may be a neighbour's, and one compile next door must not push every honest measurement off
///   the frontier. It can itself be dominated, and is drawn and listed as usual;
/// - `withinNoise` lists the frontier's configurations that point values alone (medians, exact
///   rule) would have dominated: they are on the frontier only because nothing beats them by
///   more than the noise;
/// - **ties**: identical points do not dominate each other, so every copy of a non-dominated point
///   is on the frontier (two configurations with the same metric and energy are both listed, in
///   configKey order) — dropping one would hide a configuration that is as good;
/// - a configuration that lacks the metric or one of the frontier's measures (or has a NaN) is left
///   out of that frontier only and listed in `excluded` with what it lacks.
public struct ParetoFrontier: Codable, Sendable, Equatable {
    public struct Exclusion: Codable, Sendable, Equatable {
        public var configKey: String
        /// "metric" and/or the raw names of the missing measures.
        public var missing: [String]
    }

    public var group: FrontierGroup
    /// One measure for a 2-D frontier; energy and latency p50 for the 3-D set.
    public var measures: [FrontierMeasure]
    /// On the frontier, ordered from the best on the (first) measure to the best metric; for a 2-D
    /// frontier the metric rises along the list. Ties are ordered by configKey.
    public var configKeys: [String]
    /// Configurations with every value that the frontier dominates, sorted.
    public var dominated: [String]
    public var excluded: [Exclusion]
    /// On the frontier, but dominated on point values alone (see the definitions), sorted.
    public var withinNoise: [String]

    /// "j_per_example", …, or "j_per_example+latency_p50_ms" for the 3-D set.
    public var name: String { measures.map(\.rawValue).joined(separator: "+") }
    public var is2D: Bool { measures.count == 1 }
}

public enum Pareto {
    /// The 3-D metric–energy–latency set.
    public static let energyLatency: [FrontierMeasure] = [.joulesPerExample, .latencyP50Ms]

    /// Every frontier computed: each 2-D measure, then the 3-D set.
    public static let allMeasureSets: [[FrontierMeasure]] = FrontierMeasure.allCases.map { [$0] } + [energyLatency]

    /// Indices (ascending) of the vectors that no other vector dominates; every component is
    /// maximised. `a` dominates `b` when `a ≥ b` in every component and `a > b` in at least one,
    /// so identical vectors are all kept. O(n²·k): a grid's configurations per device are few.
    public static func nonDominated(_ vectors: [[Double]]) -> [Int] {
        nonDominated(intervals: vectors.map { $0.map { ConfidenceInterval.point($0) } })
    }

    /// Indices (ascending) of the interval vectors that no other dominates statistically; every
    /// component is maximised (negate and swap the bounds of a minimised one). `a` dominates `b`
    /// when on some component `a.low > b.high` (significantly better) and on none
    /// `a.high < b.low` (significantly worse). With intervals of no width this is the exact rule
    /// of `nonDominated(_:)`.
    /// `mayDominate[i]` false: vector i dominates nothing (nil: all may).
    public static func nonDominated(intervals vectors: [[ConfidenceInterval]], mayDominate: [Bool]? = nil) -> [Int] {
        func dominates(_ a: [ConfidenceInterval], _ b: [ConfidenceInterval]) -> Bool {
            var better = false
            for (x, y) in zip(a, b) {
                if x.high < y.low { return false }
                if x.low > y.high { better = true }
            }
            return better
        }
        return vectors.indices.filter { i in
            !vectors.indices.contains { j in j != i && (mayDominate?[j] ?? true) && dominates(vectors[j], vectors[i]) }
        }
    }

    /// The frontier of `configs` (one group's; others are ignored) for the metric against `measures`.
    public static func frontier(_ configs: [ConfigAggregate], group: FrontierGroup,
                                measures: [FrontierMeasure]) -> ParetoFrontier {
        let mine = configs.filter { $0.group == group }.sorted { $0.configKey < $1.configKey }
        var usable: [(config: ConfigAggregate, values: [Double], intervals: [ConfidenceInterval])] = []
        var excluded: [ParetoFrontier.Exclusion] = []
        for config in mine {
            var missing: [String] = []
            let metric = frontierFinite(config.metricValue)
            if metric == nil { missing.append("metric") }
            var values: [Double] = [], intervals: [ConfidenceInterval] = []
            for measure in measures {
                if let v = frontierFinite(config.value(measure)) {
                    let i = config.interval(measure) ?? .point(v)
                    values.append(measure.minimise ? -v : v)
                    intervals.append(measure.minimise ? ConfidenceInterval(low: -i.high, high: -i.low, level: i.level) : i)
                } else {
                    missing.append(measure.rawValue)
                }
            }
            if let metric, missing.isEmpty {
                usable.append((config, [metric] + values, [config.metricInterval ?? .point(metric)] + intervals))
            } else {
                excluded.append(.init(configKey: config.configKey, missing: missing))
            }
        }
        let mayDominate = usable.map { !$0.config.disturbed }
        let exactly = Set(nonDominated(intervals: usable.map { $0.values.map { ConfidenceInterval.point($0) } },
                                       mayDominate: mayDominate))
        var onFrontier = Set(nonDominated(intervals: usable.map(\.intervals), mayDominate: mayDominate))
        if onFrontier.isEmpty { onFrontier = exactly }
        // Best on the first measure first (its oriented value descending), then the later measures,
        // then the metric ascending, then configKey.
        let ordered = onFrontier.map { usable[$0] }.sorted { a, b in
            for k in 1..<a.values.count where a.values[k] != b.values[k] { return a.values[k] > b.values[k] }
            if a.values[0] != b.values[0] { return a.values[0] < b.values[0] }
            return a.config.configKey < b.config.configKey
        }
        let dominated = usable.indices.filter { !onFrontier.contains($0) }.map { usable[$0].config.configKey }
        let withinNoise = usable.indices.filter { onFrontier.contains($0) && !exactly.contains($0) }
            .map { usable[$0].config.configKey }
        return ParetoFrontier(group: group, measures: measures, configKeys: ordered.map(\.config.configKey),
                              dominated: dominated, excluded: excluded, withinNoise: withinNoise)
    }

    /// Every group's frontiers, groups sorted, each in `allMeasureSets` order.
    public static func frontiers(_ configs: [ConfigAggregate]) -> [ParetoFrontier] {
        Set(configs.map(\.group)).sorted().flatMap { group in
            allMeasureSets.map { frontier(configs, group: group, measures: $0) }
        }
    }
}
