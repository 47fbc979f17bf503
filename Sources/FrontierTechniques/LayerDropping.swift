import FrontierEngine

/// Keeps k of the L encoder layers (Sajjad et al.'s "poor man's BERT"): `bottom` keeps the
/// first k (drops the top layers, their best strategy), `top` keeps the last k, `alternate`
/// keeps k evenly spaced layers starting at the first.
public enum LayerDropping {
    public enum Strategy: String, Codable, Sendable, CaseIterable { case bottom, top, alternate }

    public static func kept(layers count: Int, keep: Int, strategy: Strategy) -> [Int] {
        switch strategy {
        case .bottom: return Array(0..<keep)
        case .top: return Array((count - keep)..<count)
        case .alternate: return (0..<keep).map { $0 * count / keep }
        }
    }

    /// The model with `keep` of its layers, and their indices in the model given.
    public static func apply(_ model: consuming EncoderModel, keep: Int, strategy: Strategy) throws -> (model: EncoderModel, kept: [Int]) {
        guard keep >= 1, keep <= model.layers.count else {
            throw TechniqueError.invalid("keep-layers must be in 1...\(model.layers.count); got \(keep)")
        }
        let indices = kept(layers: model.layers.count, keep: keep, strategy: strategy)
        return (model.replacing(layers: indices.map { model.layers[$0] }), indices)
    }
}
