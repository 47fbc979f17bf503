/// What a model that learned nothing scores on the dev data evaluated: the majority class
/// predicted for every example (classification), a constant (regression: no correlation). A
/// configuration at or below it has collapsed — its energy per example is not worth comparing.
public struct ChanceLevel: Codable, Sendable, Equatable {
    /// The predictor, for readers: "majority class 'positive' (50.9 % of 872)".
    public var predictor: String
    /// The task's metrics for that predictor, keyed as the trial's metrics are.
    public var metrics: [String: Double]

    public init(predictor: String, metrics: [String: Double]) {
        self.predictor = predictor
        self.metrics = metrics
    }
}
