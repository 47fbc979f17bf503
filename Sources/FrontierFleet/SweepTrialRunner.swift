import Foundation
import FrontierGrid
import FrontierMeasurement
import FrontierSupport
import FrontierWire

/// How an agent turns an assignment into a result. The real one runs the trial in a fresh
/// worker process (the measurement layer); the coordinator benchmark and the protocol tests
/// hand in runners that answer at once or fail on purpose.
public protocol SweepTrialRunner: Sendable {
    /// `cancellation` is raised when the coordinator says the lease is gone: stop soon (the
    /// result is then discarded).
    func run(_ assignment: WireAssignment, cancellation: TrialCancellation) -> WireResult
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

    public func run(_ assignment: WireAssignment, cancellation: TrialCancellation) -> WireResult {
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
            return Self.failure(assignment, reason: "bad assignment: \(error)", device: device)
        }
        // The agent's fingerprint is taken once, with its default threads; the trial runs with
        // the spec's (the worker sets OpenBLAS to them too), and its result must say so.
        var device = self.device
        device.threadsUsed = spec.threads
        device.openblasThreads = spec.threads
        let result: TrialResult
        let idleStart = MonotonicClock.now()
        do {
            let idle = try TrialExecutor.measureIdle(settings: spec.measurement)
            var executor = TrialExecutor(executable: executable, device: device, progress: progress)
            executor.cancellation = cancellation
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
        w.result = WireTrialResult(result)
        return w
    }

    /// A trial that could not even be set up: a failure with its reason and the machine.
    public static func failure(_ assignment: WireAssignment, reason: String, device: DeviceFingerprint?) -> WireResult {
        var w = WireResult()
        w.trialID = assignment.trialID
        w.attempt = assignment.attempt
        w.result.status = .failed
        w.result.failureReason = reason
        if let device { w.result.device = WireDeviceFingerprint(device) }
        return w
    }
}
