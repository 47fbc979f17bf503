import Foundation

/// `training.json` of a backprop fine-tune: how the model was made (every setting, the data,
/// the schedule), how training went (the loss curve, the dev metric at each evaluation and at
/// the end) and what it cost (throughput over the training updates, wall time, energy with its
/// source, peak memory), on which machine and with which frontier.
///
/// `task` at the top level is what `RecordedTask` reads, so eval warns and the sweep's
/// preflight refuses when the folder is used for another task.
public struct FineTuneRecord: Codable, Sendable, Equatable {
    public static let currentFormat = "frontier-finetune/1"

    public struct Schedule: Codable, Sendable, Equatable {
        public var totalSteps: Int
        public var warmupSteps: Int
        public var updatesPerEpoch: Int
        public var microbatchesPerEpoch: Int
        /// Sequences per update when every micro-batch is full (batch × accumulation).
        public var effectiveBatch: Int
        public var peakLr: Float
    }

    public struct TrainData: Codable, Sendable, Equatable {
        public var file: String
        /// Examples trained on (SQuAD: questions), and in the file.
        public var examples: Int
        public var availableExamples: Int
        /// Model inputs per epoch (SQuAD: windows; GLUE: one per example).
        public var sequences: Int
        /// Real tokens per epoch (packed: no padding).
        public var tokensPerEpoch: Int
        /// GLUE: examples cut to `max_seq_len`; SQuAD: questions split into several windows.
        public var truncated: Int
        /// SQuAD: windows without the answer, trained to point at [CLS].
        public var windowsWithoutAnswer: Int
    }

    public struct Throughput: Codable, Sendable, Equatable {
        /// Sequences (SQuAD: windows) per second of training updates (forward, backward,
        /// optimiser; not evaluation or checkpointing).
        public var examplesPerS: Double
        /// Real tokens (no padding) per second of training updates.
        public var tokensPerS: Double
        public var trainingS: Double
        public var examples: Int
        public var tokens: Int
    }

    public struct Energy: Codable, Sendable, Equatable {
        public var source: String
        /// Over the training updates only, the figure to compare per example.
        public var trainingJ: Double
        /// Over the whole run, loading, evaluations and checkpoints included.
        public var totalJ: Double
        public var trainingJPerExample: Double
        public var estimate: [String: Double]?
        public var notes: [String]
    }

    /// The CPU the run trained on (the last process's, for a resumed run).
    public struct Machine: Codable, Sendable, Equatable {
        public var cpuModel: String
        public var logicalCpus: Int
    }

    public var format: String
    public var status: String
    public var task: String
    public var regime: String
    public var base: String
    /// `kept from the base` or `new, initialised from seed N`.
    public var head: String
    public var settings: FineTuneSettings
    public var dropout: DropoutRates
    public var schedule: Schedule
    public var train: TrainData
    public var parameters: Int
    public var trainableParameters: Int
    /// Weights held at zero by the pruning mask (nil: no mask).
    public var maskedWeights: Int?
    /// Per update: loss, gradient norm before clipping, learning rate.
    public var lossCurve: [TrainingProgress.Step]
    public var evaluations: [TrainingProgress.Evaluation]
    /// The dev metrics after the last update.
    public var finalMetrics: [String: Double]
    public var throughput: Throughput
    /// Summed over the processes that worked on the run.
    public var wallS: Double
    public var energy: Energy?
    public var peakRssMb: Double?
    /// One per process, up to its last saved state (more than one: the run was resumed).
    public var segments: [TrainingProgress.Segment]
    public var machine: Machine
    public var threads: Int
    public var frontierVersion: String
    public var gitCommit: String?
    public var finishedAt: String

    public init(outcome: FineTuneOutcome, job: FineTuneJob, environment: TrainingEnvironment, maskedWeights: Int?,
                finishedAt: Date = Date()) {
        let settings = job.settings, progress = outcome.progress, plan = outcome.plan
        format = Self.currentFormat
        status = "finished"
        task = settings.task
        regime = settings.regime
        base = settings.base
        head = job.head
        self.settings = settings
        dropout = job.dropout
        schedule = Schedule(totalSteps: plan.totalSteps, warmupSteps: outcome.trainerSettings.schedule.warmupSteps,
                            updatesPerEpoch: plan.updatesPerEpoch, microbatchesPerEpoch: plan.microbatchesPerEpoch,
                            effectiveBatch: plan.batchSize * plan.accumulation, peakLr: outcome.trainerSettings.schedule.peak)
        train = TrainData(file: job.data.file, examples: job.data.examples, availableExamples: job.data.availableExamples,
                          sequences: job.data.sequences.count, tokensPerEpoch: job.data.tokenCount, truncated: job.data.truncated,
                          windowsWithoutAnswer: job.data.windowsWithoutAnswer)
        parameters = outcome.model.layout.count
        trainableParameters = outcome.trainableParameters
        self.maskedWeights = maskedWeights
        lossCurve = progress.steps
        evaluations = progress.evaluations
        finalMetrics = outcome.finalMetrics
        let seconds = progress.trainingSeconds
        throughput = Throughput(examplesPerS: seconds > 0 ? Double(progress.examples) / seconds : 0,
                                tokensPerS: seconds > 0 ? Double(progress.tokens) / seconds : 0,
                                trainingS: seconds, examples: progress.examples, tokens: progress.tokens)
        wallS = progress.wallSeconds
        if let source = environment.energySource, let trainingJ = progress.trainingJoules, let totalJ = progress.totalJoules {
            energy = Energy(source: source, trainingJ: trainingJ, totalJ: totalJ,
                            trainingJPerExample: progress.examples > 0 ? trainingJ / Double(progress.examples) : 0,
                            estimate: environment.energyEstimate, notes: environment.energyNotes)
        } else {
            energy = nil
        }
        peakRssMb = progress.peakRssMb
        segments = progress.segments
        machine = Machine(cpuModel: environment.cpuModel, logicalCpus: environment.logicalCpus)
        threads = settings.threads
        frontierVersion = environment.frontierVersion
        gitCommit = environment.gitCommit
        self.finishedAt = ISO8601DateFormatter().string(from: finishedAt)
    }
}
