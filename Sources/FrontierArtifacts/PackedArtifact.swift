/// An archive just written: its content address and length, what an upload declares.
public struct PackedArtifact: Equatable, Sendable {
    public let hash: ArtifactHash
    public let size: Int64

    public init(hash: ArtifactHash, size: Int64) {
        self.hash = hash
        self.size = size
    }
}
