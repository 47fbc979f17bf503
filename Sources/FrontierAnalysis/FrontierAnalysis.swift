import Foundation

/// Everything the report shows, computed once from the trials: the aggregated configurations,
/// every frontier, the summaries and the cross-device comparison. Pure: the same records give
/// the same analysis (everything is sorted).
public struct FrontierAnalysis: Codable, Sendable, Equatable {
    public struct Options: Codable, Sendable, Equatable {
        public var summary: FrontierSummary.Options
        /// The device class cross-device ratios are taken against; nil: the first alphabetically.
        public var referenceDeviceClass: String?

        public init(summary: FrontierSummary.Options = .init(), referenceDeviceClass: String? = nil) {
            self.summary = summary
            self.referenceDeviceClass = referenceDeviceClass
        }
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var total = 0
        public var accepted = 0
        public var failed = 0
        public var pending = 0
        public var running = 0
    }

    public var options: Options
    public var counts: Counts
    /// Groups with accepted configurations or failed trials, sorted.
    public var groups: [FrontierGroup]
    public var configurations: [ConfigAggregate]
    public var frontiers: [ParetoFrontier]
    public var summaries: [FrontierSummary]
    public var crossDevice: CrossDeviceComparison
    public var failedTrials: [TrialRecord]
    /// Configurations the sweep trained: their training cost and when it is paid back.
    public var training: [TrainingBreakEven] = []

    public init(records: [TrialRecord], options: Options = .init()) {
        self.options = options
        var counts = Counts(total: records.count)
        for record in records {
            switch record.status {
            case .accepted: counts.accepted += 1
            case .failed: counts.failed += 1
            case .pending: counts.pending += 1
            case .running: counts.running += 1
            }
        }
        self.counts = counts
        configurations = RepeatAggregation.aggregate(records)
        failedTrials = RepeatAggregation.failedTrials(records)
        frontiers = Pareto.frontiers(configurations)
        summaries = FrontierSummary.summaries(configurations, frontiers: frontiers, failed: failedTrials,
                                              options: options.summary)
        groups = summaries.map(\.group)
        crossDevice = CrossDeviceComparison.compare(configurations, reference: options.referenceDeviceClass)
        training = TrainingBreakEven.rows(configurations, frontiers: frontiers)
    }

    public func configurations(in group: FrontierGroup) -> [ConfigAggregate] {
        configurations.filter { $0.group == group }
    }

    public func frontier(_ group: FrontierGroup, _ measures: [FrontierMeasure]) -> ParetoFrontier? {
        frontiers.first { $0.group == group && $0.measures == measures }
    }

    public func summary(_ group: FrontierGroup) -> FrontierSummary? { summaries.first { $0.group == group } }
}
