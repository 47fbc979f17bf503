/// The identity of a sweep's grid as the store records it: a store belongs to one grid, and
/// a coordinator started with another grid (another fingerprint) is refused.
public struct SweepGridInfo: Sendable, Equatable {
    public var name: String
    public var source: String
    public var placement: SweepPlacement
    public var fingerprint: String
    public init(name: String, source: String, placement: SweepPlacement, fingerprint: String) {
        self.name = name
        self.source = source
        self.placement = placement
        self.fingerprint = fingerprint
    }
}
