import Foundation

/// Which baseline measurement a ratio was divided by, so a reader can tell "0.61× against a
/// baseline measured two trials earlier on the same agent" from "0.61× against the median of
/// baselines measured hours apart".
public struct BaselineUse: Codable, Sendable, Equatable {
    /// The paired measurement's id ("agent-1/baseline#3"), or the baseline configuration's key.
    public var id: String
    /// True for a baseline measured beside the trial (`PairedBaselineRef`); false for the group's
    /// baseline configuration, the median of its repeats.
    public var paired: Bool
    public var agentId: String?
    /// RFC 3339; nil for the group's baseline.
    public var measuredAt: String?
    /// Trials the agent ran between the baseline and the trial.
    public var trialsBefore: Int?

    public init(id: String, paired: Bool, agentId: String? = nil, measuredAt: String? = nil, trialsBefore: Int? = nil) {
        self.id = id
        self.paired = paired
        self.agentId = agentId
        self.measuredAt = measuredAt
        self.trialsBefore = trialsBefore
    }

    public init(_ ref: PairedBaselineRef) {
        self.init(id: ref.id, paired: true, agentId: ref.agentId, measuredAt: ref.measuredAt, trialsBefore: ref.trialsBefore)
    }
}

/// A configuration's measure divided, repeat by repeat, by the baseline measured beside that
/// repeat (`TrialRecord.pairedBaseline`): the median of the per-repeat ratios, with an interval.
///
/// Each repeat's ratio interval is the conservative `[low_a / high_b, high_a / low_b]` of its own
/// interval and its baseline's (a side without an interval counts as its point value; a repeat
/// where neither side has one has no interval); the repeats' ratios and intervals are then
/// combined as every other measure is (`RepeatInterval`). Repeats without a paired baseline that
/// has the measure are left out (`repeats` says how many were used).
public struct PairedRatio: Codable, Sendable, Equatable {
    public var measure: FrontierMeasure
    public var ratio: Double
    public var interval: ConfidenceInterval?
    /// Repeats that had the measure and a paired baseline with it.
    public var repeats: Int
    /// The baseline measurements used, in repeat order, each once.
    public var baselines: [BaselineUse]

    public init(measure: FrontierMeasure, ratio: Double, interval: ConfidenceInterval?, repeats: Int,
                baselines: [BaselineUse]) {
        self.measure = measure
        self.ratio = ratio
        self.interval = interval
        self.repeats = repeats
        self.baselines = baselines
    }

    /// The paired ratio of `measure` over `repeats` (sorted in repeat order); nil when no repeat
    /// has both the measure and a paired baseline with it.
    public static func of(_ repeats: [TrialRecord], measure: FrontierMeasure) -> PairedRatio? {
        var ratios: [Double] = [], intervals: [ConfidenceInterval?] = [], used: [BaselineUse] = []
        for record in repeats {
            guard let base = record.pairedBaseline, let b = base.value(measure), b > 0,
                  let a = record.value(measure) else { continue }
            ratios.append(a / b)
            let own = record.interval(measure), theirs = base.interval(measure)
            intervals.append(own == nil && theirs == nil ? nil
                : ConfidenceInterval.ratio(own ?? .point(a), theirs ?? .point(b)))
            let use = BaselineUse(base)
            if !used.contains(use) { used.append(use) }
        }
        guard !ratios.isEmpty else { return nil }
        return PairedRatio(measure: measure, ratio: Percentiles.median(ratios),
                           interval: RepeatInterval.combine(ratios, intervals), repeats: ratios.count, baselines: used)
    }
}
