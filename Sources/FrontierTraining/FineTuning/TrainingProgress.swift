/// What a run has done so far: the loss curve, the dev evaluations, and the time and energy
/// spent, per process that worked on it. Saved with every training state, so a resumed run
/// reports the whole run, not only its last part.
///
/// Time and energy count what the saved state contains: work done after the last state and
/// lost in a crash is done again by the resumed process and counted once, there.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// One optimiser update.
    public struct Step: Codable, Sendable, Equatable {
        /// 1-based.
        public var step: Int
        /// 0-based epoch the update belongs to.
        public var epoch: Int
        /// Mean loss of the update's micro-batches, before the update.
        public var loss: Float
        /// Global gradient norm before clipping.
        public var gradNorm: Float
        /// The learning rate the update used.
        public var lr: Float
        public var examples: Int
        public var tokens: Int
    }

    /// One dev evaluation, after `step` updates.
    public struct Evaluation: Codable, Sendable, Equatable {
        public var step: Int
        public var epoch: Double
        public var metrics: [String: Double]
        /// Dev examples scored (SQuAD: questions).
        public var examples: Int
        public var seconds: Double
    }

    /// One process's share of the run, up to its last saved state (or its end).
    public struct Segment: Codable, Sendable, Equatable {
        /// Updates already taken when it started (0 for the first).
        public var fromStep: Int
        public var toStep: Int
        /// From the start of the process's fine-tune (loading included) to its last save.
        public var wallS: Double
        /// In optimiser updates only (forward, backward, update), not evaluation or saving.
        public var trainingS: Double
        public var evaluationS: Double
        public var checkpointS: Double
        /// Joules over the training updates only, and over the whole segment; nil without a meter.
        public var trainingJ: Double?
        public var totalJ: Double?
        /// Peak resident set of the process, in MiB (nil where it cannot be read).
        public var peakRssMb: Double?
    }

    public var steps: [Step] = []
    public var evaluations: [Evaluation] = []
    /// Finished processes first; the current one is appended when the state is saved.
    public var segments: [Segment] = []

    public init() {}

    public var examples: Int { steps.reduce(0) { $0 + $1.examples } }
    public var tokens: Int { steps.reduce(0) { $0 + $1.tokens } }
    public var trainingSeconds: Double { segments.reduce(0) { $0 + $1.trainingS } }
    public var wallSeconds: Double { segments.reduce(0) { $0 + $1.wallS } }
    /// Summed over segments; nil when any segment had no meter.
    public var trainingJoules: Double? { sum(\.trainingJ) }
    public var totalJoules: Double? { sum(\.totalJ) }
    public var peakRssMb: Double? { segments.compactMap(\.peakRssMb).max() }

    private func sum(_ key: KeyPath<Segment, Double?>) -> Double? {
        var total = 0.0
        for segment in segments {
            guard let value = segment[keyPath: key] else { return nil }
            total += value
        }
        return segments.isEmpty ? nil : total
    }
}
