/// A fine-tune ready to run: the model with its head (techniques and masks already applied),
/// the tokenized training set, the dev evaluator, and the settings and inputs it was made from.
public struct FineTuneJob: Sendable {
    public var settings: FineTuneSettings
    /// The starting point: the base's encoder and the head (kept or new).
    public var model: TrainableModel
    /// Weights held at zero through training (magnitude pruning before training).
    public var mask: WeightMask?
    public var data: TrainingSet
    public var evaluator: DevEvaluator
    /// The dropout rates of the run (the base's config.json's, or `--dropout` for all).
    public var dropout: DropoutRates
    /// Files the run read, checked again when it resumes.
    public var inputs: [InputFingerprint]
    /// How the head came about, for the record (`kept from the base`, `new, initialised from seed 42`).
    public var head: String

    public init(settings: FineTuneSettings, model: TrainableModel, mask: WeightMask?, data: TrainingSet, evaluator: DevEvaluator,
                dropout: DropoutRates, inputs: [InputFingerprint], head: String) {
        self.settings = settings
        self.model = model
        self.mask = mask
        self.data = data
        self.evaluator = evaluator
        self.dropout = dropout
        self.inputs = inputs
        self.head = head
    }

    /// Which sequences each update reads.
    public func plan() throws -> TrainingPlan {
        try TrainingPlan(sequences: data.sequences.count, batchSize: settings.batchSize, accumulation: settings.accumulation,
                         epochs: settings.epochs, shuffle: settings.shuffle, seed: settings.seed)
    }

    /// The optimiser's settings for a plan: the schedule spans every update of every epoch.
    public func trainerSettings(plan: TrainingPlan) -> TrainerSettings {
        TrainerSettings(schedule: LearningRateSchedule(peak: Float(settings.learningRate), warmupRatio: settings.warmupRatio,
                                                       totalSteps: plan.totalSteps),
                        adamW: AdamWSettings(weightDecay: Float(settings.weightDecay)),
                        maxGradientNorm: settings.maxGradNorm.map { Float($0) }, accumulationSteps: settings.accumulation,
                        dropout: dropout, seed: settings.seed, regime: settings.trainingRegime)
    }
}
