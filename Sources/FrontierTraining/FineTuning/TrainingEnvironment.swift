/// Where a fine-tune ran and how its energy was measured: filled in by the command, which owns
/// the device probe and the meters (the engine knows neither).
public struct TrainingEnvironment: Codable, Sendable, Equatable {
    public var cpuModel: String
    public var logicalCpus: Int
    /// `rapl`, `nvml`, `hwmon`, `estimated` (or several joined with `+`); nil: not measured.
    public var energySource: String?
    /// What the meter set-up tried and did not use, and why.
    public var energyNotes: [String]
    /// The estimate's parameters when the energy is estimated (`watts_per_core`, `idle_watts`).
    public var energyEstimate: [String: Double]?
    public var frontierVersion: String
    public var gitCommit: String?

    public init(cpuModel: String, logicalCpus: Int, energySource: String?, energyNotes: [String] = [],
                energyEstimate: [String: Double]? = nil, frontierVersion: String, gitCommit: String? = nil) {
        self.cpuModel = cpuModel
        self.logicalCpus = logicalCpus
        self.energySource = energySource
        self.energyNotes = energyNotes
        self.energyEstimate = energyEstimate
        self.frontierVersion = frontierVersion
        self.gitCommit = gitCommit
    }
}
