/// Where each trainable tensor lives in one flat `[Float]`: its Hugging Face name, shape, offset,
/// and what the optimiser and the regimes need to know about it.
///
/// One flat vector rather than a tensor per parameter because everything that is not the
/// forward/backward pass (AdamW, gradient clipping, accumulation, masks, checkpointing) is a
/// loop over every element: one buffer makes each of them a single loop, and the parameters,
/// their gradients and both Adam moments share this layout, so a slot's offset indexes all four.
///
/// Query, key and value are separate slots (as the checkpoint names them) laid out back to back,
/// weights then biases, so the three weights read as the fused `[3a, h]` projection the forward
/// pass multiplies by, without a copy.
public struct ParameterLayout: Sendable, Equatable {
    public struct Slot: Sendable, Equatable {
        /// The checkpoint name, with `.weight` / `.bias` (`bert.encoder.layer.0.attention.self.query.weight`).
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset..<(offset + count) }
        /// Whether AdamW's weight decay applies: not to biases nor LayerNorm weights, as
        /// transformers' Trainer groups them (embedding tables do decay).
        public let decays: Bool
        /// Which part of the model it belongs to, for the regimes.
        public let group: Group
    }

    /// Embeddings, one encoder block, the pooler, or the task head (classifier, DistilBERT's
    /// pre-classifier, the QA span layer).
    public enum Group: Sendable, Equatable, Hashable {
        case embeddings
        case layer(Int)
        case pooler
        case head
    }

    public private(set) var slots: [Slot] = []
    public private(set) var count = 0
    private var index: [String: Int] = [:]

    public init() {}

    mutating func append(_ name: String, shape: [Int], group: Group, decays: Bool) -> Int {
        precondition(index[name] == nil, "ParameterLayout: \(name) twice")
        let slot = Slot(name: name, shape: shape, offset: count, decays: decays, group: group)
        index[name] = slots.count
        slots.append(slot)
        count += slot.count
        return slots.count - 1
    }

    public func slot(named name: String) -> Slot? { index[name].map { slots[$0] } }
    public var names: [String] { slots.map(\.name) }
}

/// A vector laid out by a `ParameterLayout`: parameters, gradients or an Adam moment.
public struct ParameterVector: Sendable, Equatable {
    public let layout: ParameterLayout
    public var values: [Float]

    public init(layout: ParameterLayout, values: [Float]) {
        precondition(values.count == layout.count, "ParameterVector: \(values.count) values for a layout of \(layout.count)")
        self.layout = layout
        self.values = values
    }

    public init(zeros layout: ParameterLayout) {
        self.init(layout: layout, values: [Float](repeating: 0, count: layout.count))
    }

    /// The values of one tensor, by checkpoint name (nil when the layout has no such tensor).
    public subscript(name: String) -> ArraySlice<Float>? {
        layout.slot(named: name).map { values[$0.range] }
    }
}
