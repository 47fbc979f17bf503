import Foundation
import FrontierGrid
import FrontierMeasurement
import FrontierSupport
import FrontierWire

/// How an agent turns an assignment into a result. The real one runs the trial in a fresh
/// worker process (the measurement layer); the coordinator benchmark and the protocol tests
/// hand in runners that answer at once or fail on purpose.
public protocol SweepTrialRunner: Sendable {
    func run(_ assignment: WireAssignment) -> WireResult
}

/// Runs each trial with `TrialExecutor`: a worker process per trial, so one trial's memory,
/// crash or hang never leaks into the next, and peak RSS is that trial's alone. Paths in the
/// spec (`${FRONTIER_SHARED}/models/…`) are expanded here, on the agent, because each machine
/// keeps the models and data in its own place.
public struct MeasuredTrialRunner: SweepTrialRunner {
    public var device: DeviceFingerprint
    public var sharedRoot: URL
    public var environment: [String: String]
    public var threads: Int?
    public var executable: String
    public var progress: @Sendable (String) -> Void

    public init(device: DeviceFingerprint, sharedRoot: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                threads: Int? = nil, executable: String = WorkerProcess.currentExecutable(),
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.device = device
        self.sharedRoot = sharedRoot
        self.environment = environment
        self.threads = threads
        self.executable = executable
        self.progress = progress
    }

    public func run(_ assignment: WireAssignment) -> WireResult {
        let startedAt = Date()
        var spec: TrialSpec
        do {
            spec = try TrialSpec.decode(Data(assignment.specJson.utf8), source: "assignment \(assignment.trialID)")
            spec.trialId = assignment.trialID
            spec.deviceClass = device.deviceClass
            if let threads { spec.threads = threads }
            spec = try spec.expandingPaths(environment: environment, sharedRoot: sharedRoot)
            // Meter paths name this machine's devices (a container mounts the host's /sys
            // elsewhere): variables only, never relative to the shared folder.
            spec.measurement.energy.sysfsRoot = try GridPath.expandVariables(spec.measurement.energy.sysfsRoot,
                                                                             environment: environment)
            spec.measurement.energy.nvmlLibrary = try GridPath.expandVariables(spec.measurement.energy.nvmlLibrary,
                                                                               environment: environment)
            try spec.validate()
        } catch {
            return Self.failure(assignment, reason: "bad assignment: \(error)")
        }
        let result: TrialResult
        let idleStart = MonotonicClock.now()
        do {
            let idle = try TrialExecutor.measureIdle(settings: spec.measurement)
            var executor = TrialExecutor(executable: executable, device: device, progress: progress)
            executor.progress = progress
            result = executor.run(spec: spec, idle: idle, idleSeconds: MonotonicClock.now() - idleStart)
        } catch {
            var timings = TrialResult.Timings()
            timings.idleBaselineS = MonotonicClock.now() - idleStart
            result = .failed(spec: spec, reason: "\(error)", device: device, startedAt: startedAt, timings: timings)
        }
        return Self.wire(result, assignment: assignment)
    }

    public static func wire(_ result: TrialResult, assignment: WireAssignment) -> WireResult {
        var w = WireResult()
        w.trialID = assignment.trialID
        w.attempt = assignment.attempt
        w.resultJson = (try? String(decoding: JSONCoding.encoder.encode(result), as: UTF8.self)) ?? "{}"
        w.failed = result.status == .failed
        w.failureReason = result.failureReason ?? ""
        if let name = HeadlineMetric.name(task: result.task, metrics: result.metrics) {
            w.metricName = name
            w.metric = result.metrics[name] ?? 0
        }
        w.joulesPerExample = result.energyJPerExample ?? 0
        w.energySource = result.energySource ?? ""
        w.latencyP50Ms = result.latencyP50Ms ?? 0
        w.latencyP99Ms = result.latencyP99Ms ?? 0
        w.peakRssMb = result.peakRssMb ?? 0
        return w
    }

    static func failure(_ assignment: WireAssignment, reason: String) -> WireResult {
        var w = WireResult()
        w.trialID = assignment.trialID
        w.attempt = assignment.attempt
        w.failed = true
        w.failureReason = reason
        return w
    }
}
