import CKernels
import Foundation

/// AdamW's hyper-parameters, `torch.optim.AdamW`'s defaults except the weight decay, which is
/// transformers' fine-tuning default (0.01).
public struct AdamWSettings: Sendable, Equatable, Codable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.01

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// AdamW (Loshchilov & Hutter) as `torch.optim.AdamW` computes it, element by element:
///
///     p ← p·(1 − lr·λ)                    (decaying slots only)
///     m ← m + (1 − β₁)(g − m)             (torch's `lerp_`)
///     v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Only the slots that train are touched (frozen ones keep their values, and get no decay, as
/// when PyTorch's optimiser is given only the parameters that require gradients). The moments
/// are `ParameterVector`s in the parameters' layout, so they checkpoint and resume as values.
public struct AdamW: Sendable, Equatable {
    public var settings: AdamWSettings
    public var firstMoment: ParameterVector
    public var secondMoment: ParameterVector
    /// Updates taken so far (`t` of the bias corrections).
    public var step: Int

    public init(settings: AdamWSettings, layout: ParameterLayout) {
        self.settings = settings
        firstMoment = ParameterVector(zeros: layout)
        secondMoment = ParameterVector(zeros: layout)
        step = 0
    }

    /// The numbers of one update that do not depend on the element: the bias-corrected step size,
    /// √(1 − β₂ᵗ), and the decay factor of the slots that decay.
    public struct StepConstants: Sendable, Equatable {
        public var stepSize: Float
        public var correction2Root: Float
        public var decay: Float
    }

    /// The constants of update `step` (1-based) at `learningRate`.
    public func constants(step: Int, learningRate: Float) -> StepConstants {
        let s = settings, t = Float(step)
        let correction1 = 1 - Foundation.pow(s.beta1, t), correction2 = 1 - Foundation.pow(s.beta2, t)
        return StepConstants(stepSize: learningRate / correction1, correction2Root: correction2.squareRoot(),
                             decay: 1 - learningRate * s.weightDecay)
    }

    /// One update of `parameters` by `gradients` (each first multiplied by `gradientScale`,
    /// clipping's coefficient) at `learningRate`, on the slots `trains` admits.
    public mutating func update(_ parameters: inout ParameterVector, gradients: ParameterVector, learningRate: Float,
                                gradientScale: Float = 1, threads: Int = 1,
                                trains: (ParameterLayout.Slot) -> Bool = { _ in true }) {
        let spans = parameters.layout.slots.filter(trains).map { ElementSpan(offset: $0.offset, count: $0.count, decays: $0.decays) }
        update(&parameters, gradients: gradients, learningRate: learningRate, gradientScale: gradientScale, threads: threads, spans: spans)
    }

    /// One update of the elements `spans` cover; the others are left as they are (the caller
    /// defers them: `Trainer`'s embedding rows). Returns the update's constants.
    ///
    /// The spans are cut into equal pieces of elements, one per thread, whatever the slots'
    /// sizes: a per-slot split left most of BERT's hundred small slots (biases, LayerNorms) on one
    /// thread and paid a dispatch for each. The update is element-wise, so the split changes no bit.
    @discardableResult
    mutating func update(_ parameters: inout ParameterVector, gradients: ParameterVector, learningRate: Float,
                         gradientScale: Float, threads: Int, spans: [ElementSpan]) -> StepConstants {
        precondition(parameters.layout == firstMoment.layout && gradients.layout == firstMoment.layout, "AdamW: layouts differ")
        step += 1
        let s = settings, c = constants(step: step, learningRate: learningRate)
        parameters.values.withUnsafeMutableBufferPointer { pBuffer in
            firstMoment.values.withUnsafeMutableBufferPointer { mBuffer in
                secondMoment.values.withUnsafeMutableBufferPointer { vBuffer in
                    gradients.values.withUnsafeBufferPointer { gBuffer in
                        let p = pBuffer.baseAddress!, m = mBuffer.baseAddress!, v = vBuffer.baseAddress!, g = gBuffer.baseAddress!
                        ElementSpan.forEachPiece(of: spans, threads: threads) { span, range in
                            let o = span.offset + range.lowerBound
                            fk_adamw(p + o, m + o, v + o, g + o, range.count, gradientScale, span.decays ? c.decay : 1, s.beta1, s.beta2,
                                     c.stepSize, c.correction2Root, s.epsilon)
                        }
                    }
                }
            }
        }
        return c
    }

    /// The constants of consecutive updates from `firstStep` on, as the arrays `fk_adamw_replay`
    /// reads (to replay the updates a deferred row missed).
    struct StepHistory: Sendable {
        /// The 1-based update whose constants come first.
        var firstStep: Int
        var stepSizes: [Float] = []
        var correction2Roots: [Float] = []
        var decays: [Float] = []
        var noDecay: [Float] = []

        init(firstStep: Int) { self.firstStep = firstStep }

        mutating func append(_ c: StepConstants) {
            stepSizes.append(c.stepSize)
            correction2Roots.append(c.correction2Root)
            decays.append(c.decay)
            noDecay.append(1)
        }
    }

    /// The update written out in Swift, one rounding per operation: the reference `fk_adamw` is
    /// tested against.
    static func referenceKernel(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                                _ g: UnsafePointer<Float>, count: Int, gradientScale: Float, decay: Float, beta1: Float, beta2: Float,
                                stepSize: Float, correction2Root: Float, epsilon: Float) {
        let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
        for i in 0..<count {
            let grad = g[i] * gradientScale
            let param = p[i] * decay
            let first = m[i] + oneMinusBeta1 * (grad - m[i])
            let second = beta2 * v[i] + oneMinusBeta2 * grad * grad
            m[i] = first
            v[i] = second
            p[i] = param - stepSize * (first / (second.squareRoot() / correction2Root + epsilon))
        }
    }
}

/// A run of consecutive elements of a parameter vector, and whether AdamW decays them.
struct ElementSpan: Sendable {
    var offset: Int
    var count: Int
    var decays = false

    /// Calls `body(span, range)` over `spans` cut into `threads` pieces of about equal element
    /// counts (a span may be cut between two threads; `range` is within the span), one pool
    /// dispatch in all. Below 64 Ki elements in total it runs on the calling thread.
    static func forEachPiece(of spans: [ElementSpan], threads: Int, _ body: (ElementSpan, Range<Int>) -> Void) {
        let total = spans.reduce(0) { $0 + $1.count }
        let pieces = total >= 1 << 16 ? max(1, threads) : 1
        let per = (total + pieces - 1) / max(pieces, 1)
        TrainingKernels.chunks(pieces, threads: pieces) { _, chunk in
            for piece in chunk {
                // Elements [begin, end) of the concatenated spans.
                let begin = piece * per, end = min(total, begin + per)
                var first = 0
                for span in spans {
                    let last = first + span.count
                    let lower = max(begin, first), upper = min(end, last)
                    if lower < upper { body(span, (lower - first)..<(upper - first)) }
                    first = last
                    if first >= end { break }
                }
            }
        }
    }
}

/// `clip_grad_norm_`: scales the gradients of `slots` so their global L2 norm is at most
/// `maxNorm` (coefficient `maxNorm / (norm + 1e-6)`, clamped to 1); returns the norm before.
public func clipGradientNorm(_ gradients: inout ParameterVector, maxNorm: Float, slots: [ParameterLayout.Slot], threads: Int = 1) -> Float {
    let norm = gradientNorm(gradients, slots: slots, threads: threads)
    let coefficient = clippingCoefficient(norm: norm, maxNorm: maxNorm)
    if coefficient < 1 {
        gradients.values.withUnsafeMutableBufferPointer { g in
            for slot in slots { for i in slot.range { g[i] *= coefficient } }
        }
    }
    return norm
}

/// `clip_grad_norm_`'s factor for a global norm: `maxNorm / (norm + 1e-6)` clamped to 1.
public func clippingCoefficient(norm: Float, maxNorm: Float) -> Float {
    min(1, maxNorm / (norm + 1e-6))
}

/// The global L2 norm of `slots`, summed in double over fixed blocks of 64 Ki elements whose
/// partial sums are added in order: the same for any thread count.
public func gradientNorm(_ gradients: ParameterVector, slots: [ParameterLayout.Slot], threads: Int = 1) -> Float {
    Float(sumOfSquares(gradients, slots: slots, threads: threads).squareRoot())
}

/// Σ g² over `slots`, as `gradientNorm` adds it up.
func sumOfSquares(_ gradients: ParameterVector, slots: [ParameterLayout.Slot], threads: Int) -> Double {
    let block = 1 << 16
    var blocks: [ElementSpan] = []
    for slot in slots {
        var start = 0
        while start < slot.count {
            blocks.append(ElementSpan(offset: slot.offset + start, count: min(block, slot.count - start)))
            start += block
        }
    }
    var partials = [Double](repeating: 0, count: blocks.count)
    gradients.values.withUnsafeBufferPointer { g in
        partials.withUnsafeMutableBufferPointer { out in
            let base = g.baseAddress!, sums = out.baseAddress!
            TrainingKernels.chunks(blocks.count, threads: blocks.count > 4 ? threads : 1) { _, range in
                for index in range { sums[index] = fk_sum_squares(base + blocks[index].offset, blocks[index].count) }
            }
        }
    }
    return partials.reduce(0, +)
}
