import Foundation
import FrontierAnalysis
import FrontierEngine
import FrontierSupport
import FrontierTasks
import FrontierTechniques

/// Runs one trial in this process: load, accuracy pass, then the measured scenarios. The
/// agent runs it inside a fresh worker process (`TrialWorker`), so the process's peak memory
/// and its CPU time — the estimate's input — belong to this trial alone.
public struct TrialRunner {
    public var spec: TrialSpec
    /// Idle power measured by the agent before the series; nil: gross energy only.
    public var idle: IdleBaseline?
    public var sysfs: any SysfsReader
    public var openNvml: () throws -> NvmlLibrary
    public var clock: any MeasurementClock
    /// Watches what else the machine does during each window.
    public var interference: InterferenceProbe
    /// Waits before a disturbed window is measured again (a fake in tests).
    public var pause: (Double) -> Void
    public var progress: (String) -> Void

    public init(spec: TrialSpec, idle: IdleBaseline?, sysfs: (any SysfsReader)? = nil,
                openNvml: (() throws -> NvmlLibrary)? = nil, clock: any MeasurementClock = SystemClock(),
                interference: InterferenceProbe? = nil, pause: @escaping (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
                progress: @escaping (String) -> Void = { _ in }) {
        self.spec = spec
        self.idle = idle
        self.sysfs = sysfs ?? DirectorySysfs(root: spec.measurement.energy.sysfsRoot)
        let library = spec.measurement.energy.nvmlLibrary
        self.openNvml = openNvml ?? { try NvmlLibrary(path: library) }
        self.clock = clock
        self.interference = interference ?? InterferenceProbe(clock: clock)
        self.pause = pause
        self.progress = progress
    }

    public func run() throws -> TrialMeasurement {
        try spec.validate()
        let settings = spec.measurement
        let meterSetup = try EnergyMeterSetup.resolve(settings: settings.energy, sysfs: sysfs, nvml: openNvml, clock: clock)
        var timings = TrialTimings()

        var started = clock.now()
        let directory = URL(fileURLWithPath: spec.model)
        var checkpoint = try Checkpoint.load(directory: directory)
        timings.loadS = clock.now() - started
        progress("loaded \(spec.model) (\(checkpoint.model.parameterCount) parameters) in \(String(format: "%.2f", timings.loadS)) s")

        Blas.setThreads(spec.threads)
        let workspace = Workspace(threads: spec.threads)
        var options = ForwardOptions(gemm: spec.gemm)
        var applied: AppliedTechniques?
        if !spec.techniques.isEmpty {
            started = clock.now()
            let data = TrialWorkload.techniqueData(spec: spec, tokenizer: checkpoint.tokenizer, maxPositions: checkpoint.model.config.maxPositions)
            let result = try TechniquePipeline.apply(spec.techniques, to: consume checkpoint, data: data, base: options, workspace: workspace, progress: progress)
            checkpoint = result.checkpoint
            options = result.options
            applied = result.applied
            timings.techniquesS = clock.now() - started
            progress("techniques: \(result.applied.techniques.joined(separator: ", ")); \(result.applied.nonZeroParameterCount) non-zero parameters; kernels \(result.applied.kernels)")
        }
        checkpoint = try (consume checkpoint).inferenceOnly(gemm: options.gemm)  // no fp32 master copies: the worker holds what its kernels read

        started = clock.now()
        let workload = try TrialWorkload.load(spec: spec, checkpoint: checkpoint)
        timings.prepareS = clock.now() - started
        guard !workload.inputs.isEmpty else { throw TrialSpecError.invalid("\(spec.task) under \(spec.data) has no examples") }

        var accuracy = TrialAccuracy(metrics: [:], examples: workload.examples, correct: nil, maxSeqLen: spec.effectiveMaxSeqLen ?? 0,
                                     flops: 0, meanExitLayer: nil)
        if !spec.timingOnly {
            started = clock.now()
            var lastDecile = -1
            accuracy = try workload.accuracy(checkpoint: checkpoint, workspace: workspace, options: options) { done, total in
                let decile = done * 10 / max(1, total)
                if decile > lastDecile { lastDecile = decile; progress("accuracy pass: \(done)/\(total)") }
            }
            timings.accuracyS = clock.now() - started
            progress("metrics: " + accuracy.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", "))
        }

        let model = checkpoint.model
        let runOptions = options
        let forward = { (batch: EncoderBatch) throws in _ = try model.forward(batch, workspace: workspace, options: runOptions) }
        let minimumSeconds = { (meter: EnergyMeter) in max(settings.minDurationS, 10 * meter.resolutionSeconds) }

        var offline: OfflineResult?
        if settings.scenarios.contains(.offline) {
            started = clock.now()
            offline = try remeasuringWhileDisturbed("offline", interference: { $0.interference }, attempt: { $0.attempts = $1 }) {
                try measureOffline(workload: workload, accuracy: accuracy, meterSetup: meterSetup, forward: forward,
                                   minimumSeconds: minimumSeconds)
            }
            timings.offlineS = clock.now() - started
            let o = offline!
            progress(String(format: "offline: %.1f examples/s over %.2f s, %@ J/example (%@)", o.examplesPerS, o.seconds,
                            o.energyJPerExample.map { String(format: "%.4g", $0) } ?? "n/a", o.energy.source))
        }

        var singleStream: SingleStreamResult?
        if settings.scenarios.contains(.singleStream) {
            started = clock.now()
            singleStream = try remeasuringWhileDisturbed("single-stream", interference: { $0.interference }, attempt: { $0.attempts = $1 }) {
                try measureSingleStream(workload: workload, meterSetup: meterSetup, forward: forward, minimumSeconds: minimumSeconds)
            }
            timings.singleStreamS = clock.now() - started
            let r = singleStream!
            progress(String(format: "single-stream: p50 %.2f ms, p99 %.2f ms over %d queries", r.latencyP50Ms, r.latencyP99Ms, r.queries))
        }

        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        return TrialMeasurement(
            task: accuracy.metrics.isEmpty ? spec.task : (spec.isSquad ? "squad" : GlueTask(name: spec.task)!.folderName),
            examples: workload.examples, queries: workload.inputs.count, metrics: accuracy.metrics, correct: accuracy.correct,
            maxSeqLen: accuracy.maxSeqLen, parameterCount: model.parameterCount, nonZeroParameterCount: applied?.nonZeroParameterCount ?? model.parameterCount, modelFileBytes: fileBytes,
            weightBytesFp32: model.parameterCount * 4,
            flopsPerExample: accuracy.flops / Double(workload.examples), meanExitLayer: accuracy.meanExitLayer,
            techniques: applied, offline: offline, singleStream: singleStream, timings: timings,
            workerPeakRssKb: ProcessMemory.peakResidentKB(), metricIntervals: accuracy.metricIntervals, chance: accuracy.chance,
            weightBytesHeld: model.weightBytesHeld)
    }

    /// Measures a scenario, and again while its window is disturbed by other load (at most
    /// `max_remeasures` more times, after a pause); keeps the least disturbed attempt, which
    /// stays marked when even that one passed a threshold.
    func remeasuringWhileDisturbed<R>(_ name: String, interference: (R) -> WindowInterference?, attempt setAttempts: (inout R, Int) -> Void,
                                      _ measure: () throws -> R) throws -> R {
        let limits = spec.measurement.interference
        var best: (result: R, severity: Double)?
        var attempts = 0
        while true {
            attempts += 1
            let result = try measure()
            let window = interference(result)
            let severity = window?.severity(limits) ?? 0
            if best == nil || severity < best!.severity { best = (result, severity) }
            guard let window, window.disturbed, attempts <= limits.maxRemeasures else { break }
            progress(String(format: "%@: window disturbed (%@); measuring again in %.0f s (attempt %d of %d)", name,
                            window.reasons.joined(separator: "; "), limits.remeasureDelayS, attempts + 1, limits.maxRemeasures + 1))
            pause(limits.remeasureDelayS)
        }
        var kept = best!.result
        setAttempts(&kept, attempts)
        if let window = interference(kept), window.disturbed {
            progress("\(name): still disturbed after \(attempts) window(s) (\(window.summary)); kept and marked disturbed")
        }
        return kept
    }

    func measureOffline(workload: TrialWorkload, accuracy: TrialAccuracy, meterSetup: EnergyMeterSetup,
                        forward: (EncoderBatch) throws -> Void, minimumSeconds: (EnergyMeter) -> Double) throws -> OfflineResult {
        let settings = spec.measurement
        let meter = EnergyMeter(channels: meterSetup.channels, pollInterval: settings.energy.pollIntervalS, clock: clock)
        let inputs = workload.inputs.count, batch = spec.batch
        let batches = stride(from: 0, to: inputs, by: batch).map { workload.batch($0..<min($0 + batch, inputs)) }
        let wantQueries = settings.minQueries == 0 ? inputs : settings.minQueries
        // Per batch: queries and seconds, for the throughput's block-bootstrap interval.
        var batchQueries: [Double] = [], batchSeconds: [Double] = []
        let window = try measureWindow(meter: meter, minimumSeconds: minimumSeconds(meter), minimumUnits: wantQueries) {
            for batch in batches {
                let begin = MonotonicClock.now()
                try forward(batch)
                batchSeconds.append(MonotonicClock.now() - begin)
                batchQueries.append(Double(batch.count))
            }
            return inputs
        } report: { passes in progress("offline: pass \(passes / inputs) (\(passes) queries)") }
        let passes = window.units / inputs
        let report = EnergyReport(window: window.energy, idle: idle, estimate: meterSetup.estimate,
                                  pollIntervalS: meter.pollInterval, notes: meterSetup.notes + window.notes)
        let examples = passes * workload.examples
        let perExample = window.resolved ? report.bestJ / Double(examples) : nil
        let perCorrect = accuracy.correct.flatMap { correct in
            correct > 0 ? perExample.map { $0 * Double(workload.examples) / Double(correct) } : nil
        }
        let examplesPerS = Double(examples) / window.energy.seconds
        // The interval of queries per second over the timed batches, moved onto the headline
        // (which also counts the loop between batches) by its relative width.
        let queriesPerS = batchQueries.reduce(0, +) / max(batchSeconds.reduce(0, +), .leastNonzeroMagnitude)
        let rate = MeasurementBootstrap.ratioOfSums(batchQueries, batchSeconds)
        let rateInterval = MeasurementBootstrap.scaled(rate, from: queriesPerS, to: examplesPerS)
        var result = OfflineResult(
            batch: batch, passes: passes, queries: window.units, examples: examples, tokens: passes * workload.tokens,
            seconds: window.energy.seconds, examplesPerS: examplesPerS,
            tokensPerS: Double(passes * workload.tokens) / window.energy.seconds, energy: report,
            energyJPerExample: perExample, energyJPerCorrect: perCorrect, extendedForResolution: window.extended)
        result.examplesPerSInterval = rateInterval
        // Joules per example move with seconds per example at a steady power.
        result.energyJPerExampleInterval = perExample.flatMap { MeasurementBootstrap.scaled(rateInterval, from: examplesPerS, to: $0, inverse: true) }
        result.interference = window.interference
        return result
    }

    func measureSingleStream(workload: TrialWorkload, meterSetup: EnergyMeterSetup, forward: (EncoderBatch) throws -> Void,
                             minimumSeconds: (EnergyMeter) -> Double) throws -> SingleStreamResult {
        let settings = spec.measurement
        let singles = workload.inputs.indices.map { workload.batch($0..<$0 + 1) }
        let warmup = min(settings.warmupQueries, singles.count)
        for index in 0..<warmup { try forward(singles[index]) }
        var latencies: [Double] = []
        var next = 0
        let meter = EnergyMeter(channels: meterSetup.channels, pollInterval: settings.energy.pollIntervalS, clock: clock)
        let window = try measureWindow(meter: meter, minimumSeconds: minimumSeconds(meter), minimumUnits: settings.singleStreamMinQueries) {
            let begin = MonotonicClock.now()
            try forward(singles[next])
            latencies.append(MonotonicClock.now() - begin)
            next = (next + 1) % singles.count
            return 1
        } report: { done in progress("single-stream: \(done) queries") }
        let meanLatency = latencies.reduce(0, +) / Double(latencies.count)
        // Energy per query follows the mean latency (the window's total time), not the median.
        let meanInterval = MeasurementBootstrap.ratioOfSums(latencies, [Double](repeating: 1, count: latencies.count))
        latencies.sort()
        let report = EnergyReport(window: window.energy, idle: idle, estimate: meterSetup.estimate,
                                  pollIntervalS: meter.pollInterval, notes: meterSetup.notes + window.notes)
        let perQuery = window.resolved ? report.bestJ / Double(latencies.count) : nil
        var result = SingleStreamResult(
            queries: latencies.count, warmupQueries: warmup, seconds: window.energy.seconds,
            latencyP50Ms: Percentiles.nearestRank(latencies, 50) * 1e3,
            latencyP90Ms: Percentiles.nearestRank(latencies, 90) * 1e3,
            latencyP99Ms: Percentiles.nearestRank(latencies, 99) * 1e3,
            latencyMeanMs: meanLatency * 1e3,
            latencyMinMs: latencies.first! * 1e3, latencyMaxMs: latencies.last! * 1e3,
            queriesPerS: Double(latencies.count) / window.energy.seconds, energy: report,
            energyJPerQuery: perQuery, extendedForResolution: window.extended)
        result.latencyP50MsInterval = MeasurementBootstrap.medianInterval(sorted: latencies).map {
            ConfidenceInterval(low: $0.low * 1e3, high: $0.high * 1e3, level: $0.level)
        }
        result.energyJPerQueryInterval = perQuery.flatMap { MeasurementBootstrap.scaled(meanInterval, from: meanLatency, to: $0) }
        result.interference = window.interference
        return result
    }

    struct Window {
        var energy: EnergyWindow
        var units: Int
        var extended: Bool
        /// False when a counted domain still read 0 J at the end.
        var resolved: Bool
        var notes: [String]
        var interference: WindowInterference?
    }

    /// Repeats `unit` until the window is at least `minimumSeconds` long and `minimumUnits`
    /// are done, then keeps going while any counted domain has not moved (up to
    /// `maxDurationS`): a window below a meter's resolution would read 0 J, which is not a
    /// measurement.
    func measureWindow(meter: EnergyMeter, minimumSeconds: Double, minimumUnits: Int,
                       unit: () throws -> Int, report: (Int) -> Void) throws -> Window {
        try meter.start()
        var watch = interference.begin()
        let begin = clock.now()
        var units = 0
        // At most one progress line a second (the first always): on a small model a pass
        // takes microseconds, and a line per pass flooded agents' logs with megabytes.
        var lastReport = -Double.infinity
        repeat {
            units += try unit()
            let now = clock.now()
            if now - lastReport >= 1 {
                report(units)
                interference.sample(&watch)
                lastReport = now
            }
        } while clock.now() - begin < minimumSeconds || units < minimumUnits
        var extended = false
        func unmoved() throws -> [String] {
            try meter.poll()
            return meter.snapshot().domains.filter { $0.kind.countsTowardTotal && $0.joules <= 0 }.map(\.name)
        }
        while try !unmoved().isEmpty, clock.now() - begin < spec.measurement.maxDurationS {
            extended = true
            units += try unit()
        }
        let energy = try meter.stop()
        let seen = interference.end(watch, settings: spec.measurement.interference)
        let still = energy.domains.filter { $0.kind.countsTowardTotal && $0.joules <= 0 }.map(\.name)
        var notes: [String] = []
        if extended { notes.append(String(format: "window extended to %.2f s because a meter had not moved yet", energy.seconds)) }
        if !still.isEmpty {
            notes.append(String(format: "%@ read 0 J over %.2f s (below the meter's resolution); energy per example is not reported", still.joined(separator: ", "), energy.seconds))
        }
        return Window(energy: energy, units: units, extended: extended, resolved: still.isEmpty, notes: notes, interference: seen)
    }
}
