import Foundation

/// The configurations of one task × model × device class that no other configuration beats on
/// the metric and the measures at once.
///
/// Definitions:
/// - a configuration *dominates* another when it is at least as good on the metric and on every
///   measure and strictly better on at least one (the metric and throughput are maximised, energy,
///   latency and memory minimised; medians of the repeats);
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
        func dominates(_ a: [Double], _ b: [Double]) -> Bool {
            var strictly = false
            for (x, y) in zip(a, b) {
                if x < y { return false }
                if x > y { strictly = true }
            }
            return strictly
        }
        return vectors.indices.filter { i in
            !vectors.indices.contains { j in j != i && dominates(vectors[j], vectors[i]) }
        }
    }

    /// The frontier of `configs` (one group's; others are ignored) for the metric against `measures`.
    public static func frontier(_ configs: [ConfigAggregate], group: FrontierGroup,
                                measures: [FrontierMeasure]) -> ParetoFrontier {
        let mine = configs.filter { $0.group == group }.sorted { $0.configKey < $1.configKey }
        var usable: [(config: ConfigAggregate, values: [Double])] = []
        var excluded: [ParetoFrontier.Exclusion] = []
        for config in mine {
            var missing: [String] = []
            let metric = frontierFinite(config.metricValue)
            if metric == nil { missing.append("metric") }
            var values: [Double] = []
            for measure in measures {
                if let v = frontierFinite(config.value(measure)) { values.append(measure.minimise ? -v : v) } else { missing.append(measure.rawValue) }
            }
            if let metric, missing.isEmpty {
                usable.append((config, [metric] + values))
            } else {
                excluded.append(.init(configKey: config.configKey, missing: missing))
            }
        }
        let onFrontier = Set(nonDominated(usable.map(\.values)))
        // Best on the first measure first (its oriented value descending), then the later measures,
        // then the metric ascending, then configKey.
        let ordered = onFrontier.map { usable[$0] }.sorted { a, b in
            for k in 1..<a.values.count where a.values[k] != b.values[k] { return a.values[k] > b.values[k] }
            if a.values[0] != b.values[0] { return a.values[0] < b.values[0] }
            return a.config.configKey < b.config.configKey
        }
        let dominated = usable.indices.filter { !onFrontier.contains($0) }.map { usable[$0].config.configKey }
        return ParetoFrontier(group: group, measures: measures, configKeys: ordered.map(\.config.configKey),
                              dominated: dominated, excluded: excluded)
    }

    /// Every group's frontiers, groups sorted, each in `allMeasureSets` order.
    public static func frontiers(_ configs: [ConfigAggregate]) -> [ParetoFrontier] {
        Set(configs.map(\.group)).sorted().flatMap { group in
            allMeasureSets.map { frontier(configs, group: group, measures: $0) }
        }
    }
}
