/// The baseline a trial is paired with: the grid point's key (which names the measurement an
/// agent can reuse across trials) and the spec to measure it with. A class inside, because a
/// spec cannot hold a spec by value.
public struct PairedBaselinePlan: Codable, Sendable, Equatable {
    public var key: String
    public var spec: TrialSpec { box.spec }
    private let box: Box

    public init(key: String, spec: TrialSpec) {
        self.key = key
        box = Box(spec: spec)
    }

    final class Box: Sendable {
        let spec: TrialSpec
        init(spec: TrialSpec) { self.spec = spec }
    }

    enum CodingKeys: String, CodingKey { case key, spec }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(key: try c.decode(String.self, forKey: .key), spec: try c.decode(TrialSpec.self, forKey: .spec))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(spec, forKey: .spec)
    }

    public static func == (a: PairedBaselinePlan, b: PairedBaselinePlan) -> Bool { a.key == b.key && a.spec == b.spec }
}
