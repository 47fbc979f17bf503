import FrontierEngine

/// What one sequence is trained towards.
public enum TrainingTarget: Sendable, Equatable, Codable {
    /// A class index (classification; cross-entropy).
    case label(Int)
    /// A score (regression, STS-B; mean squared error).
    case value(Float)
    /// Token positions of the answer's first and last token in the sequence (question answering;
    /// start and end cross-entropy). A position outside the sequence is ignored, as transformers
    /// ignores positions clamped to the padded length.
    case span(start: Int, end: Int)
}

/// Packed sequences (no padding, as inference runs them) with one target each.
public struct TrainingBatch: Sendable, Equatable {
    public var inputs: EncoderBatch
    public var targets: [TrainingTarget]

    public init(inputs: EncoderBatch, targets: [TrainingTarget]) {
        precondition(inputs.count == targets.count, "TrainingBatch: \(inputs.count) sequences and \(targets.count) targets")
        self.inputs = inputs
        self.targets = targets
    }

    public var count: Int { inputs.count }
}

/// Dropout probabilities of a training step, as transformers applies them.
public struct DropoutRates: Sendable, Equatable, Codable {
    /// After the embeddings' LayerNorm, the attention output projection (BERT only) and the
    /// feed-forward output.
    public var hidden: Float
    /// On the attention probabilities.
    public var attention: Float
    /// Before the classifier (BERT: on the pooled output; DistilBERT: after the pre-classifier's
    /// ReLU), or before the span layer (DistilBERT question answering; BERT has none there).
    public var head: Float

    public init(hidden: Float, attention: Float, head: Float) {
        self.hidden = hidden
        self.attention = attention
        self.head = head
    }

    /// No dropout (evaluation, and parity tests against transformers with dropout off).
    public static let off = DropoutRates(hidden: 0, attention: 0, head: 0)

    /// The rates `config.json` gives for a model with this kind of head.
    public init(config: ModelConfig, questionAnswering: Bool) {
        hidden = config.hiddenDropout
        attention = config.attentionDropout
        switch (config.family, questionAnswering) {
        case (.bert, false): head = config.classifierDropout ?? config.hiddenDropout
        case (.bert, true): head = 0
        case (.distilbert, false): head = config.classifierDropout ?? 0.2
        case (.distilbert, true): head = config.questionAnsweringDropout ?? 0.1
        }
    }

    /// Every rate replaced by `rate` (`--dropout P`); 0 switches dropout off.
    public static func uniform(_ rate: Float) -> DropoutRates { DropoutRates(hidden: rate, attention: rate, head: rate) }

    public var isOff: Bool { hidden == 0 && attention == 0 && head == 0 }
}

/// Keep/drop decisions from a counter-based generator: element `i` of site `site` in
/// micro-batch `microbatch` of optimiser step `step` is a pure function of those numbers and
/// the seed. A run therefore needs no generator state in its checkpoint (resuming regenerates
/// the same masks), and threads splitting the work cannot change them.
struct DropoutStream {
    let key: UInt64

    init(seed: UInt64, step: Int, microbatch: Int) {
        key = Self.mix(Self.mix(seed ^ 0x6A09_E667_F3BC_C908) &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(microbatch))
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Writes 1 (keep) or 0 (drop) for `count` elements of `site` into `mask`.
    func fill(_ mask: UnsafeMutablePointer<UInt8>, count: Int, site: Int, start: Int = 0, rate: Float) {
        let siteKey = Self.mix(key &+ UInt64(site) &* 0xD1B5_4A32_D192_ED03)
        let threshold = UInt64(Double(rate) * 0x1p24)
        for i in 0..<count {
            let z = Self.mix(siteKey &+ UInt64(start + i) &* 0x9E37_79B9_7F4A_7C15)
            mask[i] = (z >> 40) >= threshold ? 1 : 0
        }
    }
}
