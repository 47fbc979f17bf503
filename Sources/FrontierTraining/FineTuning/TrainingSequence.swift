import FrontierEngine

/// One model input of the training set with what it is trained towards: a tokenized GLUE
/// example, or one window of a SQuAD question (a long context gives several).
public struct TrainingSequence: Sendable, Equatable {
    public var ids: [Int32]
    public var typeIds: [Int32]
    public var target: TrainingTarget
    /// Index of the example it came from in the (limited) train file.
    public var example: Int

    public init(ids: [Int32], typeIds: [Int32], target: TrainingTarget, example: Int) {
        precondition(ids.count == typeIds.count, "TrainingSequence: \(ids.count) ids and \(typeIds.count) type ids")
        self.ids = ids
        self.typeIds = typeIds
        self.target = target
        self.example = example
    }

    public var count: Int { ids.count }
}

/// The training inputs of a run, in file order, and how they were made.
public struct TrainingSet: Sendable {
    public var sequences: [TrainingSequence]
    /// The train file read.
    public var file: String
    /// Examples trained on (the first `--limit` of the file, or all).
    public var examples: Int
    /// Examples in the file.
    public var availableExamples: Int
    /// GLUE: examples cut to the maximum length. SQuAD: questions whose context needed more than
    /// one window.
    public var truncated: Int
    /// SQuAD: windows whose context does not hold the answer (trained to point at [CLS]).
    public var windowsWithoutAnswer: Int

    public init(sequences: [TrainingSequence], file: String, examples: Int, availableExamples: Int, truncated: Int,
                windowsWithoutAnswer: Int = 0) {
        self.sequences = sequences
        self.file = file
        self.examples = examples
        self.availableExamples = availableExamples
        self.truncated = truncated
        self.windowsWithoutAnswer = windowsWithoutAnswer
    }

    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

    /// The packed batch of the sequences at `indices`, in that order.
    public func batch(_ indices: some Sequence<Int>) -> TrainingBatch {
        var inputs = EncoderBatch()
        var targets: [TrainingTarget] = []
        for index in indices {
            let sequence = sequences[index]
            inputs.append(ids: sequence.ids, typeIds: sequence.typeIds)
            targets.append(sequence.target)
        }
        return TrainingBatch(inputs: inputs, targets: targets)
    }
}
