/// Turns successive samples of one channel into joules: counter deltas with wraparound, or the
/// trapezoidal integral of power. Pure; `EnergyMeter` feeds it from its poller.
public struct EnergyIntegrator: Sendable {
    public private(set) var joules = 0.0
    /// Times the counter was seen to wrap (for the result's notes and the tests).
    public private(set) var wraps = 0
    /// Backwards steps too large to be a wrap in the time elapsed: error readings, dropped.
    public private(set) var discarded = 0
    public private(set) var samples = 0
    /// A wrap adds up to a whole counter range (≈ 262 kJ for RAPL): only believe one that no
    /// more than this many watts could have produced since the last sample.
    public let maxPlausibleWatts: Double
    private var last: (time: Double, sample: EnergySample)?

    public init(maxPlausibleWatts: Double = EnergyMeter.maxPlausibleWatts) {
        self.maxPlausibleWatts = maxPlausibleWatts
    }

    /// Adds a sample taken at `time`. A counter that went backwards wrapped once if the energy
    /// that wrap implies fits the time elapsed (the poller runs well inside the wrap time, so two
    /// wraps between samples cannot happen); otherwise the reading is out of order or corrupt,
    /// and it is dropped, keeping the last good one, rather than read as a whole counter range.
    public mutating func add(_ sample: EnergySample, at time: Double) {
        samples += 1
        guard let previous = last else {
            last = (time, sample)
            return
        }
        switch (previous.sample, sample) {
        case let (.counter(before, _), .counter(now, range)):
            if now >= before {
                joules += Double(now - before) * 1e-6
            } else {
                // The counter runs 0 ... range and then starts again at 0.
                let toTop = range >= before ? range - before : 0
                let wrapped = (Double(toTop) + Double(now) + 1) * 1e-6
                guard wrapped <= max(0, time - previous.time) * maxPlausibleWatts else {
                    discarded += 1
                    return
                }
                wraps += 1
                joules += wrapped
            }
        case let (.power(before), .power(now)):
            joules += 0.5 * (before + now) * max(0, time - previous.time)
        default:
            // A channel does not change kind; if it did, the new kind starts a new series.
            break
        }
        last = (time, sample)
    }
}
