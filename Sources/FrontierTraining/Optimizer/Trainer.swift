import CKernels
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
///
/// The word-embedding table (half of MiniLM-L6's parameters) is updated lazily: AdamW moves every
/// row at every step, also rows no example of the step used (their moments decay and the weight
/// keeps moving), and that dense pass over the table and its two moments was the largest memory
/// cost of a step. Here a row is brought up to date, by replaying the missed steps with a zero
/// gradient (`fk_adamw_replay`, the same operations), only when a batch uses it or the state is
/// read (`model`, `optimizer`, `synchronize()`); every value read is the one the dense update
/// would have given, bit for bit.
public struct Trainer: Sendable {
    /// The parameters, with the deferred embedding rows behind (see `lazyRows`).
    private var storedModel: TrainableModel
    private var storedOptimizer: AdamW
    public let settings: TrainerSettings
    public let mask: WeightMask?
    public let parts: TrainableParts
    /// Reused between updates: zeroed (trainable slots only) at the start of each.
    private var gradients: ParameterVector
    /// The deferred rows of the word-embedding table; nil when the embeddings do not train.
    private var lazyRows: LazyRows?

    public init(model: TrainableModel, settings: TrainerSettings, mask: WeightMask? = nil, optimizer: AdamW? = nil) throws {
        guard settings.accumulationSteps >= 1 else { throw TrainingError.invalidSettings("gradient accumulation needs at least 1 micro-batch per update") }
        if case let .topK(k) = settings.regime, k < 1 || k > model.architecture.layers.count {
            throw TrainingError.invalidSettings("top-k trains the last k of the model's \(model.architecture.layers.count) layers; k=\(k) is outside 1...\(model.architecture.layers.count)")
        }
        var model = model
        if let mask { mask.apply(to: &model.parameters) }
        storedModel = model
        self.settings = settings
        self.mask = mask
        parts = settings.regime.parts(layers: model.architecture.layers.count)
        if let optimizer {
            guard optimizer.firstMoment.layout == model.layout else { throw TrainingError.invalidSettings("the optimiser state was saved for another model layout") }
            storedOptimizer = optimizer
        } else {
            storedOptimizer = AdamW(settings: settings.adamW, layout: model.layout)
        }
        gradients = ParameterVector(zeros: model.layout)
        if parts.contains(.embeddings) {
            let slot = model.layout.slots[model.architecture.embeddings.word]
            lazyRows = LazyRows(slot: slot, step: storedOptimizer.step)
        }
    }

    /// The model after the updates so far (deferred embedding rows brought up to date in the copy
    /// returned; `synchronize()` first makes this free).
    public var model: TrainableModel {
        guard let lazyRows, lazyRows.isBehind else { return storedModel }
        var copy = self
        copy.synchronize()
        return copy.storedModel
    }

    /// AdamW's state after the updates so far (as `model`).
    public var optimizer: AdamW {
        guard let lazyRows, lazyRows.isBehind else { return storedOptimizer }
        var copy = self
        copy.synchronize()
        return copy.storedOptimizer
    }

    /// Brings every deferred embedding row up to date, in place: before reading the model or the
    /// optimiser more than once (evaluating, checkpointing).
    public mutating func synchronize(threads: Int = 1) {
        guard var rows = lazyRows, rows.isBehind else { return }
        rows.catchUp(rows: Array(0..<rows.count), parameters: &storedModel.parameters, optimizer: &storedOptimizer, threads: threads)
        rows.forgetHistory()
        lazyRows = rows
    }

    /// Updates taken so far.
    public var step: Int { storedOptimizer.step }

    /// The model's shapes and slots (free: no deferred row is brought up to date).
    public var architecture: TrainableArchitecture { storedModel.architecture }

    /// Parameters of the model, trained or not.
    public var parameterCount: Int { storedModel.layout.count }

    public var trainableSlots: [ParameterLayout.Slot] { storedModel.layout.slots.filter { parts.contains($0.group) } }

    public var trainableParameterCount: Int { trainableSlots.reduce(0) { $0 + $1.count } - (mask?.pruned.count ?? 0) }

    /// One update from `microbatches` (at most `accumulationSteps` of them). Throws
    /// `nonFiniteLoss` (or `nonFiniteGradient`) before touching the parameters if the loss or a gradient is not finite.
    public mutating func update(_ microbatches: [TrainingBatch], engine: GradientEngine) throws -> StepReport {
        guard !microbatches.isEmpty, microbatches.count <= settings.accumulationSteps else {
            throw TrainingError.invalidBatch("an update takes 1...\(settings.accumulationSteps) micro-batches; got \(microbatches.count)")
        }
        return try engine.withKernelThreads { try updateOnKernelThreads(microbatches, engine: engine) }
    }

    private mutating func updateOnKernelThreads(_ microbatches: [TrainingBatch], engine: GradientEngine) throws -> StepReport {
        let slots = trainableSlots
        let table = lazyRows?.slot
        // The slots other than the word table are zeroed whole; the table only where the last
        // update wrote (the rows of its tokens: the embedding gradient is a scatter into them).
        let denseSlots = slots.filter { $0.offset != table?.offset }
        let denseSpans = denseSlots.map { ElementSpan(offset: $0.offset, count: $0.count, decays: $0.decays) }
        var rowsUsed: [Int] = []
        gradients.values.withUnsafeMutableBufferPointer { g in
            let base = g.baseAddress!
            ElementSpan.forEachPiece(of: denseSpans, threads: engine.threads) { span, range in
                (base + span.offset + range.lowerBound).update(repeating: 0, count: range.count)
            }
            if let lazy = lazyRows {
                for row in lazy.rowsWritten { (base + lazy.offset(row: row)).update(repeating: 0, count: lazy.width) }
            }
        }
        if var lazy = lazyRows {
            // The rows this update reads and writes, brought up to date before the forward pass.
            rowsUsed = lazy.rows(of: microbatches)
            lazy.rowsWritten = rowsUsed
            lazy.catchUp(rows: rowsUsed, parameters: &storedModel.parameters, optimizer: &storedOptimizer, threads: engine.threads)
            lazyRows = lazy
        }
        let scale = 1 / Float(settings.accumulationSteps)
        var loss: Float = 0
        let passStart = MonotonicClock.now()
        for (index, batch) in microbatches.enumerated() {
            let pass = try engine.run(storedModel, batch: batch, dropout: settings.dropout, seed: settings.seed, step: step,
                                      microbatch: index, trainable: parts, lossScale: scale, into: &gradients)
            loss += pass.loss * scale
        }
        let passSeconds = MonotonicClock.now() - passStart
        if let mask { mask.apply(to: &gradients) }
        // Clipping's coefficient is applied inside AdamW's pass (the same product as scaling the
        // gradients first, without another pass over them). The table's rows that no token used
        // hold zeros, which add nothing to the norm.
        var squares = sumOfSquares(gradients, slots: denseSlots, threads: engine.threads)
        if let lazy = lazyRows { squares += lazy.sumOfSquares(gradients, rows: rowsUsed) }
        let norm = Float(squares.squareRoot())
        let coefficient = clippingCoefficient(norm: norm, maxNorm: settings.maxGradientNorm ?? .infinity)
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1, loss: loss) }
        guard norm.isFinite else { throw TrainingError.nonFiniteGradient(step: step + 1, norm: norm) }
        let rate = settings.schedule.rate(at: step)
        var spans = denseSpans
        if let lazy = lazyRows {
            spans += rowsUsed.map { ElementSpan(offset: lazy.offset(row: $0), count: lazy.width, decays: lazy.slot.decays) }
        }
        let constants = storedOptimizer.update(&storedModel.parameters, gradients: gradients, learningRate: rate, gradientScale: coefficient,
                                               threads: engine.threads, spans: spans)
        lazyRows?.advance(rows: rowsUsed, constants: constants)
        return StepReport(step: step, loss: loss, gradientNorm: norm, learningRate: rate,
                          examples: microbatches.reduce(0) { $0 + $1.count }, tokens: microbatches.reduce(0) { $0 + $1.inputs.tokenCount },
                          passSeconds: passSeconds)
    }
}

/// The word-embedding rows a `Trainer` has not moved yet: for each row, how many updates it has
/// had, and the constants of the updates since the oldest row's.
private struct LazyRows: Sendable {
    let slot: ParameterLayout.Slot
    let width: Int
    /// Updates applied to each row so far.
    private var applied: [Int32]
    /// Updates taken in all (the optimiser's step).
    private var step: Int
    private var history: AdamW.StepHistory
    /// The rows whose gradient the last update wrote (to zero before the next).
    var rowsWritten: [Int] = []

    init(slot: ParameterLayout.Slot, step: Int) {
        self.slot = slot
        width = slot.shape.count == 2 ? slot.shape[1] : slot.count
        applied = [Int32](repeating: Int32(step), count: slot.count / max(width, 1))
        self.step = step
        history = AdamW.StepHistory(firstStep: step + 1)
    }

    var count: Int { applied.count }
    var isBehind: Bool { applied.contains { Int($0) < step } }
    func offset(row: Int) -> Int { slot.offset + row * width }

    /// The distinct in-vocabulary token ids of `batches`, ascending (an id outside the table is
    /// left for the gradient engine to refuse, naming it).
    func rows(of batches: [TrainingBatch]) -> [Int] {
        var seen = [Bool](repeating: false, count: count)
        for batch in batches { for id in batch.inputs.ids where id >= 0 && Int(id) < count { seen[Int(id)] = true } }
        return seen.indices.filter { seen[$0] }
    }

    /// Replays the updates each of `rows` missed.
    mutating func catchUp(rows: [Int], parameters: inout ParameterVector, optimizer: inout AdamW, threads: Int) {
        let history = self.history, step = self.step, applied = self.applied, slot = self.slot, width = self.width
        let behind = rows.filter { Int(applied[$0]) < step }
        guard !behind.isEmpty else { return }
        // Rows are disjoint, so threads may replay different rows of the same vectors; the
        // optimiser's and the parameters' buffers are reached through pointers for that.
        let pieces = behind.count >= 64 ? max(1, threads) : 1
        parameters.values.withUnsafeMutableBufferPointer { p in
            optimizer.firstMoment.values.withUnsafeMutableBufferPointer { m in
                optimizer.secondMoment.values.withUnsafeMutableBufferPointer { v in
                    let pBase = p.baseAddress!, mBase = m.baseAddress!, vBase = v.baseAddress!
                    let s = optimizer.settings
                    TrainingKernels.chunks(behind.count, threads: pieces) { _, range in
                        for index in range {
                            let row = behind[index], from = Int(applied[row]) + 1
                            let offset = from - history.firstStep, o = slot.offset + row * width
                            history.stepSizes.withUnsafeBufferPointer { sizes in
                                history.correction2Roots.withUnsafeBufferPointer { roots in
                                    (slot.decays ? history.decays : history.noDecay).withUnsafeBufferPointer { decays in
                                        fk_adamw_replay(pBase + o, mBase + o, vBase + o, width, sizes.baseAddress! + offset,
                                                        roots.baseAddress! + offset, decays.baseAddress! + offset, step - from + 1,
                                                        s.beta1, s.beta2, s.epsilon)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for row in behind { self.applied[row] = Int32(step) }
    }

    /// Records an update that moved `rows` (and deferred the others).
    mutating func advance(rows: [Int], constants: AdamW.StepConstants) {
        step += 1
        history.append(constants)
        for row in rows { applied[row] = Int32(step) }
    }

    /// Drops the constants no row needs any more (every row is up to date).
    mutating func forgetHistory() {
        history = AdamW.StepHistory(firstStep: step + 1)
    }

    /// Σ g² over `rows` of the table, ascending.
    func sumOfSquares(_ gradients: ParameterVector, rows: [Int]) -> Double {
        gradients.values.withUnsafeBufferPointer { g in
            rows.reduce(0.0) { $0 + fk_sum_squares(g.baseAddress! + offset(row: $1), width) }
        }
    }
}
