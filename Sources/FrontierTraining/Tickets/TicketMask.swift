import Foundation
import FrontierEngine

extension TrainableModel {
    /// The matrices lottery-ticket pruning acts on, in checkpoint order: per block query, key,
    /// value, attention output, intermediate and output, then the pooler's dense weight (the 73
    /// of BERT-base in Chen et al.). Embeddings, biases, LayerNorms and the task head stay dense,
    /// as in the authors' code; DistilBERT's pre-classifier belongs to the head.
    public var prunableSlots: [ParameterLayout.Slot] {
        var indices: [Int] = []
        for layer in architecture.layers {
            let q = layer.queryKeyValue.weight
            indices += [q, q + 1, q + 2, layer.attentionOutput.weight, layer.intermediate.weight, layer.output.weight]
        }
        if case let .classification(pooler?, _, _, _) = architecture.head { indices.append(pooler.weight) }
        return indices.map { layout.slots[$0] }
    }

    /// The prunable matrices `pooler` takes out of IMP's pruning: the pooler's weight, or none.
    public func exemptFromPruning(pooler: PoolerPruning) -> Set<String> {
        guard pooler == .dense, case let .classification(slot?, _, _, _) = architecture.head else { return [] }
        return [layout.slots[slot.weight].name]
    }
}

/// Which weights of the prunable matrices a lottery ticket keeps: one flag per element, per
/// matrix, in `[out, in]` order (true keeps).
///
/// Files use the lottery-ticket code's key names (`bert.encoder.layer.0.attention.self.query.weight_mask`,
/// float32 0/1), which is also what `--mask` reads everywhere (eval, bench, run, grids,
/// finetune), so a ticket found here is measured on the sparse kernels as it is.
public struct TicketMask: Sendable, Equatable {
    public struct Matrix: Sendable, Equatable {
        /// The layout slot's name (`….query.weight`).
        public let name: String
        public let shape: [Int]
        public var keep: [Bool]

        public var count: Int { keep.count }
        public var pruned: Int { keep.reduce(0) { $0 + ($1 ? 0 : 1) } }
        /// The file key: `<name without .weight>.weight_mask`.
        public var maskKey: String { name + "_mask" }
    }

    public private(set) var matrices: [Matrix]

    public init(matrices: [Matrix]) { self.matrices = matrices }

    /// Every prunable weight kept.
    public static func dense(for model: TrainableModel) -> TicketMask {
        TicketMask(matrices: model.prunableSlots.map { Matrix(name: $0.name, shape: $0.shape, keep: [Bool](repeating: true, count: $0.count)) })
    }

    /// Weights that are zero in `model`'s prunable matrices (a model trained under a mask).
    public static func zeros(of model: TrainableModel) -> TicketMask {
        TicketMask(matrices: model.prunableSlots.map { slot in
            Matrix(name: slot.name, shape: slot.shape, keep: model.parameters.values[slot.range].map { $0 != 0 })
        })
    }

    public var count: Int { matrices.reduce(0) { $0 + $1.count } }
    public var pruned: Int { matrices.reduce(0) { $0 + $1.pruned } }
    /// Pruned over prunable.
    public var sparsity: Double { count == 0 ? 0 : Double(pruned) / Double(count) }

    public func matrix(named name: String) -> Matrix? { matrices.first { $0.name == name } }

    /// The mask training holds at zero (`WeightMask`), for `model`'s layout.
    public func weightMask(for model: TrainableModel) throws -> WeightMask {
        try WeightMask(keep: Dictionary(matrices.map { ($0.name, $0.keep) }, uniquingKeysWith: { $1 }), layout: model.layout)
    }

    /// Zeroes the pruned weights of `model`.
    public func apply(to model: inout TrainableModel) {
        let layout = model.layout
        model.parameters.values.withUnsafeMutableBufferPointer { values in
            for matrix in matrices {
                guard let slot = layout.slot(named: matrix.name) else { preconditionFailure("TicketMask: \(matrix.name) is not in the model") }
                for (i, keep) in matrix.keep.enumerated() where !keep { values[slot.offset + i] = 0 }
            }
        }
    }

    /// Checks that the mask covers exactly `model`'s prunable matrices, in their shapes.
    public func validate(for model: TrainableModel, source: String) throws {
        let slots = model.prunableSlots
        guard slots.map(\.name) == matrices.map(\.name) else {
            throw TrainingError.invalidSettings("\(source): the mask's matrices (\(matrices.count)) are not this model's \(slots.count) prunable matrices")
        }
        for (slot, matrix) in zip(slots, matrices) where slot.shape != matrix.shape {
            throw TrainingError.invalidSettings("\(source): the mask of '\(matrix.name)' has shape \(matrix.shape); the weight is \(slot.shape)")
        }
    }

    // MARK: Files

    /// Writes the mask as float32 0/1 tensors (atomically, as `SafetensorsWriter` writes).
    public func write(to url: URL, metadata: [String: String] = [:]) throws {
        let tensors = matrices.map { SafetensorsWriter.Tensor(name: $0.maskKey, dtype: .f32, shape: $0.shape, values: $0.keep.map { $0 ? 1 : 0 }) }
        var meta = metadata
        meta["format"] = "frontier-masks"
        meta["pruned"] = "\(pruned)"
        meta["prunable"] = "\(count)"
        try SafetensorsWriter.write(tensors, metadata: meta, to: url)
    }

    /// Reads a mask file for `model`: keys `<name>.weight_mask`, with or without the family
    /// prefix (`bert.`); a matrix without a key stays dense; an unknown key, a wrong shape or a
    /// value other than 0 and 1 is an error naming the file and the tensor.
    public static func read(from url: URL, for model: TrainableModel) throws -> TicketMask {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: url) } catch { throw TrainingError.invalidSettings("\(url.path): \(error)") }
        let prefix = model.config.family.rawValue + "."
        var mask = dense(for: model)
        var index: [String: Int] = [:]
        for (i, matrix) in mask.matrices.enumerated() {
            index[matrix.maskKey] = i
            if matrix.maskKey.hasPrefix(prefix) { index[String(matrix.maskKey.dropFirst(prefix.count))] = i }
        }
        var found = 0
        for key in file.tensorNames {
            guard let i = index[key] else {
                throw TrainingError.invalidSettings("\(url.path): tensor '\(key)' is not the mask of a prunable matrix of this model (expected names like '\(mask.matrices.first?.maskKey ?? "")')")
            }
            let shape = file.info(key)?.shape ?? []
            guard shape == mask.matrices[i].shape else {
                throw TrainingError.invalidSettings("\(url.path): mask '\(key)' has shape \(shape); the weight is \(mask.matrices[i].shape)")
            }
            let values: [Float]
            do { values = try file.floats(key) } catch { throw TrainingError.invalidSettings("\(url.path): \(error)") }
            if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                throw TrainingError.invalidSettings("\(url.path): mask '\(key)' holds \(values[bad]) at element \(bad); masks are 0/1")
            }
            mask.matrices[i].keep = values.map { $0 != 0 }
            found += 1
        }
        guard found > 0 else { throw TrainingError.invalidSettings("\(url.path): no mask tensors") }
        return mask
    }
}
