import Foundation
import FrontierEngine
import FrontierSupport

/// Unstructured magnitude pruning: the smallest-magnitude fraction of the prunable weights set
/// to zero, over one global threshold (as the lottery-ticket papers prune BERT) or one
/// threshold per matrix.
public enum MagnitudePruning {
    public enum Scope: String, Codable, Sendable, CaseIterable { case global, layer }

    /// 0/1 masks per prunable weight (1 keeps), in `prunableWeights` order.
    public typealias Masks = [(weight: PrunableWeight, keep: [Bool])]

    /// Computes masks that zero exactly ⌊sparsity · N⌋ weights (N over the scope), smallest
    /// magnitudes first; equal magnitudes at the threshold are taken in storage order.
    public static func masks(for model: EncoderModel, sparsity: Double, scope: Scope) throws -> Masks {
        guard sparsity >= 0, sparsity <= 0.99 else {
            throw TechniqueError.invalid("magnitude pruning sparsity must be in [0, 0.99]; got \(sparsity)")
        }
        let weights = model.prunableWeights
        func values(_ weight: PrunableWeight) throws -> ArraySlice<Float> { try model.values(of: weight) }
        switch scope {
        case .layer:
            return try weights.map { ($0, keepMask(try values($0), prune: Int(sparsity * Double($0.count)))) }
        case .global:
            var all: [Float] = []
            all.reserveCapacity(weights.reduce(0) { $0 + $1.count })
            for weight in weights { all += try values(weight).lazy.map(abs) }
            let prune = Int(sparsity * Double(all.count))
            guard prune > 0 else { return weights.map { ($0, [Bool](repeating: true, count: $0.count)) } }
            let threshold = quickselect(&all, rank: prune - 1)
            // Everything below the threshold goes; of the weights equal to it, as many as needed.
            var below = 0
            for weight in weights { below += try values(weight).reduce(0) { $0 + (abs($1) < threshold ? 1 : 0) } }
            var tiesLeft = prune - below
            return try weights.map { weight in
                let v = try values(weight)
                return (weight, v.map { value in
                    let magnitude = abs(value)
                    if magnitude < threshold { return false }
                    if magnitude == threshold, tiesLeft > 0 { tiesLeft -= 1; return false }
                    return true
                })
            }
        }
    }

    static func keepMask(_ values: ArraySlice<Float>, prune: Int) -> [Bool] {
        guard prune > 0 else { return [Bool](repeating: true, count: values.count) }
        var magnitudes = values.map(abs)
        let threshold = quickselect(&magnitudes, rank: prune - 1)
        var tiesLeft = prune - values.reduce(0) { $0 + (abs($1) < threshold ? 1 : 0) }
        return values.map { value in
            let magnitude = abs(value)
            if magnitude < threshold { return false }
            if magnitude == threshold, tiesLeft > 0 { tiesLeft -= 1; return false }
            return true
        }
    }

    /// The model with the masked weights zeroed (a weight without a mask stays as it is).
    public static func apply(_ masks: Masks, to model: consuming EncoderModel) throws -> EncoderModel {
        let keepByName = Dictionary(masks.map { ($0.weight.name, $0.keep) }, uniquingKeysWith: { $1 })
        return try model.editingPrunableWeights { weight, values in
            guard let keep = keepByName[weight.name] else { return }
            precondition(keep.count == values.count, "MagnitudePruning: the mask of \(weight.name) has \(keep.count) entries for \(values.count) weights")
            for (i, k) in keep.enumerated() where !k { values[i] = 0 }
        }
    }

    // MARK: - Mask files

    /// Writes one float32 0/1 tensor per weight under the lottery-ticket code's key names.
    public static func save(_ masks: Masks, to url: URL) throws {
        let tensors = masks.map { weight, keep in
            SafetensorsWriter.Tensor(name: weight.maskKey, dtype: .f32, shape: weight.shape, values: keep.map { $0 ? 1 : 0 })
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "frontier-masks", "pruned": "\(masks.reduce(0) { $0 + $1.keep.filter { !$0 }.count })"], to: url)
    }

    /// Reads masks for `model` from a safetensors file. Keys are `<name>.weight_mask` with or
    /// without the family prefix (`bert.`); a weight without a mask stays dense; an unknown key,
    /// a wrong shape or a value other than 0 and 1 is an error naming the tensor.
    public static func load(from url: URL, for model: EncoderModel) throws -> Masks {
        let file = try SafetensorsFile(url: url)
        let weights = model.prunableWeights
        let prefix = model.config.family.rawValue + "."
        var byKey: [String: PrunableWeight] = [:]
        for weight in weights {
            byKey[weight.maskKey] = weight
            if weight.maskKey.hasPrefix(prefix) { byKey[String(weight.maskKey.dropFirst(prefix.count))] = weight }
        }
        var found: [String: [Bool]] = [:]
        for key in file.tensorNames {
            guard let weight = byKey[key] else {
                throw TechniqueError.maskFile(path: url.path, detail: "tensor '\(key)' is not the mask of a prunable weight of this model (expected names like '\(weights.first?.maskKey ?? "")')")
            }
            guard let info = file.info(key), info.shape == weight.shape else {
                throw TechniqueError.maskFile(path: url.path, detail: "mask '\(key)' has shape \(file.info(key)?.shape ?? []); the weight is \(weight.shape) (a mask made for the unpruned model must be applied before structural pruning)")
            }
            let values = try file.floats(key)
            if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                throw TechniqueError.maskFile(path: url.path, detail: "mask '\(key)' holds \(values[bad]) at element \(bad); masks are 0/1")
            }
            found[weight.name] = values.map { $0 != 0 }
        }
        guard !found.isEmpty else { throw TechniqueError.maskFile(path: url.path, detail: "no mask tensors") }
        return weights.map { ($0, found[$0.name] ?? [Bool](repeating: true, count: $0.count)) }
    }
}
