import Foundation
import FrontierEngine
import FrontierSupport

/// What a running fine-tune reports as it goes (for a progress display).
public enum FineTuneEvent: Sendable {
    /// Training starts at update `step` of `total` (`step > 0`: resumed from a saved state).
    case started(step: Int, total: Int)
    /// An update finished.
    case step(TrainingProgress.Step, total: Int)
    case evaluating(step: Int)
    case evaluated(TrainingProgress.Evaluation)
    /// The training state after `step` updates is on disk.
    case checkpointed(step: Int)
}

/// Readings the loop takes from outside the engine: the caller owns the meters (the engine
/// knows no energy counters), the loop decides when to read them.
public struct FineTuneHooks {
    /// Joules the machine used since the run's `startedAt`; nil: no meter.
    public var joules: (() -> Double?)?
    /// The process's peak resident set so far, in MiB.
    public var peakResidentMb: () -> Double?
    public var event: (FineTuneEvent) -> Void
    /// Called after each update, before that update's state is saved (so a snapshot it writes is
    /// on disk before any state past it), with the step and a function that gives the model:
    /// lottery-ticket rewinding to an early step keeps the weights of that step this way. A
    /// function, since bringing the deferred embedding rows up to date for a copy is not free and
    /// most calls do not look.
    public typealias AfterUpdate = (_ step: Int, _ model: () -> TrainableModel) throws -> Void
    public var afterUpdate: AfterUpdate?

    public init(joules: (() -> Double?)? = nil, peakResidentMb: @escaping () -> Double? = { nil },
                event: @escaping (FineTuneEvent) -> Void = { _ in },
                afterUpdate: AfterUpdate? = nil) {
        self.joules = joules
        self.peakResidentMb = peakResidentMb
        self.event = event
        self.afterUpdate = afterUpdate
    }
}

/// The result of a finished run.
public struct FineTuneOutcome: Sendable {
    public var model: TrainableModel
    public var progress: TrainingProgress
    public var plan: TrainingPlan
    public var trainerSettings: TrainerSettings
    /// The dev metrics after the last update.
    public var finalMetrics: [String: Double]
    /// Parameters the regime trains (pruned weights not counted).
    public var trainableParameters: Int
    /// Steps already taken when each process started (`[0]` for a run that never stopped).
    public var startSteps: [Int]
}

/// The training loop: epochs of micro-batches, gradient accumulation, the warm-up/decay
/// schedule, dev evaluations every `evalEvery` updates and at the end, and the training state
/// saved every `checkpointEvery` updates and at the end, so a killed run resumes where its last
/// state was and ends with exactly the weights of one that never stopped.
///
/// Determinism is by construction: the data order is a function of (seed, epoch), dropout of
/// (seed, step, micro-batch), and the state holds the parameters and moments bit for bit; the
/// thread count is part of the settings because the kernels split sums by thread.
public final class FineTuner {
    public let job: FineTuneJob
    public let store: TrainingStateStore?
    private let hooks: FineTuneHooks
    private let startedAt: Double

    /// - Parameters:
    ///   - store: where the training state goes (needed for `checkpointEvery`); nil: none.
    ///   - startedAt: when this process started the fine-tune (`MonotonicClock`), so the wall
    ///     time and energy of loading and tokenizing count too.
    public init(job: FineTuneJob, store: TrainingStateStore?, hooks: FineTuneHooks = FineTuneHooks(),
                startedAt: Double = MonotonicClock.now()) {
        self.job = job
        self.store = store
        self.hooks = hooks
        self.startedAt = startedAt
    }

    private func readJoules() -> Double? { hooks.joules.flatMap { $0() } }

    /// Refuses a saved state made by another command or from other files.
    public static func checkResumable(_ manifest: TrainingState.Manifest, settings: FineTuneSettings, inputs: [InputFingerprint],
                                      folder: URL) throws {
        let differences = settings.differences(from: manifest.settings)
            + InputFingerprint.differences(saved: manifest.inputs, now: inputs)
        guard differences.isEmpty else { throw FineTuneError.stateMismatch(folder: folder.path, differences: differences) }
    }

    /// Trains to the end (from the saved state when there is one) and returns the model.
    /// Throws `TrainingError.nonFiniteLoss` or `.nonFiniteGradient` naming the update whose loss or gradient was not
    /// finite; the saved state is then the last one written before it.
    public func run() throws -> FineTuneOutcome {
        let settings = job.settings
        try settings.validate()
        let plan = try job.plan()
        let trainerSettings = job.trainerSettings(plan: plan)
        if settings.checkpointEvery != nil, store == nil {
            throw TrainingError.invalidSettings("checkpointing every \(settings.checkpointEvery!) updates needs a folder for the training state")
        }

        var trainer: Trainer
        var progress = TrainingProgress()
        var startSteps: [Int] = []
        if let state = try store?.load() {
            try Self.checkResumable(state.manifest, settings: settings, inputs: job.inputs, folder: store!.output)
            guard state.manifest.parameterNames == job.model.layout.names, state.manifest.parameterCount == job.model.layout.count,
                  state.manifest.step <= plan.totalSteps else {
                throw TrainingError.checkpoint(path: store!.folder.path, detail: "the saved parameters do not fit this model (\(state.manifest.parameterCount) values for \(job.model.layout.count), step \(state.manifest.step) of \(plan.totalSteps)); run with --restart")
            }
            var model = job.model
            model.parameters = ParameterVector(layout: model.layout, values: state.parameters)
            var optimizer = AdamW(settings: trainerSettings.adamW, layout: model.layout)
            optimizer.firstMoment = ParameterVector(layout: model.layout, values: state.firstMoment)
            optimizer.secondMoment = ParameterVector(layout: model.layout, values: state.secondMoment)
            optimizer.step = state.manifest.step
            trainer = try Trainer(model: model, settings: trainerSettings, mask: job.mask, optimizer: optimizer)
            progress = state.manifest.progress
            startSteps = progress.segments.map(\.fromStep)
        } else {
            trainer = try Trainer(model: job.model, settings: trainerSettings, mask: job.mask)
        }
        startSteps.append(trainer.step)

        var segment = TrainingProgress.Segment(fromStep: trainer.step, toStep: trainer.step, wallS: 0, trainingS: 0, evaluationS: 0,
                                               checkpointS: 0, trainingJ: hooks.joules == nil ? nil : 0, totalJ: nil, peakRssMb: nil)
        let finished = progress.segments
        func current() -> TrainingProgress {
            segment.toStep = trainer.step
            segment.wallS = MonotonicClock.now() - startedAt
            segment.totalJ = readJoules()
            segment.peakRssMb = hooks.peakResidentMb()
            var snapshot = progress
            snapshot.segments = finished + [segment]
            return snapshot
        }
        func save() throws {
            guard let store else { return }
            let started = MonotonicClock.now()
            let (epoch, update) = plan.position(afterSteps: trainer.step)
            trainer.synchronize(threads: settings.threads)
            let model = trainer.model
            let manifest = TrainingState.Manifest(
                settings: settings, inputs: job.inputs, step: trainer.step, epoch: epoch, update: update, totalSteps: plan.totalSteps,
                parameterNames: model.layout.names, parameterCount: model.layout.count, progress: current(),
                frontierVersion: FrontierVersion.string)
            try store.save(TrainingState(manifest: manifest, parameters: model.parameters.values,
                                         firstMoment: trainer.optimizer.firstMoment.values, secondMoment: trainer.optimizer.secondMoment.values))
            segment.checkpointS += MonotonicClock.now() - started
            hooks.event(.checkpointed(step: trainer.step))
        }
        func evaluate() throws -> TrainingProgress.Evaluation {
            hooks.event(.evaluating(step: trainer.step))
            let started = MonotonicClock.now()
            trainer.synchronize(threads: settings.threads)
            let metrics = try job.evaluator.evaluate(trainer.model.encoderModel())
            let seconds = MonotonicClock.now() - started
            segment.evaluationS += seconds
            let evaluation = TrainingProgress.Evaluation(step: trainer.step, epoch: Double(trainer.step) / Double(plan.updatesPerEpoch),
                                                         metrics: metrics, examples: job.evaluator.examples, seconds: seconds)
            hooks.event(.evaluated(evaluation))
            return evaluation
        }

        hooks.event(.started(step: trainer.step, total: plan.totalSteps))
        let engine = GradientEngine(threads: settings.threads)
        var order: (epoch: Int, indices: [Int])?
        while trainer.step < plan.totalSteps {
            let (epoch, update) = plan.position(afterSteps: trainer.step)
            if order?.epoch != epoch { order = (epoch, plan.order(epoch: epoch)) }
            let joulesBefore = readJoules()
            let started = MonotonicClock.now()
            let microbatches = plan.microbatches(update: update, order: order!.indices).map { job.data.batch($0) }
            let report = try trainer.update(microbatches, engine: engine)
            segment.trainingS += MonotonicClock.now() - started
            if let joulesBefore, let joulesAfter = readJoules() { segment.trainingJ? += joulesAfter - joulesBefore }
            let step = TrainingProgress.Step(step: report.step, epoch: epoch, loss: report.loss, gradNorm: report.gradientNorm,
                                             lr: report.learningRate, examples: report.examples, tokens: report.tokens)
            progress.steps.append(step)
            hooks.event(.step(step, total: plan.totalSteps))
            try hooks.afterUpdate?(trainer.step, { trainer.model })
            let done = trainer.step == plan.totalSteps
            if let every = settings.evalEvery, trainer.step % every == 0, !done { progress.evaluations.append(try evaluate()) }
            if let every = settings.checkpointEvery, trainer.step % every == 0 || done { try save() }
        }
        // Not part of any saved state: a run resumed from the final state evaluates again.
        let final = try evaluate()
        progress.evaluations.append(final)
        let outcome = FineTuneOutcome(model: trainer.model, progress: current(), plan: plan, trainerSettings: trainerSettings,
                                      finalMetrics: final.metrics, trainableParameters: trainer.trainableParameterCount,
                                      startSteps: startSteps)
        return outcome
    }
}
