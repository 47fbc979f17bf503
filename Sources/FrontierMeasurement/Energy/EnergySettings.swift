/// Which meter a trial uses.
public enum EnergyMeterChoice: String, Codable, Sendable, CaseIterable {
    /// RAPL and NVML where readable, else hwmon, else the estimate; every fallback is named
    /// in the result's notes.
    case auto
    case rapl, nvml, hwmon, estimated
}

/// How energy is measured: one documented settings value, carried in the trial spec.
public struct EnergySettings: Codable, Sendable, Equatable {
    public var meter: EnergyMeterChoice
    /// The folder that plays the role of `/sys` (the host's tree mounted into a container, or
    /// a fake tree in tests).
    public var sysfsRoot: String
    /// Path or soname for dlopen.
    public var nvmlLibrary: String
    /// Seconds between background polls (capped further by the counters' wrap time).
    public var pollIntervalS: Double
    public var estimate: EnergyEstimateParameters

    public init(meter: EnergyMeterChoice = .auto, sysfsRoot: String = "/sys", nvmlLibrary: String = NvmlLibrary.defaultPath,
                pollIntervalS: Double = 0.1, estimate: EnergyEstimateParameters = EnergyEstimateParameters()) {
        self.meter = meter
        self.sysfsRoot = sysfsRoot
        self.nvmlLibrary = nvmlLibrary
        self.pollIntervalS = pollIntervalS
        self.estimate = estimate
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case meter, sysfsRoot, nvmlLibrary, pollIntervalS, estimate }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = EnergySettings()
        meter = try c.decodeIfPresent(EnergyMeterChoice.self, forKey: .meter) ?? d.meter
        sysfsRoot = try c.decodeIfPresent(String.self, forKey: .sysfsRoot) ?? d.sysfsRoot
        nvmlLibrary = try c.decodeIfPresent(String.self, forKey: .nvmlLibrary) ?? d.nvmlLibrary
        pollIntervalS = try c.decodeIfPresent(Double.self, forKey: .pollIntervalS) ?? d.pollIntervalS
        estimate = try c.decodeIfPresent(EnergyEstimateParameters.self, forKey: .estimate) ?? d.estimate
    }

    public func validate() throws {
        guard pollIntervalS.isFinite, pollIntervalS > 0, pollIntervalS <= 60 else {
            throw EnergyMeterError.invalidSetting("poll_interval_s must be in (0, 60]; got \(pollIntervalS)")
        }
        try estimate.validate()
    }
}
