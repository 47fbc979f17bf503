/// When a measurement window counts as disturbed, and what the worker does about it. A shared
/// machine is the normal case for Frontier's users (a neighbour's compile, a backup, a noisy VM
/// host), so the defaults act: a window in which other processes kept a quarter of a core busy
/// on average, or the hypervisor stole 5 % of the time, is measured again.
public struct InterferenceSettings: Codable, Sendable, Equatable {
    /// Other processes' mean CPU use over the window, in cores, above which it is disturbed.
    public var maxOtherCpuCores: Double
    /// Steal time as a fraction of all CPU time over the window, above which it is disturbed.
    public var maxStealFraction: Double
    /// Disturbed windows are measured again at most this many times; the least disturbed
    /// attempt is then kept, still marked disturbed if it is.
    public var maxRemeasures: Int
    /// Pause before measuring again, so a short burst (a cron job, a log rotation) can pass.
    public var remeasureDelayS: Double

    public init(maxOtherCpuCores: Double = 0.25, maxStealFraction: Double = 0.05, maxRemeasures: Int = 2,
                remeasureDelayS: Double = 2) {
        self.maxOtherCpuCores = maxOtherCpuCores
        self.maxStealFraction = maxStealFraction
        self.maxRemeasures = maxRemeasures
        self.remeasureDelayS = remeasureDelayS
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxOtherCpuCores, maxStealFraction, maxRemeasures, remeasureDelayS
    }

    /// Missing keys take the defaults, so a grid names only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = InterferenceSettings()
        maxOtherCpuCores = try c.decodeIfPresent(Double.self, forKey: .maxOtherCpuCores) ?? d.maxOtherCpuCores
        maxStealFraction = try c.decodeIfPresent(Double.self, forKey: .maxStealFraction) ?? d.maxStealFraction
        maxRemeasures = try c.decodeIfPresent(Int.self, forKey: .maxRemeasures) ?? d.maxRemeasures
        remeasureDelayS = try c.decodeIfPresent(Double.self, forKey: .remeasureDelayS) ?? d.remeasureDelayS
    }

    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TrialSpecError.invalid(message) } }
        try check(maxOtherCpuCores.isFinite && maxOtherCpuCores >= 0,
                  "measurement.interference.max_other_cpu_cores must be ≥ 0; got \(maxOtherCpuCores)")
        try check(maxStealFraction.isFinite && maxStealFraction >= 0 && maxStealFraction <= 1,
                  "measurement.interference.max_steal_fraction must be in [0, 1]; got \(maxStealFraction)")
        try check(maxRemeasures >= 0 && maxRemeasures <= 20,
                  "measurement.interference.max_remeasures must be in 0…20; got \(maxRemeasures)")
        try check(remeasureDelayS.isFinite && remeasureDelayS >= 0 && remeasureDelayS <= 600,
                  "measurement.interference.remeasure_delay_s must be in 0…600; got \(remeasureDelayS)")
    }
}
