import Foundation

/// What it cost to train the checkpoint a trial measured (its training stage's run), so a
/// configuration that needs training can be weighed against one that needs none: its extra
/// joules are paid back only after enough cheaper inferences (`breakEvenQueries`).
public struct TrainingCost: Sendable, Equatable, Codable {
    /// The stage's key (the same for every trial measuring that checkpoint).
    public var stage: String
    /// The device class that trained it.
    public var deviceClass: String
    public var trainingS: Double
    public var wallS: Double
    public var examplesPerS: Double
    /// Joules over the training updates, and over the whole run (set-up and evaluations too),
    /// with their source ("estimated" is a model, not a measurement).
    public var trainingJ: Double?
    public var totalJ: Double?
    public var energySource: String?
    public var peakRssMb: Double?
    /// The run was resumed after a kill (more than one process worked on it).
    public var resumed: Bool

    public init(stage: String, deviceClass: String, trainingS: Double, wallS: Double, examplesPerS: Double,
                trainingJ: Double? = nil, totalJ: Double? = nil, energySource: String? = nil, peakRssMb: Double? = nil,
                resumed: Bool = false) {
        self.stage = stage
        self.deviceClass = deviceClass
        self.trainingS = trainingS
        self.wallS = wallS
        self.examplesPerS = examplesPerS
        self.trainingJ = trainingJ
        self.totalJ = totalJ
        self.energySource = energySource
        self.peakRssMb = peakRssMb
        self.resumed = resumed
    }

    /// The joules the training is charged: the whole run's when known.
    public var joules: Double? { totalJ ?? trainingJ }

    /// After how many inferences `extraJoules` of training are paid back by saving
    /// `savingPerQuery` joules on each (nil when nothing is saved: never).
    public static func breakEvenQueries(extraJoules: Double, savingPerQuery: Double) -> Double? {
        guard extraJoules.isFinite, savingPerQuery.isFinite, savingPerQuery > 0 else { return nil }
        return max(0, extraJoules) / savingPerQuery
    }

    /// Joules per query over `queries` inferences, training included.
    public static func amortised(inferenceJoules: Double, trainingJoules: Double, queries: Double) -> Double {
        inferenceJoules + trainingJoules / queries
    }
}
