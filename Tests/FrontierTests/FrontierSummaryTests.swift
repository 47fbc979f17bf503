import Foundation
import Testing
@testable import FrontierAnalysis


/// Summaries (baseline, within-N-points selections, knee, diminishing returns) and the
/// cross-device comparison, on constructed curves whose answers are known.
@Suite struct FrontierSummaryTests {
    static let group = FrontierGroup(task: "SST-2", model: "m", deviceClass: "cpu")

    static func trial(_ key: String, _ metric: Double?, j: Double? = nil, p50: Double? = nil, device: String = "cpu",
                      baseline: Bool = false, r: Int = 0, status: TrialRecord.Status = .accepted,
                      source: String = "rapl") -> TrialRecord {
        ParetoFrontierTests.trial(key, metric, j: j, p50: p50, r: r, device: device, status: status, source: source,
                                  baseline: baseline)
    }

    static func summary(_ records: [TrialRecord], options: FrontierSummary.Options = .init()) -> FrontierSummary {
        let analysis = FrontierAnalysis(records: records, options: .init(summary: options))
        return analysis.summary(analysis.groups.first { $0.deviceClass == "cpu" }!)!
    }

    static func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    // MARK: - Baseline and within-N-points

    static let closeCall = [
        trial("base", 0.90, j: 1.0, p50: 10, baseline: true),
        trial("x", 0.895, j: 0.3, p50: 8),   // −0.5 pt
        trial("edge", 0.89, j: 0.35, p50: 9), // exactly −1 pt: inside
        trial("y", 0.885, j: 0.1, p50: 12),  // −1.5 pt
        trial("w", 0.881, j: 0.9, p50: 4),   // −1.9 pt
        trial("z", 0.86, j: 0.05, p50: 1),   // −4 pt
    ]

    @Test func picksTheCheapestConfigurationWithinOneAndTwoPoints() throws {
        let s = Self.summary(Self.closeCall)
        #expect(s.baseline?.configKey == "base")
        #expect(s.within.map(\.points) == [1, 2])
        let one = s.within[0], two = s.within[1]
        #expect(one.minEnergy?.configKey == "x")
        #expect(Self.close(one.energyRatio, 0.3))
        #expect(one.minLatency?.configKey == "x")
        #expect(Self.close(one.latencyRatio, 0.8))
        #expect(two.minEnergy?.configKey == "y")
        #expect(Self.close(two.energyRatio, 0.1))
        #expect(two.minLatency?.configKey == "w")
        #expect(Self.close(two.latencyRatio, 0.4))
    }

    @Test func theBoundaryIsInclusive() {
        // Without x, the cheapest within 1 point is the one exactly 1 point below.
        let s = Self.summary(Self.closeCall.filter { $0.configKey != "x" })
        #expect(s.within[0].minEnergy?.configKey == "edge")
    }

    @Test func theBaselineQualifiesWhenNothingBeatsIt() {
        let s = Self.summary([Self.trial("base", 0.9, j: 1, p50: 1, baseline: true), Self.trial("bad", 0.5, j: 0.1, p50: 0.1)])
        #expect(s.within[0].minEnergy?.configKey == "base")
        #expect(s.within[0].energyRatio == 1)
    }

    @Test func customPointsAndTiesGoToTheHigherMetric() {
        let s = Self.summary([Self.trial("base", 0.9, j: 1, baseline: true), Self.trial("a", 0.80, j: 0.5),
                              Self.trial("b", 0.85, j: 0.5)], options: .init(withinPoints: [10]))
        #expect(s.within.count == 1)
        #expect(s.within[0].minEnergy?.configKey == "b")
        #expect(s.within[0].minLatency == nil) // nobody has a latency
    }

    @Test func noBaselineMeansNoSelectionAndANote() {
        let s = Self.summary([Self.trial("a", 0.9, j: 1)])
        #expect(s.baseline == nil)
        #expect(s.within.isEmpty)
        #expect(s.notes.contains("no accepted dense fp32 baseline"))
    }

    @Test func baselineJoulesPerCorrectAndFailedCount() {
        let s = Self.summary([Self.trial("base", 0.8, j: 2, baseline: true),
                              Self.trial("gone", nil, status: .failed), Self.trial("gone", nil, r: 1, status: .failed)])
        #expect(Self.close(s.baseline?.joulesPerCorrect, 2.5))
        #expect(s.failedTrials == 2)
        #expect(s.configurations == 1)
    }

    @Test func baselineRepeatsAreMedians() {
        let s = Self.summary([Self.trial("base", 0.90, j: 1.0, baseline: true, r: 0),
                              Self.trial("base", 0.92, j: 3.0, baseline: true, r: 1),
                              Self.trial("base", 0.91, j: 2.0, baseline: true, r: 2)])
        #expect(s.baseline?.metric == 0.91)
        #expect(s.baseline?.joulesPerExample == 2.0)
    }

    // MARK: - Knee

    /// A saturating curve: energy doubles each step; most of the gain comes with the first doubling.
    static let saturating = [
        trial("j1", 0.50, j: 1), trial("j2", 0.85, j: 2), trial("j4", 0.88, j: 4), trial("j8", 0.90, j: 8),
        trial("dominated", 0.70, j: 3),
    ]

    @Test func theKneeIsTheFrontierPointFarthestAboveTheChord() throws {
        let s = Self.summary(Self.saturating)
        let knee = try #require(s.knee)
        #expect(knee.config.configKey == "j2")
        // x = log2(2)/log2(8) = 1/3, y = (0.85 − 0.5)/(0.9 − 0.5) = 0.875.
        #expect(Self.close(knee.distance, (0.875 - 1.0 / 3) / 2.0.squareRoot(), 1e-12))
    }

    @Test func noKneeOnAStraightLineOrWithTooFewPoints() {
        // Straight in (log2 J, metric): every point on the chord.
        #expect(Self.summary([Self.trial("a", 0.5, j: 1), Self.trial("b", 0.6, j: 2), Self.trial("c", 0.7, j: 4)]).knee == nil)
        #expect(Self.summary([Self.trial("a", 0.5, j: 1), Self.trial("b", 0.6, j: 2)]).knee == nil)
        #expect(Self.summary([Self.trial("a", 0.5, j: 1)]).knee == nil)
        // Convex the other way: every point below the chord.
        #expect(Self.summary([Self.trial("a", 0.5, j: 1), Self.trial("b", 0.52, j: 2), Self.trial("c", 0.9, j: 4)]).knee == nil)
    }

    // MARK: - Diminishing returns

    /// Gains per doubling: 10, 0.2, 0.1, 4.7 points.
    static let plateau = [
        trial("a", 0.70, j: 1), trial("b", 0.80, j: 2), trial("c", 0.802, j: 4), trial("d", 0.803, j: 8),
        trial("e", 0.85, j: 16),
    ]

    @Test func diminishingStretchesMergeAdjacentFlatSegments() throws {
        let s = Self.summary(Self.plateau)
        #expect(s.energySegments.count == 4)
        #expect(Self.close(s.energySegments[0].pointsPerDoubling, 10))
        #expect(Self.close(s.energySegments[3].pointsPerDoubling, 4.7))
        #expect(s.diminishingReturns.count == 1)
        let stretch = try #require(s.diminishingReturns.first)
        #expect(stretch.fromConfigKey == "b")
        #expect(stretch.toConfigKey == "d")
        #expect(stretch.segments == 2)
        #expect(Self.close(stretch.doublings, 2))
        #expect(Self.close(stretch.pointsPerDoubling, 0.15))
        #expect(s.diminishingPointsPerDoubling == 0.5)
    }

    @Test func theThresholdIsAParameter() {
        let strict = Self.summary(Self.plateau, options: .init(diminishingPointsPerDoubling: 0.15))
        #expect(strict.diminishingReturns.map(\.fromConfigKey) == ["c"])
        let loose = Self.summary(Self.plateau, options: .init(diminishingPointsPerDoubling: 5))
        #expect(loose.diminishingReturns.map { [$0.fromConfigKey, $0.toConfigKey] } == [["b", "e"]])
    }

    @Test func tiedFrontierPointsMakeNoSegment() {
        let s = Self.summary([Self.trial("a", 0.7, j: 1), Self.trial("a2", 0.7, j: 1), Self.trial("b", 0.8, j: 2)])
        #expect(s.energySegments.count == 1)
        #expect(s.energySegments[0].fromConfigKey == "a")
        #expect(s.diminishingReturns.isEmpty)
    }

    // MARK: - Cross-device

    static let devices = [
        trial("base", 0.9, j: 1.0, p50: 10, device: "a-cpu", baseline: true),
        trial("base", 0.9, j: 0.25, p50: 2, device: "b-gpu", baseline: true, source: "nvml"),
        trial("base", 0.9, j: 2.0, p50: 1, device: "c-arm", baseline: true, source: "estimated"),
        trial("int8", 0.89, j: 0.5, p50: 5, device: "a-cpu"),
        trial("int8", 0.89, j: 0.5, p50: 6, device: "b-gpu"),
        trial("gpuOnly", 0.8, j: 0.1, p50: 1, device: "b-gpu"),
    ]

    @Test func ratiosAgainstTheFirstDeviceClassAlphabetically() throws {
        let x = CrossDeviceComparison.compare(RepeatAggregation.aggregate(Self.devices))
        #expect(x.referenceDeviceClass == "a-cpu")
        #expect(x.deviceClasses == ["a-cpu", "b-gpu", "c-arm"])
        #expect(x.rows.map(\.configKey) == ["base", "gpuOnly", "int8"]) // baseline first
        let base = x.rows[0]
        #expect(base.cell("a-cpu")?.energyRatio == 1)
        #expect(base.cell("b-gpu")?.energyRatio == 0.25)
        #expect(base.cell("b-gpu")?.latencyRatio == 0.2)
        #expect(base.cell("c-arm")?.energyRatio == 2)
        #expect(base.cell("c-arm")?.energyEstimated == true)
        #expect(base.bestEnergy == "b-gpu")
        #expect(base.bestLatency == "c-arm")
        let int8 = x.rows[2]
        #expect(int8.bestEnergy == "a-cpu") // a tie goes to the first alphabetically
        #expect(int8.bestLatency == "a-cpu")
        let gpuOnly = x.rows[1]
        #expect(gpuOnly.cells.map(\.deviceClass) == ["b-gpu"])
        #expect(gpuOnly.cell("b-gpu")?.energyRatio == nil) // the reference did not run it
        #expect(gpuOnly.bestEnergy == "b-gpu")
    }

    @Test func anExplicitReferenceDeviceClass() {
        let x = CrossDeviceComparison.compare(RepeatAggregation.aggregate(Self.devices), reference: "b-gpu")
        #expect(x.referenceDeviceClass == "b-gpu")
        #expect(x.rows[0].cell("a-cpu")?.energyRatio == 4)
        #expect(x.rows[0].cell("a-cpu")?.latencyRatio == 5)
        #expect(x.rows[1].cell("b-gpu")?.energyRatio == 1)
    }

    @Test func analysisCountsAndGroups() {
        let records = Self.devices + [Self.trial("p", nil, device: "a-cpu", status: .pending),
                                      Self.trial("f", nil, device: "d-new", status: .failed)]
        let analysis = FrontierAnalysis(records: records)
        #expect(analysis.counts == .init(total: 8, accepted: 6, failed: 1, pending: 1, running: 0))
        #expect(analysis.groups.map(\.deviceClass) == ["a-cpu", "b-gpu", "c-arm", "d-new"])
        #expect(analysis.summary(analysis.groups[3])?.failedTrials == 1)
        #expect(analysis.summary(analysis.groups[3])?.configurations == 0)
        #expect(analysis.frontiers.count == 3 * Pareto.allMeasureSets.count) // only groups with configurations
        #expect(FrontierAnalysis(records: records) == analysis) // deterministic
    }

    // MARK: - Noise (issue 14)

    static func ci(_ low: Double, _ high: Double) -> ConfidenceInterval { ConfidenceInterval(low: low, high: high, level: 0.95) }

    @Test func aTieWithinNoiseIsSaidToBeOne() throws {
        // bf16: one example of 256 more, latency equal within noise: no 0.99× "speed-up".
        let s = Self.summary(ParetoFrontierTests.bf16AndFp32())
        let latency = try #require(s.within[0].latency)
        #expect(latency.config.configKey == "bf16")
        #expect(latency.verdict == .indistinguishable)
        #expect(latency.indistinguishableFromBaseline)
        let interval = try #require(s.within[0].latencyRatioInterval)
        #expect(interval.contains(1))
        // Conservative: [4.55 / 4.72, 4.70 / 4.56].
        #expect(Self.close(interval.low, 4.55 / 4.72) && Self.close(interval.high, 4.70 / 4.56))
        #expect(latency.baselineUsed == [BaselineUse(id: "fp32", paired: false)])
        // A saving beyond the noise is one.
        let fast = Self.summary(ParetoFrontierTests.bf16AndFp32(fp32Latency: Self.ci(9, 10)).map {
            var r = $0
            if r.configKey == "fp32" { r.latencyP50Ms = 9.5 }
            return r
        })
        #expect(fast.within[0].latency?.verdict == .better)
        #expect(fast.within[0].latency?.indistinguishableFromBaseline == false)
        // Without any interval the ratio is a comparison of medians, and says so.
        #expect(Self.summary(Self.closeCall).within[0].energy?.verdict == .pointValues)
    }

    @Test func disturbedAndCollapsedConfigurationsAreNotPicked() throws {
        var noisy = Self.trial("noisy", 0.90, j: 0.01, p50: 0.931)
        noisy.disturbed = true
        noisy.interferenceSummary = "other processes 0.93 cores, steal 0%"
        var dead = Self.trial("dead", 0.899, j: 0.02, p50: 0.5)
        dead.chanceLevel = 0.9 // a task where the majority class is 90 %
        let honest = Self.trial("int8", 0.895, j: 0.3, p50: 2)
        var base = Self.trial("base", 0.90, j: 1, p50: 10, baseline: true)
        base.chanceLevel = 0.5
        let s = Self.summary([base, noisy, dead, honest])
        #expect(s.within[0].minEnergy?.configKey == "int8")
        #expect(s.within[0].minLatency?.configKey == "int8")
        #expect(s.within[0].notes.isEmpty)
        #expect(s.disturbedConfigKeys == ["noisy"])
        #expect(s.collapsedConfigKeys == ["dead"])
        #expect(s.chanceLevel == 0.5) // the baseline's
        // When nothing else qualifies, the pick is made among them, and a note says so.
        var baseDisturbed = base
        baseDisturbed.disturbed = true
        let only = Self.summary([baseDisturbed, noisy])
        #expect(only.within[0].minEnergy?.configKey == "noisy")
        #expect(only.within[0].notes.contains { $0.contains("only disturbed or collapsed configurations") })
        #expect(only.notes.contains { $0.contains("the baseline itself was measured through interference") })
    }

    @Test func collapsedPointsAnchorNoKnee() {
        // j1 sits at chance: the knee is looked for from j2 on, not in the climb out of chance.
        var chance = Self.saturating
        chance[0].chanceLevel = 0.5
        #expect(Self.summary(Self.saturating).knee?.config.configKey == "j2")
        #expect(Self.summary(chance).knee?.config.configKey == "j4")
        #expect(Self.summary(chance).energySegments.first?.fromConfigKey == "j2")
    }

    @Test func ratiosUseTheBaselineMeasuredBesideEachRepeat() throws {
        func paired(_ r: Int, latency: Double, base: Double) -> TrialRecord {
            var t = Self.trial("int8", 0.899, p50: latency, r: r)
            t.pairedBaseline = PairedBaselineRef(id: "agent-1/baseline#\(r + 3)", agentId: "agent-1",
                                                 measuredAt: "2026-12-01T12:03:1\(r)Z", trialsBefore: 2, latencyP50Ms: base)
            return t
        }
        // The group's baseline median is 10 ms, measured in a quiet hour; the machine has since
        // slowed down twofold, and the baselines beside int8's repeats say so.
        let records = [Self.trial("base", 0.90, p50: 10, baseline: true), paired(0, latency: 5, base: 20),
                       Self.trial("other", 0.899, p50: 6)]
        let s = Self.summary(records)
        let latency = try #require(s.within[0].latency)
        #expect(latency.config.configKey == "int8")
        #expect(latency.ratio == 0.25) // not 5 / 10
        #expect(latency.baselineUsed == [BaselineUse(id: "agent-1/baseline#3", paired: true, agentId: "agent-1",
                                                     measuredAt: "2026-12-01T12:03:10Z", trialsBefore: 2)])
        // Median over repeats of the per-repeat ratios.
        let three = Self.summary([Self.trial("base", 0.90, p50: 10, baseline: true), paired(0, latency: 5, base: 20),
                                  paired(1, latency: 6, base: 10), paired(2, latency: 4, base: 20)])
        #expect(three.within[0].latency?.ratio == 0.25)
        #expect(three.within[0].latency?.baselineUsed.count == 3)
        // A configuration without paired baselines is divided by the group's baseline median.
        let plain = Self.summary(records.filter { $0.configKey != "int8" })
        #expect(plain.within[0].latency?.ratio == 0.6)
        #expect(plain.within[0].latency?.baselineUsed.first?.paired == false)
    }

    @Test func energyNotesAndBasesPerGroup() {
        var a = Self.trial("base", 0.9, j: 1, baseline: true, source: "estimated")
        a.energyNotes = ["no RAPL zones under /sys/class/powercap on this machine"]
        a.energyBasis = "gross/offline"
        var b = Self.trial("b", 0.8, j: 0.5)
        b.energyBasis = "net/offline"
        let s = Self.summary([a, b])
        #expect(s.energyConfigurations == 2 && s.estimatedEnergyConfigurations == 1)
        #expect(s.energyNotes == ["no RAPL zones under /sys/class/powercap on this machine"])
        #expect(s.energyBases == ["gross/offline", "net/offline"])
        #expect(s.notes.contains { $0.contains("2 bases") && $0.contains("not comparable") })
    }
}
