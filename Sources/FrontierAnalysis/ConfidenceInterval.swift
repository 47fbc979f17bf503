/// A two-sided interval around a point estimate: what makes "0.93 ms" comparable with
/// "0.95 ms" — or not — on a machine whose numbers move from run to run.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var low: Double
    public var high: Double
    /// Coverage, e.g. 0.95.
    public var level: Double

    public init(low: Double, high: Double, level: Double) {
        self.low = low
        self.high = high
        self.level = level
    }
}
