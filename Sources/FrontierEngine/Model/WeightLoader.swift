/// Reads parameters by name with their expected shapes and remembers which tensors were used,
/// so that loading can end by rejecting anything left over (a strict load, as mlx-swift's
/// `verify: [.all]`).
struct WeightLoader {
    let source: any TensorSource
    private(set) var used: Set<String> = []
    private let available: Set<String>

    init(source: any TensorSource) {
        self.source = source
        available = Set(source.tensorNames)
    }

    func has(_ name: String) -> Bool { available.contains(name) }

    mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let actual = source.shape(of: name) else {
            throw ModelError.missingTensor(file: source.sourceName, tensor: name)
        }
        guard actual == shape else {
            throw ModelError.wrongShape(file: source.sourceName, tensor: name, expected: shape, actual: actual)
        }
        let tensor = try Tensor(shape: shape) { try source.copyFloats(name, into: $0) }
        used.insert(name)
        return tensor
    }

    mutating func linear(_ base: String, out: Int, in inFeatures: Int) throws -> Linear {
        Linear(weight: try tensor(base + ".weight", shape: [out, inFeatures]),
               bias: try tensor(base + ".bias", shape: [out]))
    }

    mutating func layerNorm(_ base: String, features: Int, eps: Float) throws -> LayerNormParameters {
        LayerNormParameters(gamma: try tensor(base + ".weight", shape: [features]),
                            beta: try tensor(base + ".bias", shape: [features]), eps: eps)
    }

    /// Q, K and V read separately (as the checkpoint stores them) into one fused projection.
    mutating func fusedQKV(_ names: LayerNames, hidden: Int) throws -> Linear {
        var weight: [Float] = [], bias: [Float] = []
        weight.reserveCapacity(3 * hidden * hidden)
        bias.reserveCapacity(3 * hidden)
        for part in [names.query, names.key, names.value] {
            weight += try tensor(part + ".weight", shape: [hidden, hidden]).values
            bias += try tensor(part + ".bias", shape: [hidden]).values
        }
        return Linear(weight: Tensor(shape: [3 * hidden, hidden], values: weight), bias: Tensor(shape: [3 * hidden], values: bias))
    }

    var unused: [String] { available.subtracting(used).sorted() }
}
