import Foundation
import FrontierSupport

/// How a run trains: the optimiser, its schedule and what changes.
public struct TrainerSettings: Sendable, Equatable, Codable {
    public var schedule: LearningRateSchedule
    public var adamW: AdamWSettings
    /// `clip_grad_norm_`'s bound on the global gradient norm; nil: no clipping.
    public var maxGradientNorm: Float?
    /// Micro-batches whose gradients are summed into one update (each loss divided by this, as
    /// transformers' Trainer does).
    public var accumulationSteps: Int
    public var dropout: DropoutRates
    public var seed: UInt64
    public var regime: TrainingRegime

    public init(schedule: LearningRateSchedule, adamW: AdamWSettings = AdamWSettings(), maxGradientNorm: Float? = 1,
                accumulationSteps: Int = 1, dropout: DropoutRates, seed: UInt64, regime: TrainingRegime = .full) {
        self.schedule = schedule
        self.adamW = adamW
        self.maxGradientNorm = maxGradientNorm
        self.accumulationSteps = accumulationSteps
        self.dropout = dropout
        self.seed = seed
        self.regime = regime
    }
}

/// One optimiser update's numbers.
public struct StepReport: Sendable, Equatable, Codable {
    /// 1-based index of the update.
    public var step: Int
    /// Mean loss over the update's micro-batches (before the update).
    public var loss: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    public var learningRate: Float
    public var examples: Int
    public var tokens: Int
    /// Seconds in the forward and backward passes (the rest of an update is clipping and AdamW).
    public var passSeconds: Double
}

/// The training state: the model's parameters and AdamW's moments, both values, and the
/// settings that say how the next update is made. Copying a `Trainer` copies the state
/// (checkpointing is writing this value down; resuming is reading it back).
public struct Trainer: Sendable {
    public private(set) var model: TrainableModel
    public private(set) var optimizer: AdamW
    public let settings: TrainerSettings
    public let mask: WeightMask?
    public let parts: TrainableParts
    /// Reused between updates: zeroed (trainable slots only) at the start of each.
    private var gradients: ParameterVector

    public init(model: TrainableModel, settings: TrainerSettings, mask: WeightMask? = nil, optimizer: AdamW? = nil) throws {
        guard settings.accumulationSteps >= 1 else { throw TrainingError.invalidSettings("gradient accumulation needs at least 1 micro-batch per update") }
        if case let .topK(k) = settings.regime, k < 1 || k > model.architecture.layers.count {
            throw TrainingError.invalidSettings("top-k trains the last k of the model's \(model.architecture.layers.count) layers; k=\(k) is outside 1...\(model.architecture.layers.count)")
        }
        var model = model
        if let mask { mask.apply(to: &model.parameters) }
        self.model = model
        self.settings = settings
        self.mask = mask
        parts = settings.regime.parts(layers: model.architecture.layers.count)
        if let optimizer {
            guard optimizer.firstMoment.layout == model.layout else { throw TrainingError.invalidSettings("the optimiser state was saved for another model layout") }
            self.optimizer = optimizer
        } else {
            self.optimizer = AdamW(settings: settings.adamW, layout: model.layout)
        }
        gradients = ParameterVector(zeros: model.layout)
    }

    /// Updates taken so far.
    public var step: Int { optimizer.step }

    public var trainableSlots: [ParameterLayout.Slot] { model.layout.slots.filter { parts.contains($0.group) } }

    public var trainableParameterCount: Int { trainableSlots.reduce(0) { $0 + $1.count } - (mask?.pruned.count ?? 0) }

    /// One update from `microbatches` (at most `accumulationSteps` of them). Throws
    /// `nonFiniteLoss` (or `nonFiniteGradient`) before touching the parameters if the loss or a gradient is not finite.
    public mutating func update(_ microbatches: [TrainingBatch], engine: GradientEngine) throws -> StepReport {
        guard !microbatches.isEmpty, microbatches.count <= settings.accumulationSteps else {
            throw TrainingError.invalidBatch("an update takes 1...\(settings.accumulationSteps) micro-batches; got \(microbatches.count)")
        }
        let slots = trainableSlots
        let spans = slots.map { ElementSpan(offset: $0.offset, count: $0.count) }
        gradients.values.withUnsafeMutableBufferPointer { g in
            let base = g.baseAddress!
            ElementSpan.forEachPiece(of: spans, threads: engine.threads) { span, range in
                (base + span.offset + range.lowerBound).update(repeating: 0, count: range.count)
            }
        }
        let scale = 1 / Float(settings.accumulationSteps)
        var loss: Float = 0
        let passStart = MonotonicClock.now()
        for (index, batch) in microbatches.enumerated() {
            let pass = try engine.run(model, batch: batch, dropout: settings.dropout, seed: settings.seed, step: step,
                                      microbatch: index, trainable: parts, lossScale: scale, into: &gradients)
            loss += pass.loss * scale
        }
        let passSeconds = MonotonicClock.now() - passStart
        if let mask { mask.apply(to: &gradients) }
        // Clipping's coefficient is applied inside AdamW's pass (the same product as scaling the
        // gradients first, without another pass over them).
        let norm = gradientNorm(gradients, slots: slots, threads: engine.threads)
        let coefficient = clippingCoefficient(norm: norm, maxNorm: settings.maxGradientNorm ?? .infinity)
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1, loss: loss) }
        guard norm.isFinite else { throw TrainingError.nonFiniteGradient(step: step + 1, norm: norm) }
        let rate = settings.schedule.rate(at: step)
        let parts = self.parts
        optimizer.update(&model.parameters, gradients: gradients, learningRate: rate, gradientScale: coefficient,
                         threads: engine.threads) { parts.contains($0.group) }
        return StepReport(step: step, loss: loss, gradientNorm: norm, learningRate: rate,
                          examples: microbatches.reduce(0) { $0 + $1.count }, tokens: microbatches.reduce(0) { $0 + $1.inputs.tokenCount },
                          passSeconds: passSeconds)
    }
}
