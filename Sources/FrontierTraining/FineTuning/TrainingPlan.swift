/// Which sequences each optimiser update of a run reads: epochs of micro-batches in a seeded
/// order, `accumulation` micro-batches per update.
///
/// Everything here is a pure function of the sizes and the seed. The order of epoch `e` is a
/// permutation drawn from a generator keyed on (seed, e) alone, so the position in the data is
/// just the number of updates taken: a resumed run recomputes the same batches without any
/// generator state in its checkpoint.
public struct TrainingPlan: Sendable, Equatable {
    public let sequences: Int
    /// Sequences per micro-batch (the last one of an epoch may have fewer).
    public let batchSize: Int
    /// Micro-batches per update (the last update of an epoch may have fewer).
    public let accumulation: Int
    public let epochs: Int
    /// false: file order every epoch.
    public let shuffle: Bool
    public let seed: UInt64

    public init(sequences: Int, batchSize: Int, accumulation: Int, epochs: Int, shuffle: Bool, seed: UInt64) throws {
        guard sequences >= 1 else { throw TrainingError.invalidSettings("the training set is empty") }
        guard batchSize >= 1 else { throw TrainingError.invalidSettings("the batch size must be at least 1; got \(batchSize)") }
        guard accumulation >= 1 else { throw TrainingError.invalidSettings("gradient accumulation must be at least 1; got \(accumulation)") }
        guard epochs >= 1 else { throw TrainingError.invalidSettings("train for at least 1 epoch; got \(epochs)") }
        self.sequences = sequences
        self.batchSize = batchSize
        self.accumulation = accumulation
        self.epochs = epochs
        self.shuffle = shuffle
        self.seed = seed
    }

    public var microbatchesPerEpoch: Int { (sequences + batchSize - 1) / batchSize }
    public var updatesPerEpoch: Int { (microbatchesPerEpoch + accumulation - 1) / accumulation }
    /// Updates over all epochs: the schedule's length.
    public var totalSteps: Int { epochs * updatesPerEpoch }

    /// Epoch (0-based) and update index within it of the update after `step` updates.
    public func position(afterSteps step: Int) -> (epoch: Int, update: Int) {
        (step / updatesPerEpoch, step % updatesPerEpoch)
    }

    /// The sequence order of an epoch.
    public func order(epoch: Int) -> [Int] {
        shuffle ? EpochOrder.permutation(count: sequences, seed: seed, epoch: epoch) : Array(0..<sequences)
    }

    /// The micro-batches (sequence indices) of update `update` of an epoch whose order is `order`.
    public func microbatches(update: Int, order: [Int]) -> [ArraySlice<Int>] {
        precondition(order.count == sequences && (0..<updatesPerEpoch).contains(update), "TrainingPlan: update \(update) of \(updatesPerEpoch)")
        let first = update * accumulation, last = min(first + accumulation, microbatchesPerEpoch)
        return (first..<last).map { order[($0 * batchSize)..<min(($0 + 1) * batchSize, sequences)] }
    }
}
