/// How often an agent measures the grid's baseline again, so every ratio compares two numbers
/// measured on the same machine close in time — not a technique measured at 3 a.m. against a
/// baseline measured at 9 p.m. under another neighbour's load.
public struct PairedBaselineSettings: Codable, Sendable, Equatable {
    /// False: ratios use the group's baseline trials only (as before pairing existed).
    public var enabled: Bool
    /// The agent's baseline measurement is repeated once this many trials have used it.
    public var everyTrials: Int
    /// … or once it is this old, whichever comes first.
    public var everyMinutes: Double

    public init(enabled: Bool = true, everyTrials: Int = 8, everyMinutes: Double = 10) {
        self.enabled = enabled
        self.everyTrials = everyTrials
        self.everyMinutes = everyMinutes
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case enabled, everyTrials, everyMinutes }

    /// Missing keys take the defaults, so a grid names only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PairedBaselineSettings()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
        everyTrials = try c.decodeIfPresent(Int.self, forKey: .everyTrials) ?? d.everyTrials
        everyMinutes = try c.decodeIfPresent(Double.self, forKey: .everyMinutes) ?? d.everyMinutes
    }

    public func validate() throws {
        if everyTrials < 1 { throw TrialSpecError.invalid("measurement.paired_baseline.every_trials must be ≥ 1; got \(everyTrials)") }
        if !(everyMinutes.isFinite && everyMinutes > 0) {
            throw TrialSpecError.invalid("measurement.paired_baseline.every_minutes must be > 0; got \(everyMinutes)")
        }
    }
}
