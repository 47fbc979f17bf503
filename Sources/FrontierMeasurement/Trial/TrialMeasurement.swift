import FrontierAnalysis
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
    /// A block-bootstrap interval over the timed batches.
    public var examplesPerSInterval: ConfidenceInterval?
    /// `energyJPerExample` scaled by the throughput interval (steady power assumed).
    public var energyJPerExampleInterval: ConfidenceInterval?
    /// What else the machine did during the window kept.
    public var interference: WindowInterference?
    /// Windows measured (1, or more when disturbed ones were measured again).
    public var attempts: Int = 1

    package init(batch: Int, passes: Int, queries: Int, examples: Int, tokens: Int, seconds: Double, examplesPerS: Double,
                 tokensPerS: Double, energy: EnergyReport, energyJPerExample: Double?, energyJPerCorrect: Double?,
                 extendedForResolution: Bool) {
        self.batch = batch
        self.passes = passes
        self.queries = queries
        self.examples = examples
        self.tokens = tokens
        self.seconds = seconds
        self.examplesPerS = examplesPerS
        self.tokensPerS = tokensPerS
        self.energy = energy
        self.energyJPerExample = energyJPerExample
        self.energyJPerCorrect = energyJPerCorrect
        self.extendedForResolution = extendedForResolution
    }
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
    /// The distribution-free interval of the median latency (order statistics).
    public var latencyP50MsInterval: ConfidenceInterval?
    /// `energyJPerQuery` scaled by the mean latency's bootstrap interval.
    public var energyJPerQueryInterval: ConfidenceInterval?
    public var interference: WindowInterference?
    public var attempts: Int = 1

    package init(queries: Int, warmupQueries: Int, seconds: Double, latencyP50Ms: Double, latencyP90Ms: Double,
                 latencyP99Ms: Double, latencyMeanMs: Double, latencyMinMs: Double, latencyMaxMs: Double,
                 queriesPerS: Double, energy: EnergyReport, energyJPerQuery: Double?, extendedForResolution: Bool) {
        self.queries = queries
        self.warmupQueries = warmupQueries
        self.seconds = seconds
        self.latencyP50Ms = latencyP50Ms
        self.latencyP90Ms = latencyP90Ms
        self.latencyP99Ms = latencyP99Ms
        self.latencyMeanMs = latencyMeanMs
        self.latencyMinMs = latencyMinMs
        self.latencyMaxMs = latencyMaxMs
        self.queriesPerS = queriesPerS
        self.energy = energy
        self.energyJPerQuery = energyJPerQuery
        self.extendedForResolution = extendedForResolution
    }
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
    /// Per metric key (see `TrialAccuracy.metricIntervals`).
    public var metricIntervals: [String: ConfidenceInterval] = [:]
    public var chance: ChanceLevel?
    /// Bytes of weights the worker held while measuring (what the configuration executes).
    public var weightBytesHeld: Int?
}
