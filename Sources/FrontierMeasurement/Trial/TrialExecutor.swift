import Foundation
import FrontierSupport

/// What the agent hands a worker process, as JSON in a file.
public struct WorkerRequest: Codable, Sendable {
    public var spec: TrialSpec
    public var idle: IdleBaseline?
    public init(spec: TrialSpec, idle: IdleBaseline?) {
        self.spec = spec
        self.idle = idle
    }
}

/// What a worker writes back: its measurement, or the error that stopped it.
public struct WorkerOutcome: Codable, Sendable {
    public var measurement: TrialMeasurement?
    public var error: String?
    public init(measurement: TrialMeasurement?, error: String?) {
        self.measurement = measurement
        self.error = error
    }
}

/// The agent's side of a trial: measures the idle baseline, runs the trial in a fresh worker
/// process (this executable, re-executed with `worker`), and turns whatever happened — a
/// measurement, an error, a crash, a kill — into one `TrialResult`. It never throws: a trial
/// that goes wrong is a failed result and the agent goes on.
public struct TrialExecutor {
    /// The executable to re-execute (the agent's own binary).
    public var executable: String
    public var device: DeviceFingerprint
    public var progress: (String) -> Void
    /// Called with the worker's pid once it runs (tests kill it from here; the agent logs it).
    public var onWorkerStart: (Int32) -> Void
    /// Raised by the agent when the trial's lease is gone: the worker is killed.
    public var cancellation: TrialCancellation?

    public init(executable: String = WorkerProcess.currentExecutable(), device: DeviceFingerprint,
                progress: @escaping (String) -> Void = { _ in }, onWorkerStart: @escaping (Int32) -> Void = { _ in }) {
        self.executable = executable
        self.device = device
        self.progress = progress
        self.onWorkerStart = onWorkerStart
    }

    /// Idle power per domain over `settings.idleBaselineS`, nil when that is 0. Run once before
    /// a series of trials on the same settings.
    public static func measureIdle(settings: MeasurementSettings, sysfs: (any SysfsReader)? = nil,
                                   openNvml: (() throws -> NvmlLibrary)? = nil) throws -> IdleBaseline? {
        guard settings.idleBaselineS > 0 else { return nil }
        let library = settings.energy.nvmlLibrary
        let setup = try EnergyMeterSetup.resolve(settings: settings.energy,
                                                 sysfs: sysfs ?? DirectorySysfs(root: settings.energy.sysfsRoot),
                                                 nvml: openNvml ?? { try NvmlLibrary(path: library) })
        let meter = EnergyMeter(channels: setup.channels, pollInterval: settings.energy.pollIntervalS)
        try meter.start()
        Thread.sleep(forTimeInterval: settings.idleBaselineS)
        return IdleBaseline(window: try meter.stop())
    }

    public func run(spec: TrialSpec, idle: IdleBaseline?, idleSeconds: Double = 0) -> TrialResult {
        let startedAt = Date(), started = MonotonicClock.now()
        var timings = TrialResult.Timings()
        timings.idleBaselineS = idleSeconds
        func finish(_ result: TrialResult) -> TrialResult {
            var result = result
            result.timings.totalS = MonotonicClock.now() - started + idleSeconds
            return result
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-trial-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let requestURL = folder.appendingPathComponent("request.json"), outcomeURL = folder.appendingPathComponent("outcome.json")
        let exit: WorkerExit
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONCoding.encoder.encode(WorkerRequest(spec: spec, idle: idle)).write(to: requestURL)
            exit = try WorkerProcess.run(executable: executable, arguments: ["worker", "--request", requestURL.path, "--outcome", outcomeURL.path],
                                         timeoutS: spec.measurement.timeoutS, memoryLimitMb: spec.measurement.memoryLimitMb,
                                         cancellation: cancellation,
                                         onStart: { pid in
                                             progress("worker \(pid) started")
                                             onWorkerStart(pid)
                                         })
        } catch {
            return finish(.failed(spec: spec, reason: "\(error)", device: device, startedAt: startedAt, timings: timings, idle: idle))
        }
        timings.workerS = exit.wallS
        let outcome = (try? Data(contentsOf: outcomeURL)).flatMap { try? JSONCoding.decoder.decode(WorkerOutcome.self, from: $0) }
        if exit.succeeded, let measurement = outcome?.measurement {
            return finish(.succeeded(spec: spec, measurement: measurement, device: device, startedAt: startedAt,
                                     timings: timings, worker: exit, idle: idle))
        }
        let reason = outcome?.error ?? (exit.succeeded ? "the worker exited without writing its outcome" : exit.reason)
        return finish(.failed(spec: spec, reason: reason, device: device, startedAt: startedAt, timings: timings, worker: exit, idle: idle))
    }
}
