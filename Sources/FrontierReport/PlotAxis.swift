import Foundation

/// One axis of a plot: its range, whether it is logarithmic, and its ticks. Pure.
public struct PlotAxis: Sendable, Equatable {
    public var lo: Double
    public var hi: Double
    public var log: Bool
    public var ticks: [Double]
    /// The linear tick step (nil on a log axis): how many decimals the labels need.
    public var step: Double?

    /// An axis covering `values` (non-finite ones ignored). Logarithmic when `allowLog`, every
    /// value is positive and the largest is more than ten times the smallest; then ticks at
    /// 1, 2 and 5 × 10^k when the range spans at most three decades, at powers of ten beyond, and
    /// the range is the tightest pair of ticks around the values.
    /// Otherwise linear with "nice" ticks (1, 2 or 5 × 10^k apart, about five of them) and the
    /// range widened to whole ticks.
    public init(values: [Double], allowLog: Bool, includeZero: Bool = false) {
        var finiteValues = values.filter(\.isFinite)
        if includeZero { finiteValues.append(0) }
        guard var low = finiteValues.min(), var high = finiteValues.max() else {
            self.init(lo: 0, hi: 1, log: false, ticks: [0, 0.5, 1], step: 0.5)
            return
        }
        if allowLog, low > 0, high / low > 10 {
            let decadeLo = Foundation.floor(log10(low) + 1e-9), decadeHi = Foundation.ceil(log10(high) - 1e-9)
            let multiples: [Double] = decadeHi - decadeLo <= 3 ? [1, 2, 5] : [1]
            var candidates: [Double] = []
            var decade = decadeLo
            while decade <= decadeHi {
                for m in multiples { candidates.append(m * pow(10, decade)) }
                decade += 1
            }
            // The tightest candidate ticks around the values.
            let lo = candidates.last { $0 <= low * (1 + 1e-9) } ?? pow(10, decadeLo)
            let hi = candidates.first { $0 >= high * (1 - 1e-9) } ?? pow(10, decadeHi)
            let ticks = candidates.filter { $0 >= lo * (1 - 1e-9) && $0 <= hi * (1 + 1e-9) }
            self.init(lo: lo, hi: hi, log: true, ticks: ticks, step: nil)
            return
        }
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let step = PlotAxis.niceStep((high - low) / 5)
        let lo = Foundation.floor(low / step + 1e-9) * step
        let hi = Foundation.ceil(high / step - 1e-9) * step
        var ticks: [Double] = []
        var i = 0.0
        while lo + i * step <= hi + step * 1e-6 {
            let t = lo + i * step
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            i += 1
        }
        self.init(lo: lo, hi: hi, log: false, ticks: ticks, step: step)
    }

    public init(lo: Double, hi: Double, log: Bool, ticks: [Double], step: Double?) {
        self.lo = lo
        self.hi = hi
        self.log = log
        self.ticks = ticks
        self.step = step
    }

    /// The smallest of 1, 2, 5 × 10^k at least `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let exponent = Foundation.floor(log10(raw))
        let base = pow(10, exponent)
        for m in [1.0, 2, 5, 10] where m * base >= raw * (1 - 1e-9) { return m * base }
        return 10 * base
    }

    /// Where `value` falls, 0 at `lo` and 1 at `hi`.
    public func fraction(_ value: Double) -> Double {
        if log {
            guard value > 0 else { return 0 }
            return (log10(value) - log10(lo)) / (log10(hi) - log10(lo))
        }
        return hi == lo ? 0.5 : (value - lo) / (hi - lo)
    }

    public func label(_ tick: Double) -> String { ReportFormat.tick(tick, step: step) }
}
