import Testing
@testable import FrontierAnalysis

/// The intervals issue 14 puts beside every figure: Wilson for accuracy, a seeded percentile
/// bootstrap for medians.
@Suite struct ConfidenceIntervalTests {
    @Test func wilsonMatchesTheTextbookAndStaysInsideZeroToOne() throws {
        // 81 of 100 at 95 %: Wilson gives [0.7222, 0.8749] (Newcombe 1998, method 3).
        let i = try #require(ConfidenceInterval.wilson(successes: 81, trials: 100))
        #expect(abs(i.low - 0.7222) < 1e-4 && abs(i.high - 0.8749) < 1e-4)
        let all = try #require(ConfidenceInterval.wilson(successes: 10, trials: 10))
        #expect(all.high > 1 - 1e-12 && all.high <= 1 && abs(all.low - 0.7225) < 1e-4)
        let none = try #require(ConfidenceInterval.wilson(successes: 0, trials: 10))
        #expect(none.low >= 0 && none.low < 1e-12 && abs(none.high - 0.2775) < 1e-4)
        #expect(ConfidenceInterval.wilson(successes: 1, trials: 0) == nil)
        #expect(ConfidenceInterval.wilson(successes: 11, trials: 10) == nil)
    }

    @Test func oneExampleOutOf256IsATie() throws {
        let fp32 = try #require(ConfidenceInterval.wilson(successes: 230, trials: 256))
        let bf16 = try #require(ConfidenceInterval.wilson(successes: 231, trials: 256))
        #expect(fp32.overlaps(bf16))
    }

    @Test func theBootstrapIsSeededAndBracketsTheMedian() throws {
        let samples = (0..<200).map { 4 + Double($0 % 17) * 0.01 }
        let a = try #require(ConfidenceInterval.bootstrapMedian(samples))
        let b = try #require(ConfidenceInterval.bootstrapMedian(samples))
        #expect(a == b)
        let median = Percentiles.median(samples)
        #expect(a.low <= median && median <= a.high)
        #expect(a.high - a.low < 0.1)
        // Twice the spread, a wider interval.
        let wide = try #require(ConfidenceInterval.bootstrapMedian(samples.map { 4 + ($0 - 4) * 10 }))
        #expect(wide.high - wide.low > a.high - a.low)
        #expect(ConfidenceInterval.bootstrapMedian([]) == nil)
        #expect(!ConfidenceInterval(low: 1, high: 2, level: 0.95).overlaps(ConfidenceInterval(low: 2.1, high: 3, level: 0.95)))
    }

    @Test func hullRatioAndContainment() throws {
        let a = ConfidenceInterval(low: 1, high: 2, level: 0.95), b = ConfidenceInterval(low: 4, high: 5, level: 0.9)
        #expect(ConfidenceInterval.hull([a, b], values: [0.5]) == ConfidenceInterval(low: 0.5, high: 5, level: 0.9))
        #expect(ConfidenceInterval.hull([]) == nil)
        // Conservative: every ratio of a value in a to one in b.
        let r = try #require(ConfidenceInterval.ratio(a, b))
        #expect(r.low == 0.2 && r.high == 0.5 && r.level == 0.9)
        #expect(!r.contains(1))
        #expect(try #require(ConfidenceInterval.ratio(a, ConfidenceInterval(low: 1.5, high: 3, level: 0.95))).contains(1))
        #expect(ConfidenceInterval.ratio(a, ConfidenceInterval(low: 0, high: 1, level: 0.95)) == nil)
        #expect(ConfidenceInterval.point(3).contains(3) && !ConfidenceInterval.point(3).contains(3.0001))
    }

    @Test func repeatIntervalsByCount() throws {
        let own = ConfidenceInterval(low: 9, high: 11, level: 0.95)
        // One repeat: its own interval, or none.
        #expect(RepeatInterval.combine([10], [own]) == own)
        #expect(RepeatInterval.combine([10], [nil]) == nil)
        #expect(RepeatInterval.combine([], []) == nil)
        // Two: the hull of values and intervals.
        #expect(RepeatInterval.combine([10, 14], [own, nil]) == ConfidenceInterval(low: 9, high: 14, level: 0.95))
        // Three agreeing repeats of a deterministic evaluation: the bootstrap alone has no width;
        // the typical repeat's interval (the sampling error of the dev set) is kept.
        let wilson = try #require(ConfidenceInterval.wilson(successes: 230, trials: 256))
        let same = try #require(RepeatInterval.combine([0.9, 0.9, 0.9], [wilson, wilson, wilson]))
        #expect(same == wilson)
        // One wild repeat's interval does not widen the median's beyond the typical one.
        let wild = ConfidenceInterval(low: 0, high: 100, level: 0.95)
        let robust = try #require(RepeatInterval.combine([10, 10.2, 9.9], [own, own, wild]))
        #expect(robust.low == 9 && robust.high == 11)
        // Without own intervals, the bootstrap of the median; seeded, so repeatable.
        let values = (1...21).map(Double.init)
        let bare = try #require(RepeatInterval.combine(values, Array(repeating: nil, count: 21)))
        #expect(bare.low <= 11 && bare.high >= 11 && bare.low > 1 && bare.high < 21)
        #expect(RepeatInterval.combine(values, Array(repeating: nil, count: 21)) == bare)
    }
}
