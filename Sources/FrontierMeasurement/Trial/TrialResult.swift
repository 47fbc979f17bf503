import Foundation
import FrontierAnalysis
import FrontierSupport
import FrontierTechniques

/// One trial's result: what `frontier-agent run` prints and what an agent sends over the wire.
/// A failed trial is a result too (with its reason), so a sweep records it instead of losing it.
public struct TrialResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, failed }

    public struct Timings: Codable, Sendable, Equatable {
        public var idleBaselineS: Double = 0
        public var workerS: Double = 0
        public var totalS: Double = 0
        public var inWorker: TrialTimings?
        public init() {}
    }

    public var trialId: String?
    public var status: Status
    public var failureReason: String?
    /// The configuration as run.
    public var configuration: TrialSpec
    public var task: String
    public var model: String
    public var examples: Int?
    public var metrics: [String: Double]
    /// The offline scenario's energy (single-stream's when only that ran).
    public var energy: EnergyReport?
    /// `estimated`, `rapl`, `rapl+nvml`, …: repeated here so no reader can miss a guess.
    public var energySource: String?
    public var energyJPerExample: Double?
    public var energyJPerCorrect: Double?
    public var latencyP50Ms: Double?
    public var latencyP90Ms: Double?
    public var latencyP99Ms: Double?
    /// The interval around `latencyP50Ms`, when the agent computed one.
    public var latencyP50MsInterval: ConfidenceInterval?
    public var throughputExamplesPerS: Double?
    public var throughputExamplesPerSInterval: ConfidenceInterval?
    public var throughputTokensPerS: Double?
    /// The worker's peak resident set (`ru_maxrss` of that process alone), MiB.
    public var peakRssMb: Double?
    public var modelFileBytes: Int?
    public var parameterCount: Int?
    public var nonZeroParameterCount: Int?
    public var weightBytesFp32: Int?
    public var flopsPerExample: Double?
    public var meanExitLayer: Double?
    public var techniques: AppliedTechniques?
    public var offline: OfflineResult?
    public var singleStream: SingleStreamResult?
    public var idleBaseline: IdleBaseline?
    public var device: DeviceFingerprint
    public var timings: Timings
    public var startedAt: String
    public var finishedAt: String
    public var engineVersion: String
    public var worker: WorkerExit?
    /// The headline figures' windows: the more disturbed of offline and single-stream.
    public var interference: WindowInterference?
    /// True when a window kept was still disturbed after its re-measures.
    public var disturbed: Bool?
    /// Windows measured again because other load disturbed them.
    public var remeasuredWindows: Int?
    /// Per metric key: Wilson for accuracy, bootstrap over examples for the rest.
    public var metricIntervals: [String: ConfidenceInterval]?
    /// The majority-class (constant) predictor's metrics on the dev data evaluated.
    public var chance: ChanceLevel?
    /// Which energy `energyJPerExample` is: net or gross, offline or single-stream.
    public var energyBasis: EnergyBasis?
    public var energyJPerExampleInterval: ConfidenceInterval?
    /// Bytes of weights the worker held while measuring.
    public var weightBytesHeld: Int?
    /// The baseline measured on this agent close in time, for ratios (absent on a hand-run trial).
    public var pairedBaseline: PairedBaselineMeasurement?

    /// A result for a trial that produced no measurement.
    public static func failed(spec: TrialSpec, reason: String, device: DeviceFingerprint, startedAt: Date,
                              timings: Timings = Timings(), worker: WorkerExit? = nil, idle: IdleBaseline? = nil) -> TrialResult {
        TrialResult(trialId: spec.trialId, status: .failed, failureReason: reason, configuration: spec, task: spec.task,
                    model: spec.model, examples: nil, metrics: [:], energy: nil, energySource: nil, energyJPerExample: nil,
                    energyJPerCorrect: nil, latencyP50Ms: nil, latencyP90Ms: nil, latencyP99Ms: nil,
                    throughputExamplesPerS: nil, throughputTokensPerS: nil,
                    peakRssMb: worker.map { Double($0.maxRssKb) / 1024 }, modelFileBytes: nil, parameterCount: nil,
                    nonZeroParameterCount: nil, weightBytesFp32: nil, flopsPerExample: nil, meanExitLayer: nil, techniques: nil, offline: nil, singleStream: nil, idleBaseline: idle,
                    device: device, timings: timings, startedAt: Self.timestamp(startedAt),
                    finishedAt: Self.timestamp(Date()), engineVersion: FrontierVersion.string, worker: worker)
            .withThreadsUsed(spec.threads)
    }

    /// The agent probes its fingerprint once; the threads a trial ran with are the spec's.
    func withThreadsUsed(_ threads: Int) -> TrialResult {
        var copy = self
        copy.device.threadsUsed = threads
        return copy
    }

    /// A record with only its configuration and machine, every measurement absent: the start
    /// of one read back from elsewhere (the wire), which then sets what it has.
    package static func blank(spec: TrialSpec, device: DeviceFingerprint, timings: Timings) -> TrialResult {
        TrialResult(trialId: nil, status: .failed, failureReason: nil, configuration: spec, task: spec.task,
                    model: spec.model, examples: nil, metrics: [:], energy: nil, energySource: nil, energyJPerExample: nil,
                    energyJPerCorrect: nil, latencyP50Ms: nil, latencyP90Ms: nil, latencyP99Ms: nil,
                    throughputExamplesPerS: nil, throughputTokensPerS: nil, peakRssMb: nil, modelFileBytes: nil,
                    parameterCount: nil, nonZeroParameterCount: nil, weightBytesFp32: nil, flopsPerExample: nil,
                    meanExitLayer: nil, techniques: nil, offline: nil, singleStream: nil, idleBaseline: nil, device: device,
                    timings: timings, startedAt: "", finishedAt: "", engineVersion: "", worker: nil)
    }

    /// A successful trial from the worker's measurement.
    public static func succeeded(spec: TrialSpec, measurement m: TrialMeasurement, device: DeviceFingerprint, startedAt: Date,
                                 timings: Timings, worker: WorkerExit?, idle: IdleBaseline?) -> TrialResult {
        var result = failed(spec: spec, reason: "", device: device, startedAt: startedAt, timings: timings, worker: worker, idle: idle)
        result.status = .ok
        result.failureReason = nil
        result.task = m.task
        result.examples = m.examples
        result.metrics = m.metrics
        result.energy = m.offline?.energy ?? m.singleStream?.energy
        result.energySource = result.energy?.source
        result.energyJPerExample = m.offline?.energyJPerExample ?? m.singleStream?.energyJPerQuery
        let offlineEnergy = m.offline?.energyJPerExample != nil
        if let used = offlineEnergy ? m.offline?.energy : m.singleStream?.energy, result.energyJPerExample != nil {
            // `EnergyReport.bestJ`: net when positive, gross otherwise.
            result.energyBasis = EnergyBasis(accounting: used.netJ.map { $0 > 0 } == true ? .net : .gross,
                                             scenario: offlineEnergy ? .offline : .singleStream)
            result.energyJPerExampleInterval = m.offline?.energyJPerExample != nil ? m.offline?.energyJPerExampleInterval
                : m.singleStream?.energyJPerQueryInterval
        }
        result.latencyP50MsInterval = m.singleStream?.latencyP50MsInterval
        result.throughputExamplesPerSInterval = m.offline?.examplesPerSInterval
        let windows = [m.offline?.interference, m.singleStream?.interference].compactMap { $0 }
        result.interference = windows.max { $0.otherCpuCores + $0.stealFraction * Double($0.cpus) < $1.otherCpuCores + $1.stealFraction * Double($1.cpus) }
        result.disturbed = windows.contains(where: \.disturbed)
        result.remeasuredWindows = (m.offline.map { $0.attempts - 1 } ?? 0) + (m.singleStream.map { $0.attempts - 1 } ?? 0)
        result.metricIntervals = m.metricIntervals.isEmpty ? nil : m.metricIntervals
        result.chance = m.chance
        result.weightBytesHeld = m.weightBytesHeld
        result.energyJPerCorrect = m.offline?.energyJPerCorrect
        result.latencyP50Ms = m.singleStream?.latencyP50Ms
        result.latencyP90Ms = m.singleStream?.latencyP90Ms
        result.latencyP99Ms = m.singleStream?.latencyP99Ms
        result.throughputExamplesPerS = m.offline?.examplesPerS
        result.throughputTokensPerS = m.offline?.tokensPerS
        if result.peakRssMb == nil, let kb = m.workerPeakRssKb { result.peakRssMb = Double(kb) / 1024 }
        result.modelFileBytes = m.modelFileBytes
        result.parameterCount = m.parameterCount
        result.weightBytesFp32 = m.weightBytesFp32
        result.flopsPerExample = m.flopsPerExample
        result.nonZeroParameterCount = m.nonZeroParameterCount
        result.meanExitLayer = m.meanExitLayer
        result.techniques = m.techniques
        result.offline = m.offline
        result.singleStream = m.singleStream
        result.timings.inWorker = m.timings
        return result
    }

    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
