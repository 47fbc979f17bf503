import FrontierTechniques

/// The offline scenario: whole passes over the dev inputs at the trial's batch size.
public struct OfflineResult: Codable, Sendable, Equatable {
    public var batch: Int
    public var passes: Int
    /// Model inputs run (SQuAD windows; GLUE examples).
    public var queries: Int
    /// Dataset examples run (passes × examples).
    public var examples: Int
    public var tokens: Int
    public var seconds: Double
    public var examplesPerS: Double
    public var tokensPerS: Double
    public var energy: EnergyReport
    /// Net joules per example when there is an idle baseline, gross otherwise; nil when the
    /// meter read nothing even after the window was extended (never reported as zero).
    public var energyJPerExample: Double?
    /// Energy per correct prediction: per-example energy over the fraction correct.
    public var energyJPerCorrect: Double?
    /// True when the window ran longer than asked because a meter had not yet moved.
    public var extendedForResolution: Bool
}

/// The single-stream scenario: one query at a time, after warm-up.
public struct SingleStreamResult: Codable, Sendable, Equatable {
    public var queries: Int
    public var warmupQueries: Int
    public var seconds: Double
    /// Nearest-rank percentiles of per-query wall time.
    public var latencyP50Ms: Double
    public var latencyP90Ms: Double
    public var latencyP99Ms: Double
    public var latencyMeanMs: Double
    public var latencyMinMs: Double
    public var latencyMaxMs: Double
    public var queriesPerS: Double
    public var energy: EnergyReport
    public var energyJPerQuery: Double?
    public var extendedForResolution: Bool
}

public struct TrialTimings: Codable, Sendable, Equatable {
    public var loadS: Double = 0
    public var prepareS: Double = 0
    public var techniquesS: Double = 0
    public var accuracyS: Double = 0
    public var offlineS: Double = 0
    public var singleStreamS: Double = 0
    public init() {}
}

/// Everything the worker process measures; the agent adds what only it can know (the
/// worker's exit, its peak RSS as the kernel accounted it, the fingerprint).
public struct TrialMeasurement: Codable, Sendable, Equatable {
    public var task: String
    public var examples: Int
    public var queries: Int
    public var metrics: [String: Double]
    public var correct: Int?
    public var maxSeqLen: Int
    public var parameterCount: Int
    /// Parameters left non-zero after the techniques (the effective parameter count).
    public var nonZeroParameterCount: Int
    public var modelFileBytes: Int
    /// Parameters × 4: the fp32 weights the engine computes with.
    public var weightBytesFp32: Int
    /// Counted over the actual inputs from the layers as they are.
    public var flopsPerExample: Double
    /// Early exit: mean number of layers an example went through.
    public var meanExitLayer: Double?
    public var techniques: AppliedTechniques?
    public var offline: OfflineResult?
    public var singleStream: SingleStreamResult?
    public var timings: TrialTimings
    /// The worker's own `VmHWM` at the end, KiB.
    public var workerPeakRssKb: Int?
}
