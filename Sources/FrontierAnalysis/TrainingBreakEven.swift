import Foundation

/// Whether a configuration that needed training pays for it: its training joules against what
/// it saves per inference over the group's baseline. A retrained pruned model that spends 2 kJ
/// on training and saves 2 mJ per query has paid for itself after 10⁶ queries; one that saves
/// nothing never does. Amortised joules per query at 10³, 10⁶ and 10⁹ queries show the same
/// thing as a single number a deployment can compare.
public struct TrainingBreakEven: Codable, Sendable, Equatable {
    public var group: FrontierGroup
    public var configKey: String
    public var technique: String
    public var cost: TrainingCost
    /// The configuration's inference joules per example (median over repeats), and the baseline's.
    public var joulesPerExample: Double?
    public var baselineJoulesPerExample: Double?
    /// Baseline minus configuration: what each query saves (negative: it costs more).
    public var savingPerQuery: Double?
    /// Queries after which the training is paid back; nil when nothing is saved (never) or a
    /// figure is missing.
    public var breakEvenQueries: Double?
    /// Joules per query with the training spread over 10³, 10⁶ and 10⁹ queries (keys "1e3", …).
    public var amortised: [String: Double]
    /// On the group's accuracy–energy frontier (before training is counted).
    public var onEnergyFrontier: Bool

    public static let queryCounts: [(key: String, count: Double)] = [("1e3", 1e3), ("1e6", 1e6), ("1e9", 1e9)]

    /// One row per configuration with a training cost, in group then configuration order.
    public static func rows(_ configs: [ConfigAggregate], frontiers: [ParetoFrontier]) -> [TrainingBreakEven] {
        var out: [TrainingBreakEven] = []
        for config in configs {
            guard let cost = config.training else { continue }
            let baseline = configs.first { $0.group == config.group && $0.isBaseline }
            let mine = config.value(.joulesPerExample)
            let theirs = baseline?.value(.joulesPerExample)
            let saving = mine.flatMap { m in theirs.map { $0 - m } }
            var amortised: [String: Double] = [:]
            if let mine, let joules = cost.joules {
                for (key, count) in queryCounts {
                    amortised[key] = TrainingCost.amortised(inferenceJoules: mine, trainingJoules: joules, queries: count)
                }
            }
            let frontier = frontiers.first { $0.group == config.group && $0.measures == [.joulesPerExample] }
            out.append(TrainingBreakEven(
                group: config.group, configKey: config.configKey, technique: config.technique, cost: cost,
                joulesPerExample: mine, baselineJoulesPerExample: theirs, savingPerQuery: saving,
                breakEvenQueries: saving.flatMap { s in cost.joules.flatMap { TrainingCost.breakEvenQueries(extraJoules: $0, savingPerQuery: s) } },
                amortised: amortised, onEnergyFrontier: frontier?.configKeys.contains(config.configKey) ?? false))
        }
        return out
    }
}
