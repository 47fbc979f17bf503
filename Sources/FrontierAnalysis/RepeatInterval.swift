import Foundation

/// The interval of a configuration's median from its repeats: how the repeats' values and the
/// intervals each repeat measured itself with become one interval.
///
/// - **1 repeat**: that repeat's interval (nil when it has none: a single value says nothing
///   about its own noise).
/// - **2 repeats**: the hull of both values and both intervals. Two values cannot be
///   bootstrapped; the hull is the honest "somewhere in here".
/// - **3 or more**: the seeded percentile bootstrap of the median of the repeat values, widened to
///   hold the *typical* repeat's own interval, [median of the lows, median of the highs]. The
///   bootstrap alone sees only the spread between repeats: for accuracy, repeats of a
///   deterministic evaluation agree exactly and would get an interval of no width, though the dev
///   set's sampling error (the Wilson interval) is the same for each. The typical interval rather
///   than the hull of all of them keeps the median's robustness: one repeat measured through a
///   neighbour's compile does not widen everything.
public enum RepeatInterval {
    /// `values[i]` with its interval `intervals[i]` (nil where the repeat measured none).
    public static func combine(_ values: [Double], _ intervals: [ConfidenceInterval?],
                               level: Double = 0.95) -> ConfidenceInterval? {
        precondition(values.count == intervals.count, "one interval slot per value")
        let own = intervals.compactMap { $0 }
        switch values.count {
        case 0: return nil
        case 1: return intervals[0]
        case 2: return ConfidenceInterval.hull(own, values: values)
        default:
            guard let spread = ConfidenceInterval.bootstrapMedian(values, level: level) else { return nil }
            guard !own.isEmpty else { return spread }
            let typical = ConfidenceInterval(low: Percentiles.median(own.map(\.low)),
                                             high: Percentiles.median(own.map(\.high)), level: level)
            return ConfidenceInterval.hull([spread, typical])
        }
    }
}
