/// Where measurement code gets the time, so energy integration and poll scheduling can be
/// tested with a clock the test moves by hand.
public protocol MeasurementClock: Sendable {
    /// Seconds since an arbitrary origin; never goes backwards.
    func now() -> Double
}

/// CLOCK_MONOTONIC.
public struct SystemClock: MeasurementClock {
    public init() {}
    public func now() -> Double { MonotonicClock.now() }
}
