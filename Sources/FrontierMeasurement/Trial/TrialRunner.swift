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
    public var progress: (String) -> Void

    public init(spec: TrialSpec, idle: IdleBaseline?, sysfs: (any SysfsReader)? = nil,
                openNvml: (() throws -> NvmlLibrary)? = nil, clock: any MeasurementClock = SystemClock(),
                progress: @escaping (String) -> Void = { _ in }) {
        self.spec = spec
        self.idle = idle
        self.sysfs = sysfs ?? DirectorySysfs(root: spec.measurement.energy.sysfsRoot)
        let library = spec.measurement.energy.nvmlLibrary
        self.openNvml = openNvml ?? { try NvmlLibrary(path: library) }
        self.clock = clock
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

        started = clock.now()
        var lastDecile = -1
        let accuracy = try workload.accuracy(checkpoint: checkpoint, workspace: workspace, options: options) { done, total in
            let decile = done * 10 / max(1, total)
            if decile > lastDecile { lastDecile = decile; progress("accuracy pass: \(done)/\(total)") }
        }
        timings.accuracyS = clock.now() - started
        progress("metrics: " + accuracy.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", "))

        let model = checkpoint.model
        let runOptions = options
        let forward = { (batch: EncoderBatch) throws in _ = try model.forward(batch, workspace: workspace, options: runOptions) }
        let minimumSeconds = { (meter: EnergyMeter) in max(settings.minDurationS, 10 * meter.resolutionSeconds) }

        var offline: OfflineResult?
        if settings.scenarios.contains(.offline) {
            started = clock.now()
            let meter = EnergyMeter(channels: meterSetup.channels, pollInterval: settings.energy.pollIntervalS, clock: clock)
            let inputs = workload.inputs.count, batch = spec.batch
            let batches = stride(from: 0, to: inputs, by: batch).map { workload.batch($0..<min($0 + batch, inputs)) }
            let wantQueries = settings.minQueries == 0 ? inputs : settings.minQueries
            let window = try measureWindow(meter: meter, minimumSeconds: minimumSeconds(meter), minimumUnits: wantQueries) {
                for batch in batches { try forward(batch) }
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
            offline = OfflineResult(
                batch: batch, passes: passes, queries: window.units, examples: examples, tokens: passes * workload.tokens,
                seconds: window.energy.seconds, examplesPerS: Double(examples) / window.energy.seconds,
                tokensPerS: Double(passes * workload.tokens) / window.energy.seconds, energy: report,
                energyJPerExample: perExample, energyJPerCorrect: perCorrect, extendedForResolution: window.extended)
            timings.offlineS = clock.now() - started
            progress(String(format: "offline: %.1f examples/s over %.2f s, %@ J/example (%@)", offline!.examplesPerS, offline!.seconds,
                            perExample.map { String(format: "%.4g", $0) } ?? "n/a", report.source))
        }

        var singleStream: SingleStreamResult?
        if settings.scenarios.contains(.singleStream) {
            started = clock.now()
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
            latencies.sort()
            let report = EnergyReport(window: window.energy, idle: idle, estimate: meterSetup.estimate,
                                      pollIntervalS: meter.pollInterval, notes: meterSetup.notes + window.notes)
            singleStream = SingleStreamResult(
                queries: latencies.count, warmupQueries: warmup, seconds: window.energy.seconds,
                latencyP50Ms: Percentiles.nearestRank(latencies, 50) * 1e3,
                latencyP90Ms: Percentiles.nearestRank(latencies, 90) * 1e3,
                latencyP99Ms: Percentiles.nearestRank(latencies, 99) * 1e3,
                latencyMeanMs: latencies.reduce(0, +) / Double(latencies.count) * 1e3,
                latencyMinMs: latencies.first! * 1e3, latencyMaxMs: latencies.last! * 1e3,
                queriesPerS: Double(latencies.count) / window.energy.seconds, energy: report,
                energyJPerQuery: window.resolved ? report.bestJ / Double(latencies.count) : nil,
                extendedForResolution: window.extended)
            timings.singleStreamS = clock.now() - started
            progress(String(format: "single-stream: p50 %.2f ms, p99 %.2f ms over %d queries",
                            singleStream!.latencyP50Ms, singleStream!.latencyP99Ms, latencies.count))
        }

        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        return TrialMeasurement(
            task: accuracy.metrics.isEmpty ? spec.task : (spec.isSquad ? "squad" : GlueTask(name: spec.task)!.folderName),
            examples: workload.examples, queries: workload.inputs.count, metrics: accuracy.metrics, correct: accuracy.correct,
            maxSeqLen: accuracy.maxSeqLen, parameterCount: model.parameterCount, nonZeroParameterCount: applied?.nonZeroParameterCount ?? model.parameterCount, modelFileBytes: fileBytes,
            weightBytesFp32: model.parameterCount * 4,
            flopsPerExample: accuracy.flops / Double(workload.examples), meanExitLayer: accuracy.meanExitLayer,
            techniques: applied, offline: offline, singleStream: singleStream, timings: timings,
            workerPeakRssKb: ProcessMemory.peakResidentKB())
    }

    struct Window {
        var energy: EnergyWindow
        var units: Int
        var extended: Bool
        /// False when a counted domain still read 0 J at the end.
        var resolved: Bool
        var notes: [String]
    }

    /// Repeats `unit` until the window is at least `minimumSeconds` long and `minimumUnits`
    /// are done, then keeps going while any counted domain has not moved (up to
    /// `maxDurationS`): a window below a meter's resolution would read 0 J, which is not a
    /// measurement.
    func measureWindow(meter: EnergyMeter, minimumSeconds: Double, minimumUnits: Int,
                       unit: () throws -> Int, report: (Int) -> Void) throws -> Window {
        try meter.start()
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
        let still = energy.domains.filter { $0.kind.countsTowardTotal && $0.joules <= 0 }.map(\.name)
        var notes: [String] = []
        if extended { notes.append(String(format: "window extended to %.2f s because a meter had not moved yet", energy.seconds)) }
        if !still.isEmpty {
            notes.append(String(format: "%@ read 0 J over %.2f s (below the meter's resolution); energy per example is not reported", still.joined(separator: ", "), energy.seconds))
        }
        return Window(energy: energy, units: units, extended: extended, resolved: still.isEmpty, notes: notes)
    }
}
