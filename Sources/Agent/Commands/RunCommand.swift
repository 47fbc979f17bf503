import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTasks

extension EnergyMeterChoice: ExpressibleByArgument {}
extension MeasurementSettings.Scenario: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one measured trial in a fresh worker process and print its result as JSON.",
        discussion: """
            The trial comes from a JSON spec (--spec FILE, or --spec - for stdin) or from the same \
            flags as eval. The agent first measures idle power for --idle-seconds, then re-executes \
            itself as a worker that loads the model, scores the dev set once (the metrics), and runs \
            the measured scenarios: offline (whole passes at --batch until --min-duration and \
            --min-queries are met) and single-stream (batch 1 after warm-up; p50/p90/p99 latency). \
            Energy comes from RAPL, NVML or hwmon when readable; otherwise it is estimated from CPU \
            time, and the result says "estimated" with the parameters used. A worker that crashes, \
            times out or passes --memory-limit-mb gives a result with status "failed" and the reason. \
            Exit status: 0 for ok, 1 for a failed trial (the JSON is printed either way).

            Spec keys (snake_case; only model, task and data are required): trial_id, model, task, \
            data, limit, batch, threads, max_seq_len, gemm, device_class, techniques [{name, …}], measurement {scenarios, \
            min_duration_s, min_queries, single_stream_min_queries, warmup_queries, max_duration_s, \
            idle_baseline_s, timeout_s, memory_limit_mb, energy {meter, sysfs_root, nvml_library, \
            poll_interval_s, estimate {watts_per_core, idle_watts}}}.
            """
    )

    @Option(help: "A JSON trial spec file, or - for stdin. Excludes the model/task/compute flags.")
    var spec: String?

    @Option(help: "A Hugging Face checkpoint folder (without --spec).")
    var model: String?
    @Option(help: "A GLUE folder name (\(TaskRegistry.benchmarkTasks.joined(separator: ", "))) or squad.")
    var task: String?
    @Option(help: "For GLUE, the folder holding the task folders; for squad, the folder holding dev-v1.1.json.")
    var data: String?
    @Option(help: "Use only the first N examples (per split for MNLI; questions for squad).")
    var limit: Int?
    @Option(help: "Sequences per forward pass in the offline scenario (default 32).")
    var batch: Int?
    @Option(help: "Engine threads (default 1).")
    var threads: Int?
    @Option(name: .customLong("max-seq-len"), help: "Tokens per input, [CLS] and [SEP] included (GLUE default 128; squad 384-token windows).")
    var maxSeqLen: Int?
    @Option(help: "GEMM for the linear layers: packed or openblas.")
    var gemm: GemmBackend?
    @Option(name: .customLong("trial-id"), help: "An id recorded with the result.")
    var trialId: String?
    @OptionGroup(title: "Efficiency techniques (without --spec)") var techniqueOptions: TechniqueOptions

    @Option(name: .customLong("scenario"), help: "A scenario to run: offline or single-stream (repeat for both; default both).")
    var scenarios: [MeasurementSettings.Scenario] = []
    @Option(name: .customLong("min-duration"), help: "Seconds each measured window lasts at least (default 1).")
    var minDuration: Double?
    @Option(name: .customLong("min-queries"), help: "Offline queries at least (default one pass over the data).")
    var minQueries: Int?
    @Option(name: .customLong("single-stream-queries"), help: "Single-stream timed queries at least (default 1024).")
    var singleStreamQueries: Int?
    @Option(name: .customLong("warmup"), help: "Untimed batch-1 queries before single-stream timing (default 16).")
    var warmup: Int?
    @Option(name: .customLong("max-duration"), help: "Longest a window may be extended while a meter has not moved (default 600 s).")
    var maxDuration: Double?
    @Option(name: .customLong("idle-seconds"), help: "Idle-power baseline before the trial, seconds (default 2; 0 disables net energy).")
    var idleSeconds: Double?
    @Option(help: "Kill the worker and record a failure after this many seconds (default 3600).")
    var timeout: Double?
    @Option(name: .customLong("memory-limit-mb"), help: "Kill the worker and record a failure when its resident memory passes this.")
    var memoryLimitMb: Double?

    @Option(help: "Energy meter: auto (RAPL/NVML, else hwmon, else estimated, each fallback noted), rapl, nvml, hwmon or estimated.")
    var energy: EnergyMeterChoice?
    @Option(name: .customLong("sysfs-root"), help: "The folder that plays /sys (the host's /sys mounted into a container; a fake tree in tests).")
    var sysfsRoot: String?
    @Option(name: .customLong("nvml-library"), help: "NVML library path or soname for dlopen (default libnvidia-ml.so.1).")
    var nvmlLibrary: String?
    @Option(name: .customLong("watts-per-core"), help: "Estimated meter: watts one busy core draws above idle (default 12.5).")
    var wattsPerCore: Double?
    @Option(name: .customLong("idle-watts"), help: "Estimated meter: the machine's idle watts (default 20).")
    var idleWatts: Double?

    @Option(name: .customLong("device-class"), help: "Override the automatic device class that groups comparable machines.")
    var deviceClass: String?

    func validate() throws {
        if spec != nil {
            let mixed = [model, task, data].contains { $0 != nil } || limit != nil || batch != nil || threads != nil || maxSeqLen != nil || gemm != nil
                || !techniqueOptions.isEmpty
            if mixed { throw ValidationError("--spec gives the model, task, data, compute settings and techniques; don't also pass --model, --task, --data, --limit, --batch, --threads, --max-seq-len, --gemm or technique flags.") }
        } else if model == nil || task == nil || data == nil {
            throw ValidationError("give a trial: --spec FILE, or --model, --task and --data.")
        }
        if let deviceClass { _ = try DeviceClass.validated(deviceClass) }
    }

    /// The spec from the file or flags, with measurement flags applied on top.
    func trialSpec() throws -> TrialSpec {
        var spec: TrialSpec
        if let path = self.spec {
            let data: Data
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read the trial spec \(path): no such file or not readable.")
                }
                data = contents
            }
            spec = try TrialSpec.decode(data, source: path == "-" ? "<stdin>" : path)
        } else {
            spec = TrialSpec(model: model!, task: task!, data: data!, limit: limit, batch: batch ?? 32, threads: threads ?? 1,
                             maxSeqLen: maxSeqLen, gemm: gemm ?? .packed, techniques: techniqueOptions.techniques)
        }
        if let trialId { spec.trialId = trialId }
        if let deviceClass { spec.deviceClass = deviceClass }
        var m = spec.measurement
        if !scenarios.isEmpty { m.scenarios = scenarios }
        if let minDuration { m.minDurationS = minDuration }
        if let minQueries { m.minQueries = minQueries }
        if let singleStreamQueries { m.singleStreamMinQueries = singleStreamQueries }
        if let warmup { m.warmupQueries = warmup }
        if let maxDuration { m.maxDurationS = maxDuration }
        if let idleSeconds { m.idleBaselineS = idleSeconds }
        if let timeout { m.timeoutS = timeout }
        if let memoryLimitMb { m.memoryLimitMb = memoryLimitMb }
        if let energy { m.energy.meter = energy }
        if let sysfsRoot { m.energy.sysfsRoot = sysfsRoot }
        if let nvmlLibrary { m.energy.nvmlLibrary = nvmlLibrary }
        if let wattsPerCore { m.energy.estimate.wattsPerCore = wattsPerCore }
        if let idleWatts { m.energy.estimate.idleWatts = idleWatts }
        spec.measurement = m
        do { try spec.validate() } catch { throw ValidationError("\(error)") }
        return spec
    }

    func run() throws {
        let spec: TrialSpec
        do { spec = try trialSpec() } catch {
            // A bad spec is a usage error (exit 64), distinct from a trial that failed (exit 1).
            note("Error: \(error)")
            throw ExitCode.validationFailure
        }
        let startedAt = Date()
        let device = AgentDevice.fingerprint(threads: spec.threads, settings: spec.measurement.energy, deviceClass: spec.deviceClass)
        note("run: device class \(device.deviceClass); energy meter \(spec.measurement.energy.meter.rawValue)")
        let result: TrialResult
        let idleStart = MonotonicClock.now()
        do {
            if spec.measurement.idleBaselineS > 0 {
                note(String(format: "run: measuring idle power for %.1f s", spec.measurement.idleBaselineS))
            }
            let idle = try TrialExecutor.measureIdle(settings: spec.measurement)
            let executor = TrialExecutor(device: device, progress: { note("run: " + $0) })
            result = executor.run(spec: spec, idle: idle, idleSeconds: MonotonicClock.now() - idleStart)
        } catch {
            var timings = TrialResult.Timings()
            timings.idleBaselineS = MonotonicClock.now() - idleStart
            result = .failed(spec: spec, reason: "\(error)", device: device, startedAt: startedAt, timings: timings)
        }
        try JSONOutput.write(result)
        if result.status == .failed {
            note("run: trial failed: \(result.failureReason ?? "")")
            throw ExitCode(1)
        }
    }
}

/// The fingerprint of this machine as the agent reports it.
enum AgentDevice {
    static func fingerprint(threads: Int, settings: EnergySettings, deviceClass: String?) -> DeviceFingerprint {
        let gpus = ((try? NvmlLibrary(path: settings.nvmlLibrary))?.devicesOrEmpty ?? []).map {
            GPUDescription(index: $0.index, name: $0.name, memoryTotalBytes: $0.memoryTotalBytes)
        }
        Blas.setThreads(threads)
        return DeviceProbe().fingerprint(threadsUsed: threads, gpus: gpus, openblasConfig: Blas.configuration,
                                         openblasThreads: Blas.threads, engineVersion: FrontierVersion.string,
                                         gitCommit: GitProvenance.commit(), deviceClassOverride: deviceClass)
    }
}

private extension NvmlLibrary {
    var devicesOrEmpty: [NvmlDevice] { (try? devices()) ?? [] }
}
