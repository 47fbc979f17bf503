/// Nearest-rank percentiles (the MLPerf / textbook definition: the smallest value with at
/// least p% of the samples at or below it), so p99 of 100 samples is the 99th smallest.
public enum Percentiles {
    public static func nearestRank(_ sorted: [Double], _ percent: Double) -> Double {
        precondition(!sorted.isEmpty, "percentile of no samples")
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    public static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "median of no samples")
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
