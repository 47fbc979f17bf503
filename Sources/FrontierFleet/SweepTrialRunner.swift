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
    /// This agent's baseline measurements, which its trials' ratios are paired with.
    public let baselines: PairedBaselineCache
    /// Where training stages and unpacked checkpoints live (`WORK/stages/KEY`,
    /// `WORK/checkpoints/SHA256`); nil: this runner neither trains nor measures trained models.
    public var work: URL?
    /// Moves checkpoints to and from the coordinator; set by the agent's shell once it exists.
    public let artifacts = ArtifactTransportSlot()
    /// Training updates between a stage's saved states: what killing the agent can cost.
    public var stageCheckpointEvery = 50

    public init(device: DeviceFingerprint, sharedRoot: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                threads: Int? = nil, executable: String = WorkerProcess.currentExecutable(),
                agentId: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.device = device
        self.sharedRoot = sharedRoot
        self.environment = environment
        self.threads = threads
        self.executable = executable
        self.progress = progress
        baselines = PairedBaselineCache(agentId: agentId)
    }

    /// The spec as this agent runs it: its thread count, its device class, paths expanded here.
    func prepare(_ decoded: TrialSpec, trialId: String?) throws -> TrialSpec {
        var spec = decoded
        spec.trialId = trialId
        spec.deviceClass = device.deviceClass
        if let threads {
            spec.threads = threads
            if let plan = spec.pairedBaseline {
                var baseline = plan.spec
                baseline.threads = threads
                spec.pairedBaseline = PairedBaselinePlan(key: plan.key, spec: baseline)
            }
        }
        spec = try spec.expandingPaths(environment: environment, sharedRoot: sharedRoot)
        // Meter paths name this machine's devices (a container mounts the host's /sys
        // elsewhere): variables only, never relative to the shared folder.
        spec.measurement.energy.sysfsRoot = try GridPath.expandVariables(spec.measurement.energy.sysfsRoot, environment: environment)
        spec.measurement.energy.nvmlLibrary = try GridPath.expandVariables(spec.measurement.energy.nvmlLibrary, environment: environment)
        if let plan = spec.pairedBaseline {
            var baseline = plan.spec
            baseline.deviceClass = device.deviceClass
            baseline.measurement.energy = spec.measurement.energy
            spec.pairedBaseline = PairedBaselinePlan(key: plan.key, spec: baseline)
        }
        try spec.validate()
        return spec
    }

    /// Whether `spec` is itself a measurement of its paired baseline (the baseline point, or a
    /// repeat of it): then its own result refreshes the agent's baseline.
    static func measuresItsBaseline(_ spec: TrialSpec) -> Bool {
        guard let plan = spec.pairedBaseline else { return false }
        var bare = spec
        bare.trialId = nil
        bare.pairedBaseline = nil
        return bare == plan.spec
    }

    public func run(_ assignment: WireAssignment, cancellation: TrialCancellation) -> WireResult {
        let startedAt = Date()
        if assignment.training { return train(assignment, cancellation: cancellation) }
        var spec: TrialSpec
        do {
            let decoded = try TrialSpec.decode(Data(assignment.specJson.utf8), source: "assignment \(assignment.trialID)")
            spec = try prepare(decoded, trialId: assignment.trialID)
        } catch {
            return Self.failure(assignment, reason: "bad assignment: \(error)", device: device)
        }
        if let ref = assignment.inputs.first(where: { $0.role == "checkpoint" }) {
            // A trained model: measure the checkpoint the sweep trained, fetched by its hash.
            guard let work, let transport = artifacts.transport else {
                return Self.failure(assignment, reason: "bad assignment: this agent cannot fetch trained checkpoints (no work folder)", device: device)
            }
            do {
                progress("fetching checkpoint \(ref.sha256.prefix(16))… (\(ref.size >> 20) MiB) of training stage \(ref.stageKey)")
                let folder = try CheckpointUnpacker(work: work).folder(for: ref, trialId: assignment.trialID, attempt: assignment.attempt,
                                                                      transport: transport, cancellation: cancellation)
                spec.model = folder.path
                // The paired baseline measures the grid's model, which this trial no longer runs:
                // its ratios fall back to the baseline's own trial (the report says which).
                spec.pairedBaseline = nil
            } catch {
                return Self.failure(assignment, reason: "fetching checkpoint \(ref.sha256.prefix(16))…: \(error)", device: device)
            }
        }
        let pairing = spec.pairedBaseline.flatMap { plan in
            plan.spec.measurement.pairedBaseline.enabled && !Self.measuresItsBaseline(spec) ? plan : nil
        }
        if let plan = pairing, baselines.isStale(plan.key, settings: spec.measurement.pairedBaseline) {
            progress("measuring the baseline again for paired ratios (\(plan.key))")
            var baseline = plan.spec
            baseline.trialId = "\(plan.key) (paired baseline)"
            baseline.timingOnly = true
            let measured = measure(baseline, cancellation: cancellation, startedAt: Date())
            if let why = cancellation.reason { return Self.failure(assignment, reason: "cancelled while measuring the paired baseline: \(why)", device: device) }
            if baselines.record(plan.key, result: measured) == nil {
                progress("paired baseline not measured (\(measured.failureReason ?? "no timing figure")); ratios fall back to the grid's baseline")
            }
        }
        var result = measure(spec, cancellation: cancellation, startedAt: startedAt)
        if let plan = spec.pairedBaseline, Self.measuresItsBaseline(spec), plan.spec.measurement.pairedBaseline.enabled {
            result.pairedBaseline = baselines.record(plan.key, result: result)
            if result.pairedBaseline != nil { _ = baselines.use(plan.key) }
        } else if let plan = pairing, result.status == .ok {
            result.pairedBaseline = baselines.use(plan.key)
        }
        // The plan told this agent what to measure; it is not part of the configuration that ran.
        result.configuration.pairedBaseline = nil
        return Self.wire(result, assignment: assignment)
    }

    /// A training stage: the spec is the stage (`TrainingStage` as JSON).
    func train(_ assignment: WireAssignment, cancellation: TrialCancellation) -> WireResult {
        let stage: TrainingStage
        do {
            stage = try JSONCoding.decoder.decode(TrainingStage.self, from: Data(assignment.specJson.utf8))
        } catch {
            return Self.failure(assignment, reason: "bad assignment: the training stage does not decode: \(error)", device: device)
        }
        guard let work else {
            return Self.failure(assignment, reason: "bad assignment: this agent has no work folder for training stages", device: device)
        }
        var runner = TrainingStageRunner(executable: executable, work: work, sharedRoot: sharedRoot, environment: environment,
                                         device: device, progress: progress)
        if let threads { runner.device.threadsUsed = threads }
        runner.checkpointEvery = stageCheckpointEvery
        return runner.run(assignment, stage: stage, transport: artifacts.transport, cancellation: cancellation)
    }

    /// One trial in a worker process, after the idle baseline.
    func measure(_ spec: TrialSpec, cancellation: TrialCancellation, startedAt: Date) -> TrialResult {
        // The agent's fingerprint is taken once, with its default threads; the trial runs with
        // the spec's (the worker sets OpenBLAS to them too), and its result must say so.
        var device = self.device
        device.threadsUsed = spec.threads
        device.openblasThreads = spec.threads
        let idleStart = MonotonicClock.now()
        do {
            let idle = try TrialExecutor.measureIdle(settings: spec.measurement)
            var executor = TrialExecutor(executable: executable, device: device, progress: progress)
            executor.cancellation = cancellation
            return executor.run(spec: spec, idle: idle, idleSeconds: MonotonicClock.now() - idleStart)
        } catch {
            var timings = TrialResult.Timings()
            timings.idleBaselineS = MonotonicClock.now() - idleStart
            return .failed(spec: spec, reason: "\(error)", device: device, startedAt: startedAt, timings: timings)
        }
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
