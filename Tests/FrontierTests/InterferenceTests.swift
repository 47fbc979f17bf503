import Foundation
import Testing
@testable import FrontierAnalysis
@testable import FrontierFleet
@testable import FrontierGrid
@testable import FrontierMeasurement
@testable import FrontierTasks

private struct Attempt { var interference: WindowInterference?; var label: String; var attempts = 1 }
/// What a runner under test said and waited for. Behind a lock and non-inlined accessors: the
/// release build of the suite otherwise reads these fields stale across the runner's calls.
private final class Log: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    private var _pauses: [Double] = []
    @inline(never) func line(_ text: String) { lock.withLock { _lines.append(text) } }
    @inline(never) func pause(_ seconds: Double) { lock.withLock { _pauses.append(seconds) } }
    @inline(never) var lines: [String] { lock.withLock { _lines } }
    @inline(never) var pauses: [Double] { lock.withLock { _pauses } }
    @inline(never) func clearPauses() { lock.withLock { _pauses = [] } }
}

/// Interference: what `/proc/stat` says about other load during a window, when that makes the
/// window disturbed, and what the worker does about it.
@Suite struct InterferenceTests {
    /// A `/proc` whose counters the test moves, and a clock and own-CPU counter it also moves.
    final class FakeProc {
        let tree: FakeSysfsTree
        let clock = FakeClock()
        let own = FakeCPUTime()
        var busy: UInt64 = 10_000, idle: UInt64 = 50_000, steal: UInt64 = 0, running = 1

        init() throws {
            tree = try FakeSysfsTree()
            try write()
        }

        func write() throws {
            try tree.write("stat", """
                cpu  \(busy) 0 0 \(idle) 0 0 0 \(steal) 0 0
                cpu0 1 0 0 1 0 0 0 0 0 0
                cpu1 1 0 0 1 0 0 0 0 0 0
                intr 1
                procs_running \(running)
                procs_blocked 0
                """)
        }

        /// `seconds` of wall time with the worker using `ownCores` and others `otherCores`
        /// (of 2 CPUs at 100 ticks per second), `stealCores` stolen.
        func pass(_ seconds: Double, ownCores: Double, otherCores: Double, stealCores: Double = 0) throws {
            let busyTicks = UInt64(((ownCores + otherCores) * seconds * 100).rounded())
            let stealTicks = UInt64((stealCores * seconds * 100).rounded())
            busy += busyTicks
            steal += stealTicks
            idle += UInt64(max(0, (2 * seconds * 100).rounded())) - busyTicks - stealTicks
            own.add(ownCores * seconds)
            clock.advance(seconds)
            try write()
        }

        var probe: InterferenceProbe {
            let own = self.own
            return InterferenceProbe(proc: tree.reader, sys: tree.reader, clock: clock, ownCpuSeconds: { own.cpuSeconds() },
                                     ticksPerSecond: 100)
        }
    }

    @Test func procStatIsParsedAsTheKernelWritesIt() throws {
        let stat = try #require(ProcStat.parse("""
            cpu  4705 356 584 3699176 23 23 0 17 0 0
            cpu0 1393 280 290 1848195 23 21 0 9 0 0
            cpu1 3312 76 294 1850981 0 2 0 8 0 0
            ctxt 1990473
            procs_running 3
            """))
        #expect(stat.busyTicks == 4705 + 356 + 584 + 23 + 0)
        #expect(stat.idleTicks == 3699176)
        #expect(stat.iowaitTicks == 23)
        #expect(stat.stealTicks == 17)
        #expect(stat.cpus == 2)
        #expect(stat.procsRunning == 3)
        #expect(ProcStat.parse("not procfs") == nil)
    }

    @Test func aQuietWindowIsNotDisturbedAndAHogIs() throws {
        let proc = try FakeProc()
        let settings = InterferenceSettings()
        var watch = proc.probe.begin()
        try proc.pass(2, ownCores: 1, otherCores: 0.02)
        let quiet = try #require(proc.probe.end(watch, settings: settings))
        #expect(abs(quiet.otherCpuCores - 0.02) < 0.011)
        #expect(abs(quiet.ownCpuCores - 1) < 1e-9)
        #expect(!quiet.disturbed)
        #expect(quiet.cpus == 2)

        watch = proc.probe.begin()
        proc.running = 3
        try proc.pass(2, ownCores: 1, otherCores: 0.95)
        let hogged = try #require(proc.probe.end(watch, settings: settings))
        #expect(abs(hogged.otherCpuCores - 0.95) < 0.011)
        #expect(hogged.disturbed)
        #expect(hogged.reasons.first?.contains("other processes used 0.95 cores") == true)
        #expect(hogged.runQueueMax == 3)
    }

    @Test func stealTimePastItsLimitDisturbsAWindow() throws {
        let proc = try FakeProc()
        let watch = proc.probe.begin()
        try proc.pass(1, ownCores: 1, otherCores: 0, stealCores: 0.4)
        let window = try #require(proc.probe.end(watch, settings: InterferenceSettings()))
        #expect(abs(window.stealFraction - 0.2) < 1e-9)
        #expect(window.disturbed)
        #expect(window.reasons == ["steal 20.0 % (limit 5.0 %)"])
    }

    @Test func withoutProcStatNothingIsClaimed() throws {
        let tree = try FakeSysfsTree()
        let probe = InterferenceProbe(proc: tree.reader, sys: tree.reader, clock: FakeClock(), ownCpuSeconds: { 0 })
        #expect(probe.end(probe.begin(), settings: InterferenceSettings()) == nil)
    }

    @Test func cpuFrequencyIsReadWhereCpufreqExists() throws {
        let proc = try FakeProc()
        try proc.tree.write("devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "2000000")
        try proc.tree.write("devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "3000000")
        let watch = proc.probe.begin()
        try proc.pass(1, ownCores: 1, otherCores: 0)
        let window = try #require(proc.probe.end(watch, settings: InterferenceSettings()))
        #expect(window.cpuMhzMean == 2500)
        #expect(window.cpuMhzMin == 2500)
    }

    /// The worker measures a disturbed window again (after the pause), at most
    /// `max_remeasures` times, and keeps the least disturbed attempt.
    @Test func disturbedWindowsAreMeasuredAgainAndTheLeastDisturbedIsKept() throws {
        func window(_ other: Double) -> WindowInterference {
            WindowInterference(seconds: 1, cpus: 2, otherCpuCores: other, ownCpuCores: 1, stealFraction: 0, runQueueMean: nil,
                               runQueueMax: nil, cpuMhzMean: nil, cpuMhzMin: nil, disturbed: false, reasons: [])
                .judged(by: InterferenceSettings())
        }
        var spec = TrialSpec(model: "m", task: "SST-2", data: "d")
        spec.measurement.interference.maxRemeasures = 2
        let log = Log()
        let runner = TrialRunner(spec: spec, idle: nil, pause: { log.pause($0) }, progress: { log.line($0) })

        var queue = [window(0.9), window(0.05), window(0.9)]
        let recovered = try runner.remeasuringWhileDisturbed("offline", interference: { (a: Attempt) in a.interference },
                                                             attempt: { $0.attempts = $1 }) {
            let w = queue.removeFirst()
            return Attempt(interference: w, label: "\(w.otherCpuCores)")
        }
        #expect(recovered.label == "0.05")
        #expect(recovered.attempts == 2)
        #expect(log.pauses == [2])
        #expect(log.lines.first?.contains("window disturbed (other processes used 0.90 cores (limit 0.25)); measuring again") == true)

        queue = [window(0.9), window(0.6), window(0.8), window(0.1)]
        log.clearPauses()
        let stuck = try runner.remeasuringWhileDisturbed("single-stream", interference: { (a: Attempt) in a.interference },
                                                         attempt: { $0.attempts = $1 }) {
            let w = queue.removeFirst()
            return Attempt(interference: w, label: "\(w.otherCpuCores)")
        }
        #expect(stuck.label == "0.6")
        #expect(stuck.attempts == 3)
        #expect(stuck.interference?.disturbed == true)
        #expect(queue.count == 1, "bounded: three windows, not four")
        #expect(log.pauses == [2, 2])
        let last = try #require(log.lines.last)
        #expect(last.hasPrefix("single-stream: still disturbed after 3 window(s)"), "\(last)")
    }

    @Test func theMedianIntervalComesFromOrderStatistics() throws {
        let samples = (1...101).map(Double.init)
        let interval = try #require(MeasurementBootstrap.medianInterval(sorted: samples))
        #expect(interval.low < 51 && interval.high > 51)
        #expect(interval.low >= 40 && interval.high <= 62)
        #expect(MeasurementBootstrap.medianInterval(sorted: [1, 2, 3]) == nil)
    }

    @Test func aRateIntervalCoversTheRateAndNarrowsWithMoreBatches() throws {
        var rng = SplitMix64(seed: 7)
        func batches(_ n: Int) -> ([Double], [Double]) {
            let seconds = (0..<n).map { _ in 0.01 * (0.9 + 0.2 * Double(rng.next() % 1000) / 1000) }
            return ([Double](repeating: 4, count: n), seconds)
        }
        let (q1, s1) = batches(20), (q2, s2) = batches(2000)
        let few = try #require(MeasurementBootstrap.ratioOfSums(q1, s1))
        let many = try #require(MeasurementBootstrap.ratioOfSums(q2, s2))
        let rate = q2.reduce(0, +) / s2.reduce(0, +)
        #expect(many.low <= rate && rate <= many.high)
        #expect(many.high - many.low < few.high - few.low)
        #expect(MeasurementBootstrap.ratioOfSums([1, 2], [1, 1]) == nil)
    }

    @Test func accuracyGetsWilsonTheOthersABootstrapAndChanceIsTheMajorityClass() throws {
        let task = try #require(GlueTask(name: "MRPC"))
        // 100 examples, 70 gold positive; the model is right on 80.
        var predictions: [GluePrediction] = []
        for i in 0..<100 {
            let gold = i < 70 ? 1 : 0
            let predicted = i < 80 ? gold : 1 - gold
            predictions.append(GluePrediction(split: "dev", id: "\(i)", prediction: task.labels[predicted], gold: task.labels[gold]))
        }
        let metrics = ["accuracy": 0.8, "f1": 0.84]
        let (intervals, chance) = AccuracyUncertainty.glue(task: task, predictions: predictions, metrics: metrics)
        #expect(intervals["accuracy"] == ConfidenceInterval.wilson(successes: 80, trials: 100))
        let f1 = try #require(intervals["f1"])
        #expect(f1.low < 0.84 && f1.high > 0.84)
        let level = try #require(chance)
        #expect(level.metrics["accuracy"] == 0.7)
        #expect(abs(level.metrics["f1"]! - 2 * 0.7 / 1.7) < 1e-12)
        #expect(level.predictor.contains("majority class '\(task.labels[1])' (70.0 % of 100)"))
    }

    @Test func aPairedBaselineServesSomeTrialsThenIsStale() throws {
        final class Now: @unchecked Sendable { var date = Date(timeIntervalSince1970: 1_000_000) }
        let now = Now()
        let cache = PairedBaselineCache(agentId: "a1", now: { now.date })
        let settings = PairedBaselineSettings(enabled: true, everyTrials: 2, everyMinutes: 10)
        #expect(cache.isStale("k", settings: settings))
        var result = TrialResultWireTests.fullResult()
        result.disturbed = false
        let recorded = try #require(cache.record("k", result: result))
        #expect(recorded.id == "a1/baseline#1")
        #expect(recorded.latencyP50Ms == 3)
        #expect(!cache.isStale("k", settings: settings))
        now.date += 30
        #expect(cache.use("k")?.trialsBefore == 0)
        let second = try #require(cache.use("k"))
        #expect(second.trialsBefore == 1)
        #expect(second.ageS == 30)
        #expect(cache.isStale("k", settings: settings), "two trials used it")
        _ = cache.record("k", result: result)
        now.date += 601
        #expect(cache.isStale("k", settings: settings), "ten minutes old")
        result.disturbed = true
        #expect(cache.record("k", result: result)?.id == "a1/baseline#3")
        #expect(cache.isStale("k", settings: settings), "a disturbed baseline is measured again")
        result.status = .failed
        #expect(cache.record("other", result: result) == nil)
    }

    @Test func everyPointIsPairedWithItsTasksAndModelsBaselineOfTheSameShape() throws {
        let grid = try GridFile.parse(text: """
            name: pairing
            data_root: /data
            tasks: [SST-2, MRPC]
            models: [/models/a]
            variants:
              - name: dense
                techniques: []
                measurement: { batch: "${batch}" }
                axes: { batch: [1, 8] }
              - name: int8
                techniques: [{ name: quantization, mode: int8 }]
                measurement: { batch: "${batch}" }
                axes: { batch: [8, 1] }
            """, source: "pairing.yaml")
        let points = try GridExpansion(grid).points
        for point in points {
            let plan = try #require(point.spec.pairedBaseline, "\(point.label)")
            let baseline = try #require(points.first { $0.key == plan.key })
            #expect(baseline.isBaseline && baseline.task == point.task)
            #expect(plan.spec.batch == point.spec.batch, "\(point.label) is paired with a baseline of its own batch")
            #expect(plan.spec.techniques.isEmpty && plan.spec.pairedBaseline == nil && plan.spec.trialId == nil)
            if point.isBaseline { #expect(plan.key == point.key) }
            #expect(MeasuredTrialRunner.measuresItsBaseline(point.spec) == point.isBaseline)
        }
        // The spec round-trips through its JSON, plan included.
        let int8 = try #require(points.first { $0.variant == "int8" })
        let decoded = try TrialSpec.decode(int8.specJSON(), source: "spec")
        #expect(decoded == int8.spec)
    }

    @Test func pairingCanBeSwitchedOff() throws {
        let grid = try GridFile.parse(text: """
            name: unpaired
            data_root: /data
            tasks: [SST-2]
            models: [/models/a]
            measurement: { paired_baseline: { enabled: false } }
            variants:
              - { name: dense, baseline: true, techniques: [] }
              - { name: int8, techniques: [{ name: quantization, mode: int8 }] }
            """, source: "unpaired.yaml")
        #expect(try GridExpansion(grid).points.allSatisfy { $0.spec.pairedBaseline == nil })
    }
}
