import FrontierAnalysis

/// Resampling intervals for what a worker measures: seeded (the same data always gives the same
/// interval, on every machine) and bounded in cost, because a tiny model runs a hundred thousand
/// queries a second and the interval must not take longer than the measurement.
enum MeasurementBootstrap {
    static let resamples = 1000
    static let level = 0.95

    /// The distribution-free interval of a median from order statistics: with n samples sorted,
    /// ranks n/2 ∓ z·√n/2 cover the population median with the level's probability. Exact in
    /// cost (no resampling), so it suits 10⁵ latencies as well as 10³. Nil below 6 samples.
    static func medianInterval(sorted samples: [Double], level: Double = level) -> ConfidenceInterval? {
        let n = samples.count
        guard n >= 6 else { return nil }
        let z = level >= 0.99 ? 2.5758293035489004 : (level <= 0.90 ? 1.6448536269514722 : 1.959963984540054)
        let half = z * Double(n).squareRoot() / 2
        let lo = max(0, Int((Double(n) / 2 - half).rounded(.down)) - 1)
        let hi = min(n - 1, Int((Double(n) / 2 + half).rounded(.up)))
        return ConfidenceInterval(low: samples[lo], high: samples[hi], level: level)
    }

    /// A percentile-bootstrap interval of Σnumerators ÷ Σdenominators (examples ÷ seconds over
    /// timed batches). More than `maxBlocks` units are first merged into contiguous blocks — a
    /// block bootstrap, which also keeps the slow stretch a neighbour caused together.
    static func ratioOfSums(_ numerators: [Double], _ denominators: [Double], maxBlocks: Int = 256,
                           level: Double = level, seed: UInt64 = 0x5EED) -> ConfidenceInterval? {
        precondition(numerators.count == denominators.count)
        var num = numerators, den = denominators
        if num.count > maxBlocks {
            let per = (num.count + maxBlocks - 1) / maxBlocks
            num = stride(from: 0, to: numerators.count, by: per).map { numerators[$0..<min($0 + per, numerators.count)].reduce(0, +) }
            den = stride(from: 0, to: denominators.count, by: per).map { denominators[$0..<min($0 + per, denominators.count)].reduce(0, +) }
        }
        guard num.count >= 3 else { return nil }
        var rng = SeededResampler(seed: seed)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var a = 0.0, b = 0.0
            for _ in 0..<num.count {
                let k = rng.index(num.count)
                a += num[k]
                b += den[k]
            }
            if b > 0 { stats.append(a / b) }
        }
        return percentiles(stats, level: level)
    }

    /// A percentile-bootstrap interval of `statistic` over resampled indices 0..<count (per-example
    /// scores of a dev set). Nil for fewer than 3 items or a statistic that is never finite.
    static func statistic(count: Int, level: Double = level, seed: UInt64 = 0x5EED, _ statistic: ([Int]) -> Double) -> ConfidenceInterval? {
        guard count >= 3 else { return nil }
        var rng = SeededResampler(seed: seed)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        var draw = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            for k in 0..<count { draw[k] = rng.index(count) }
            let value = statistic(draw)
            if value.isFinite { stats.append(value) }
        }
        return percentiles(stats, level: level)
    }

    static func percentiles(_ values: [Double], level: Double) -> ConfidenceInterval? {
        values.count >= 10 ? ConfidenceInterval.percentileInterval(sorted: values.sorted(), level: level) : nil
    }

    /// `point`'s interval scaled from another estimate's: when two quantities move together
    /// (joules per example and seconds per example at a steady power), the relative uncertainty
    /// of one carries to the other.
    static func scaled(_ interval: ConfidenceInterval?, from estimate: Double, to point: Double, inverse: Bool = false) -> ConfidenceInterval? {
        guard let interval, estimate > 0, point.isFinite else { return nil }
        let (lo, hi) = inverse ? (estimate / interval.high, estimate / interval.low) : (interval.low / estimate, interval.high / estimate)
        guard lo.isFinite, hi.isFinite else { return nil }
        return ConfidenceInterval(low: point * lo, high: point * hi, level: interval.level)
    }
}
