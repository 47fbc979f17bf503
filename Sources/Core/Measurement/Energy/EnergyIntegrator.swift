/// Turns successive samples of one channel into joules: counter deltas with wraparound, or the
/// trapezoidal integral of power. Pure; `EnergyMeter` feeds it from its poller.
public struct EnergyIntegrator: Sendable {
    public private(set) var joules = 0.0
    /// Times the counter was seen to wrap (for the result's notes and the tests).
    public private(set) var wraps = 0
    public private(set) var samples = 0
    private var last: (time: Double, sample: EnergySample)?

    public init() {}

    /// Adds a sample taken at `time`. A counter that went backwards wrapped once: the poller
    /// runs well inside the wrap time, so two wraps between samples cannot happen.
    public mutating func add(_ sample: EnergySample, at time: Double) {
        samples += 1
        defer { last = (time, sample) }
        guard let previous = last else { return }
        switch (previous.sample, sample) {
        case let (.counter(before, _), .counter(now, range)):
            if now >= before {
                joules += Double(now - before) * 1e-6
            } else {
                wraps += 1
                // The counter runs 0 ... range and then starts again at 0.
                let toTop = range >= before ? range - before : 0
                joules += (Double(toTop) + Double(now) + 1) * 1e-6
            }
        case let (.power(before), .power(now)):
            joules += 0.5 * (before + now) * max(0, time - previous.time)
        default:
            // A channel does not change kind; if it did, the new kind starts a new series.
            break
        }
    }
}
