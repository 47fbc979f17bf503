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
}
