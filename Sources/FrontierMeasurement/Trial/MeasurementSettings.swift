/// How a trial is measured. Defaults are sized for a quick interactive trial; a sweep sets
/// longer windows (MLPerf uses 600 s and 1,024 queries minimum for its power runs).
public struct MeasurementSettings: Codable, Sendable, Equatable {
    /// The two MLPerf inference scenarios Frontier reports.
    public enum Scenario: String, Codable, Sendable, CaseIterable {
        /// Batched throughput over the dev set at the trial's batch size.
        case offline
        /// One query at a time (batch 1): per-query latency percentiles.
        case singleStream = "single-stream"
    }

    public var scenarios: [Scenario]
    /// Each scenario's measured window lasts at least this long (whole passes for offline), and
    /// at least ten times the slowest meter's resolution.
    public var minDurationS: Double
    /// Offline: at least this many queries (0: one pass over the data).
    public var minQueries: Int
    /// Single-stream: at least this many timed queries (cycling through the data).
    public var singleStreamMinQueries: Int
    /// Batch-1 queries run untimed before single-stream timing starts.
    public var warmupQueries: Int
    /// A window is extended (more passes) while any counted domain still reads 0 J, up to this.
    public var maxDurationS: Double
    /// Idle power is measured this long before the trial series (0: no baseline, net energy
    /// is then not reported).
    public var idleBaselineS: Double
    /// The worker is killed and the trial recorded as failed after this long.
    public var timeoutS: Double
    /// The worker is killed when its resident memory exceeds this (nil: no limit beyond the
    /// kernel's OOM killer, whose kill is also recorded as a failure).
    public var memoryLimitMb: Double?
    public var energy: EnergySettings
    /// When a window counts as disturbed by other load, and how often it is measured again.
    public var interference: InterferenceSettings
    /// How often the agent re-measures the baseline that ratios are paired with.
    public var pairedBaseline: PairedBaselineSettings

    public init(scenarios: [Scenario] = Scenario.allCases, minDurationS: Double = 1, minQueries: Int = 0,
                singleStreamMinQueries: Int = 1024, warmupQueries: Int = 16, maxDurationS: Double = 600,
                idleBaselineS: Double = 2, timeoutS: Double = 3600, memoryLimitMb: Double? = nil,
                energy: EnergySettings = EnergySettings(), interference: InterferenceSettings = InterferenceSettings(),
                pairedBaseline: PairedBaselineSettings = PairedBaselineSettings()) {
        self.scenarios = scenarios
        self.minDurationS = minDurationS
        self.minQueries = minQueries
        self.singleStreamMinQueries = singleStreamMinQueries
        self.warmupQueries = warmupQueries
        self.maxDurationS = maxDurationS
        self.idleBaselineS = idleBaselineS
        self.timeoutS = timeoutS
        self.memoryLimitMb = memoryLimitMb
        self.energy = energy
        self.interference = interference
        self.pairedBaseline = pairedBaseline
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case scenarios, minDurationS, minQueries, singleStreamMinQueries, warmupQueries, maxDurationS, idleBaselineS,
             timeoutS, memoryLimitMb, energy, interference, pairedBaseline
    }

    /// Missing keys take the defaults, so a spec names only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MeasurementSettings()
        scenarios = try c.decodeIfPresent([Scenario].self, forKey: .scenarios) ?? d.scenarios
        minDurationS = try c.decodeIfPresent(Double.self, forKey: .minDurationS) ?? d.minDurationS
        minQueries = try c.decodeIfPresent(Int.self, forKey: .minQueries) ?? d.minQueries
        singleStreamMinQueries = try c.decodeIfPresent(Int.self, forKey: .singleStreamMinQueries) ?? d.singleStreamMinQueries
        warmupQueries = try c.decodeIfPresent(Int.self, forKey: .warmupQueries) ?? d.warmupQueries
        maxDurationS = try c.decodeIfPresent(Double.self, forKey: .maxDurationS) ?? d.maxDurationS
        idleBaselineS = try c.decodeIfPresent(Double.self, forKey: .idleBaselineS) ?? d.idleBaselineS
        timeoutS = try c.decodeIfPresent(Double.self, forKey: .timeoutS) ?? d.timeoutS
        memoryLimitMb = try c.decodeIfPresent(Double.self, forKey: .memoryLimitMb)
        energy = try c.decodeIfPresent(EnergySettings.self, forKey: .energy) ?? d.energy
        interference = try c.decodeIfPresent(InterferenceSettings.self, forKey: .interference) ?? d.interference
        pairedBaseline = try c.decodeIfPresent(PairedBaselineSettings.self, forKey: .pairedBaseline) ?? d.pairedBaseline
    }

    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TrialSpecError.invalid(message) } }
        try check(!scenarios.isEmpty, "measurement.scenarios must name at least one of \(Scenario.allCases.map(\.rawValue))")
        try check(minDurationS.isFinite && minDurationS >= 0, "measurement.min_duration_s must be ≥ 0; got \(minDurationS)")
        try check(maxDurationS.isFinite && maxDurationS >= minDurationS, "measurement.max_duration_s must be ≥ min_duration_s (\(minDurationS)); got \(maxDurationS)")
        try check(minQueries >= 0, "measurement.min_queries must be ≥ 0; got \(minQueries)")
        try check(singleStreamMinQueries >= 1, "measurement.single_stream_min_queries must be ≥ 1; got \(singleStreamMinQueries)")
        try check(warmupQueries >= 0, "measurement.warmup_queries must be ≥ 0; got \(warmupQueries)")
        try check(idleBaselineS.isFinite && idleBaselineS >= 0, "measurement.idle_baseline_s must be ≥ 0; got \(idleBaselineS)")
        try check(timeoutS.isFinite && timeoutS > 0, "measurement.timeout_s must be > 0; got \(timeoutS)")
        if let memoryLimitMb { try check(memoryLimitMb.isFinite && memoryLimitMb > 0, "measurement.memory_limit_mb must be > 0; got \(memoryLimitMb)") }
        try energy.validate()
        try interference.validate()
        try pairedBaseline.validate()
    }
}
