import FrontierAnalysis

/// The grid's baseline as this agent measured it shortly before a trial: what the trial's
/// ratios are computed against, so both numbers share the machine, its load and its clock
/// speed. `id` names the measurement, so a summary can say which one each ratio used.
public struct PairedBaselineMeasurement: Codable, Sendable, Equatable {
    /// "<agent>/baseline#<n>": the n-th baseline measurement this agent made in this run.
    public var id: String
    /// The grid point of the baseline configuration.
    public var baselineKey: String
    /// RFC 3339, when its windows finished.
    public var measuredAt: String
    /// Trials this agent ran between it and the trial (0: measured right before).
    public var trialsBefore: Int
    /// Seconds between it and the trial's start.
    public var ageS: Double
    public var latencyP50Ms: Double?
    public var latencyP50MsInterval: ConfidenceInterval?
    public var throughputExamplesPerS: Double?
    public var throughputExamplesPerSInterval: ConfidenceInterval?
    public var energyJPerExample: Double?
    public var energyJPerExampleInterval: ConfidenceInterval?
    public var energyBasis: EnergyBasis?
    /// Its own windows were disturbed even after re-measuring.
    public var disturbed: Bool

    public init(id: String, baselineKey: String, measuredAt: String, trialsBefore: Int, ageS: Double,
                latencyP50Ms: Double? = nil, latencyP50MsInterval: ConfidenceInterval? = nil, throughputExamplesPerS: Double? = nil,
                throughputExamplesPerSInterval: ConfidenceInterval? = nil, energyJPerExample: Double? = nil,
                energyJPerExampleInterval: ConfidenceInterval? = nil, energyBasis: EnergyBasis? = nil, disturbed: Bool = false) {
        self.id = id
        self.baselineKey = baselineKey
        self.measuredAt = measuredAt
        self.trialsBefore = trialsBefore
        self.ageS = ageS
        self.latencyP50Ms = latencyP50Ms
        self.latencyP50MsInterval = latencyP50MsInterval
        self.throughputExamplesPerS = throughputExamplesPerS
        self.throughputExamplesPerSInterval = throughputExamplesPerSInterval
        self.energyJPerExample = energyJPerExample
        self.energyJPerExampleInterval = energyJPerExampleInterval
        self.energyBasis = energyBasis
        self.disturbed = disturbed
    }

    /// The figures of a baseline trial's result, as measured by `id`.
    public init(id: String, baselineKey: String, result: TrialResult, trialsBefore: Int, ageS: Double) {
        self.init(id: id, baselineKey: baselineKey, measuredAt: result.finishedAt, trialsBefore: trialsBefore, ageS: ageS,
                  latencyP50Ms: result.latencyP50Ms, latencyP50MsInterval: result.latencyP50MsInterval,
                  throughputExamplesPerS: result.throughputExamplesPerS,
                  throughputExamplesPerSInterval: result.throughputExamplesPerSInterval,
                  energyJPerExample: result.energyJPerExample, energyJPerExampleInterval: result.energyJPerExampleInterval,
                  energyBasis: result.energyBasis, disturbed: result.disturbed ?? false)
    }
}
