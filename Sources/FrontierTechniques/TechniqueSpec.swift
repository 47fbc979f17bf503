import FrontierSupport
/// One efficiency technique with its parameters, as a trial spec lists it
/// (`"techniques": [{"name": "magnitude-pruning", "sparsity": 0.9}, …]`, applied in order).
public struct TechniqueSpec: Codable, Sendable, Equatable {
    public enum Name: String, Codable, Sendable, CaseIterable {
        case magnitudePruning = "magnitude-pruning"
        case headPruning = "head-pruning"
        case ffnPruning = "ffn-pruning"
        case layerDropping = "layer-dropping"
        case earlyExit = "early-exit"
        case tokenPruning = "token-pruning"
        case quantization
        case maxSeqLen = "max-seq-len"
    }

    /// How a pruned matrix is multiplied.
    public enum SparseKernel: String, Codable, Sendable, CaseIterable {
        /// The sparse kernel where the matrix is sparse enough for it to be faster (measured).
        case auto
        case always, never
    }

    public enum QuantizationMode: String, Codable, Sendable, CaseIterable { case int8, fp16, bf16 }

    public var name: Name
    // magnitude-pruning
    public var sparsity: Double?
    public var scope: MagnitudePruning.Scope?
    public var mask: String?
    public var saveMask: String?
    public var kernel: SparseKernel?
    // head-pruning: `perLayer` by importance, or `heads` explicitly (layer → original indices)
    public var perLayer: Int?
    public var heads: [String: [Int]]?
    public var calibrationExamples: Int?
    // ffn-pruning: `fraction` of every block's neurons by magnitude, or whole `blocks` (layer indices)
    public var fraction: Double?
    public var blocks: [Int]?
    // layer-dropping
    public var keep: Int?
    public var strategy: LayerDropping.Strategy?
    // early-exit
    public var entropy: Double?
    public var trainExamples: Int?
    // token-pruning
    public var keepFraction: Double?
    public var fromLayer: Int?
    // quantization
    public var mode: QuantizationMode?
    // max-seq-len
    public var tokens: Int?

    public init(name: Name) { self.name = name }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case name, sparsity, scope, mask, saveMask, kernel, perLayer, heads, calibrationExamples, fraction, blocks, keep, strategy,
             entropy, trainExamples, keepFraction, fromLayer, mode, tokens
    }

    /// Which keys each technique takes, for clear errors on a misplaced parameter.
    package static let keys: [Name: Set<CodingKeys>] = [
        .magnitudePruning: [.sparsity, .scope, .mask, .saveMask, .kernel],
        .headPruning: [.perLayer, .heads, .calibrationExamples],
        .ffnPruning: [.fraction, .blocks],
        .layerDropping: [.keep, .strategy],
        .earlyExit: [.entropy, .trainExamples],
        .tokenPruning: [.keepFraction, .fromLayer],
        .quantization: [.mode],
        .maxSeqLen: [.tokens],
    ]

    /// Checks the parameters of this technique alone (combinations: `TechniquePipeline`).
    public func validate() throws {
        func need<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw TechniqueError.invalid("\(name.rawValue) needs '\(key)'") }
            return value
        }
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TechniqueError.invalid("\(name.rawValue): \(message)") } }
        let mirror: [CodingKeys: Bool] = [
            .sparsity: sparsity != nil, .scope: scope != nil, .mask: mask != nil, .saveMask: saveMask != nil, .kernel: kernel != nil,
            .perLayer: perLayer != nil, .heads: heads != nil, .calibrationExamples: calibrationExamples != nil,
            .fraction: fraction != nil, .blocks: blocks != nil, .keep: keep != nil, .strategy: strategy != nil, .entropy: entropy != nil,
            .trainExamples: trainExamples != nil, .keepFraction: keepFraction != nil, .fromLayer: fromLayer != nil,
            .mode: mode != nil, .tokens: tokens != nil,
        ]
        let allowed = Self.keys[name] ?? []
        for (key, present) in mirror where present && !allowed.contains(key) {
            throw TechniqueError.invalid("\(name.rawValue) does not take '\(JSONCoding.snakeCase(key.rawValue))' (it takes \(allowed.map { JSONCoding.snakeCase($0.rawValue) }.sorted().joined(separator: ", ")))")
        }
        switch name {
        case .magnitudePruning:
            if mask == nil {
                let s = try need(sparsity, "sparsity")
                try check(s >= 0 && s <= 0.99, "sparsity must be in [0, 0.99]; got \(s)")
            } else {
                try check(sparsity == nil, "give either 'sparsity' or 'mask', not both")
            }
        case .headPruning:
            try check((perLayer == nil) != (heads == nil), "give either 'per_layer' (by importance) or 'heads' (explicit), not both")
            if let perLayer { try check(perLayer >= 0, "per_layer must be ≥ 0; got \(perLayer)") }
            if let heads {
                for key in heads.keys { try check(Int(key) != nil, "heads keys are layer indices; got '\(key)'") }
            }
            if let c = calibrationExamples { try check(c >= 1, "calibration_examples must be ≥ 1; got \(c)") }
        case .ffnPruning:
            try check((fraction == nil) != (blocks == nil), "give either 'fraction' (of every block's neurons) or 'blocks' (whole blocks, by layer), not both")
            if let f = fraction { try check(f >= 0 && f < 1, "fraction must be in [0, 1); got \(f)") }
            if let blocks {
                try check(!blocks.isEmpty, "blocks names no layer (leave ffn-pruning out instead)")
                try check(blocks.allSatisfy { $0 >= 0 }, "blocks are layer indices (≥ 0); got \(blocks)")
            }
        case .layerDropping:
            let k = try need(keep, "keep")
            try check(k >= 1, "keep must be ≥ 1; got \(k)")
        case .earlyExit:
            let t = try need(entropy, "entropy")
            try check(t >= 0 && t.isFinite, "entropy must be ≥ 0; got \(t)")
            if let n = trainExamples { try check(n >= 2, "train_examples must be ≥ 2; got \(n)") }
        case .tokenPruning:
            let r = try need(keepFraction, "keep_fraction")
            try check(r > 0 && r <= 1, "keep_fraction must be in (0, 1]; got \(r)")
            let l = try need(fromLayer, "from_layer")
            try check(l >= 1, "from_layer must be ≥ 1 (tokens are ranked by the attention of the layer before); got \(l)")
        case .quantization:
            _ = try need(mode, "mode")
        case .maxSeqLen:
            let n = try need(tokens, "tokens")
            try check(n >= 3, "tokens must be ≥ 3; got \(n)")
        }
    }

    /// A short label for tables and plots: `magnitude-pruning(sparsity=0.9,scope=global)`.
    public var label: String {
        var parts: [String] = []
        if let sparsity { parts.append("sparsity=\(sparsity)") }
        if let scope { parts.append("scope=\(scope.rawValue)") }
        if mask != nil { parts.append("mask") }
        if let perLayer { parts.append("per_layer=\(perLayer)") }
        if let heads { parts.append("heads=\(heads.values.reduce(0) { $0 + $1.count })") }
        if let fraction { parts.append("fraction=\(fraction)") }
        if let blocks { parts.append("blocks=\(blocks.count)") }
        if let keep { parts.append("keep=\(keep)") }
        if let strategy { parts.append("strategy=\(strategy.rawValue)") }
        if let entropy { parts.append("entropy=\(entropy)") }
        if let keepFraction { parts.append("keep_fraction=\(keepFraction)") }
        if let fromLayer { parts.append("from_layer=\(fromLayer)") }
        if let mode { parts.append("mode=\(mode.rawValue)") }
        if let tokens { parts.append("tokens=\(tokens)") }
        return parts.isEmpty ? name.rawValue : "\(name.rawValue)(\(parts.joined(separator: ",")))"
    }
}
