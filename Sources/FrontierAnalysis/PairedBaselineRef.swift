import Foundation

/// The dense fp32 baseline as measured on the same agent shortly before (or after) a trial: what
/// that trial's latency, throughput and energy are divided by. A ratio against the group's
/// baseline median mixes in whatever the machine was doing hours earlier; a ratio against a
/// baseline measured minutes apart on the same agent cancels the machine's drift, which on a
/// shared 2-core box is larger than most of the effects measured.
public struct PairedBaselineRef: Codable, Sendable, Equatable {
    /// Which baseline measurement, e.g. "agent-1/baseline#3".
    public var id: String
    public var agentId: String?
    /// When the baseline was measured (RFC 3339).
    public var measuredAt: String
    /// How many trials the agent ran between that baseline and this trial; nil when unknown.
    public var trialsBefore: Int?
    public var latencyP50Ms: Double?
    public var latencyP50MsInterval: ConfidenceInterval?
    public var throughputExamplesPerS: Double?
    public var throughputInterval: ConfidenceInterval?
    public var joulesPerExample: Double?
    public var joulesPerExampleInterval: ConfidenceInterval?

    public init(id: String, agentId: String? = nil, measuredAt: String, trialsBefore: Int? = nil,
                latencyP50Ms: Double? = nil, latencyP50MsInterval: ConfidenceInterval? = nil,
                throughputExamplesPerS: Double? = nil, throughputInterval: ConfidenceInterval? = nil,
                joulesPerExample: Double? = nil, joulesPerExampleInterval: ConfidenceInterval? = nil) {
        self.id = id
        self.agentId = agentId
        self.measuredAt = measuredAt
        self.trialsBefore = trialsBefore
        self.latencyP50Ms = latencyP50Ms
        self.latencyP50MsInterval = latencyP50MsInterval
        self.throughputExamplesPerS = throughputExamplesPerS
        self.throughputInterval = throughputInterval
        self.joulesPerExample = joulesPerExample
        self.joulesPerExampleInterval = joulesPerExampleInterval
    }

    /// The baseline's value of a measure it carries (energy, latency p50, throughput).
    public func value(_ measure: FrontierMeasure) -> Double? {
        switch measure {
        case .joulesPerExample: frontierFinite(joulesPerExample)
        case .latencyP50Ms: frontierFinite(latencyP50Ms)
        case .throughput: frontierFinite(throughputExamplesPerS)
        case .latencyP99Ms, .peakRssMb: nil
        }
    }

    public func interval(_ measure: FrontierMeasure) -> ConfidenceInterval? {
        switch measure {
        case .joulesPerExample: joulesPerExampleInterval
        case .latencyP50Ms: latencyP50MsInterval
        case .throughput: throughputInterval
        case .latencyP99Ms, .peakRssMb: nil
        }
    }
}
