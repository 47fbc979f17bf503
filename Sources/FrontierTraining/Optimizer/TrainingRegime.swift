/// Which part of the model fine-tuning changes.
public enum TrainingRegime: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every parameter: embeddings, every block, the pooler and the head.
    case full
    /// The last `k` encoder blocks, the pooler and the head; everything below stays as it was.
    case topK(Int)
    /// The task head only (classifier, DistilBERT's pre-classifier, the span layer); the encoder,
    /// pooler included, stays as it was.
    case frozen

    public func parts(layers: Int) -> TrainableParts {
        switch self {
        case .full: return .everything
        case let .topK(k): return TrainableParts(embeddings: k >= layers, layersFrom: max(0, layers - k), pooler: true, head: true)
        case .frozen: return TrainableParts(embeddings: false, layersFrom: layers, pooler: false, head: true)
        }
    }

    public var description: String {
        switch self {
        case .full: return "full"
        case let .topK(k): return "top-\(k)"
        case .frozen: return "frozen"
        }
    }
}

/// Weights that stay exactly zero through training (a pruning mask): the weights themselves,
/// their gradients and therefore their Adam moments.
///
/// Keyed by checkpoint weight name (`….query.weight`), one flag per element in `[out, in]`
/// order (true keeps), as the mask files of magnitude pruning store them.
public struct WeightMask: Sendable, Equatable {
    /// Flat indices (in the parameter layout) of the pruned elements, ascending.
    public let pruned: [Int]

    public init(keep: [String: [Bool]], layout: ParameterLayout) throws {
        var pruned: [Int] = []
        for name in keep.keys.sorted() {
            guard let slot = layout.slot(named: name) else {
                throw TrainingError.invalidSettings("the mask names '\(name)', which this model does not have (expected names like '\(layout.names.first { $0.hasSuffix("query.weight") } ?? "")')")
            }
            let flags = keep[name]!
            guard flags.count == slot.count else {
                throw TrainingError.invalidSettings("the mask of '\(name)' has \(flags.count) entries; the weight has \(slot.count) (shape \(slot.shape))")
            }
            for (i, flag) in flags.enumerated() where !flag { pruned.append(slot.offset + i) }
        }
        self.pruned = pruned.sorted()
    }

    /// Zeroes the pruned elements of `vector` (parameters or gradients).
    public func apply(to vector: inout ParameterVector) {
        vector.values.withUnsafeMutableBufferPointer { v in
            for index in pruned { v[index] = 0 }
        }
    }
}
