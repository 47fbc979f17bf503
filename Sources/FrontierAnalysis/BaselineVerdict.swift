import Foundation

/// What a summary pick's ratio to the baseline may honestly claim. A ratio of 0.93× whose
/// interval holds 1 is not a 7 % saving; it is the same cost within noise, and the report says
/// that instead of the number's flattering reading.
///
/// - `baseline`: the pick is the baseline configuration itself;
/// - `indistinguishable`: the metric's intervals overlap the baseline's and the measure's ratio
///   interval holds 1 — within noise, this is the baseline;
/// - `noChangeBeyondNoise`: the measure's ratio interval holds 1 but the metric differs beyond
///   noise — no saving to report;
/// - `better` / `worse`: the ratio interval lies wholly on one side of 1 (better: cheaper or
///   faster; for throughput, higher);
/// - `pointValues`: neither the metric nor the measure has an interval on either side (older
///   results): the ratio is a comparison of medians, nothing more.
public enum BaselineVerdict: String, Codable, Sendable, Equatable {
    case baseline = "the baseline itself"
    case indistinguishable = "indistinguishable from baseline"
    case noChangeBeyondNoise = "no change beyond noise"
    case better = "better than baseline beyond noise"
    case worse = "worse than baseline beyond noise"
    case pointValues = "point values only, no intervals"

    /// The verdict for a configuration whose `measure` is `ratio` (with `ratioInterval`) of the
    /// baseline's, and whose metric interval is `metric` against the baseline's `baselineMetric`
    /// (nil: no interval; then the point values are compared).
    public static func judge(measure: FrontierMeasure, ratio: Double, ratioInterval: ConfidenceInterval?,
                             metric: (value: Double?, interval: ConfidenceInterval?),
                             baselineMetric: (value: Double?, interval: ConfidenceInterval?)) -> BaselineVerdict {
        if ratioInterval == nil, metric.interval == nil, baselineMetric.interval == nil { return .pointValues }
        let measureWithinNoise = ratioInterval?.contains(1) ?? (ratio == 1)
        let metricWithinNoise: Bool
        if let a = frontierFinite(metric.value), let b = frontierFinite(baselineMetric.value) {
            metricWithinNoise = (metric.interval ?? .point(a)).overlaps(baselineMetric.interval ?? .point(b))
        } else {
            metricWithinNoise = false
        }
        if measureWithinNoise { return metricWithinNoise ? .indistinguishable : .noChangeBeyondNoise }
        return (ratio < 1) == measure.minimise ? .better : .worse
    }
}
