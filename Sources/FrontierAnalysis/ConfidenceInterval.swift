/// A two-sided interval around a point estimate: what makes "0.93 ms" comparable with
/// "0.95 ms" — or not — on a machine whose numbers move from run to run.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var low: Double
    public var high: Double
    /// Coverage, e.g. 0.95.
    public var level: Double

    public init(low: Double, high: Double, level: Double) {
        self.low = low
        self.high = high
        self.level = level
    }
}

extension ConfidenceInterval {
    /// The two-sided normal quantile for the levels Frontier reports (Acklam's rational
    /// approximation would do for any level; these three cover the options we offer).
    static func z(level: Double) -> Double {
        switch level {
        case 0.90: return 1.6448536269514722
        case 0.99: return 2.5758293035489004
        default: return 1.959963984540054
        }
    }

    /// The Wilson score interval for a proportion: `successes` correct out of `trials` dev
    /// examples. Unlike the normal approximation it stays inside [0, 1] and is honest for small
    /// dev sets and accuracies near 0 or 1 — one example out of 256 moves accuracy by 0.4 pt,
    /// well inside this interval, which is what makes "bf16 beats fp32" a tie. Nil for no trials.
    public static func wilson(successes: Int, trials: Int, level: Double = 0.95) -> ConfidenceInterval? {
        guard trials > 0, successes >= 0, successes <= trials else { return nil }
        let n = Double(trials), p = Double(successes) / n, z = Self.z(level: level)
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / denominator
        return ConfidenceInterval(low: max(0, centre - half), high: min(1, centre + half), level: level)
    }

    /// A percentile-bootstrap interval of the median of `samples` (per-query latencies, or
    /// per-pass throughputs): resampled with replacement `resamples` times from a fixed seed,
    /// so the same samples always give the same interval. Nil for no samples.
    public static func bootstrapMedian(_ samples: [Double], resamples: Int = 1000, level: Double = 0.95,
                                       seed: UInt64 = 0x5EED) -> ConfidenceInterval? {
        guard !samples.isEmpty, resamples > 0 else { return nil }
        var rng = SeededResampler(seed: seed)
        var medians: [Double] = []
        medians.reserveCapacity(resamples)
        var draw = [Double](repeating: 0, count: samples.count)
        for _ in 0..<resamples {
            for k in draw.indices { draw[k] = samples[rng.index(samples.count)] }
            medians.append(Percentiles.median(draw))
        }
        return percentileInterval(sorted: medians.sorted(), level: level)
    }

    /// The central `level` of sorted bootstrap statistics (nearest rank at each tail).
    package static func percentileInterval(sorted: [Double], level: Double) -> ConfidenceInterval {
        let tail = (1 - level) / 2
        return ConfidenceInterval(low: Percentiles.nearestRank(sorted, tail * 100),
                                  high: Percentiles.nearestRank(sorted, (1 - tail) * 100), level: level)
    }

    /// Whether two intervals share any value: "indistinguishable" when they do.
    public func overlaps(_ other: ConfidenceInterval) -> Bool { low <= other.high && other.low <= high }

    /// Whether `value` lies inside (bounds included).
    public func contains(_ value: Double) -> Bool { low <= value && value <= high }

    /// A point as an interval of no width: what a value without an interval is compared as, so
    /// that comparisons with intervals reduce to exact ones when nothing carries an interval.
    public static func point(_ value: Double, level: Double = 0.95) -> ConfidenceInterval {
        ConfidenceInterval(low: value, high: value, level: level)
    }

    /// The smallest interval holding every interval and value given (nil for none): the
    /// conservative union, used where two repeats are too few to bootstrap.
    public static func hull(_ intervals: [ConfidenceInterval], values: [Double] = []) -> ConfidenceInterval? {
        let lows = intervals.map(\.low) + values, highs = intervals.map(\.high) + values
        guard let low = lows.min(), let high = highs.max() else { return nil }
        return ConfidenceInterval(low: low, high: high, level: intervals.map(\.level).min() ?? 0.95)
    }

    /// The interval of `a ÷ b` from the intervals of `a` and `b`, conservatively
    /// `[a.low / b.high, a.high / b.low]`: every ratio of a value inside `a` to one inside `b`.
    /// Nil unless both are positive (energies, latencies and throughputs are), since a `b` that
    /// may be zero bounds nothing. It contains 1 exactly when `a` and `b` overlap.
    public static func ratio(_ a: ConfidenceInterval, _ b: ConfidenceInterval) -> ConfidenceInterval? {
        guard a.low >= 0, b.low > 0, a.high.isFinite, b.high.isFinite else { return nil }
        return ConfidenceInterval(low: a.low / b.high, high: a.high / b.low, level: min(a.level, b.level))
    }
}

/// SplitMix64 from a fixed seed: every bootstrap in Frontier draws from it, so the same data
/// give the same interval on every machine and in every run.
package struct SeededResampler {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An index in 0..<count.
    package mutating func index(_ count: Int) -> Int { Int(next() % UInt64(count)) }
}
