import FrontierWire

/// An artifact transfer's pacing and patience, shared by uploads and fetches.
public struct ArtifactTransferSettings: Sendable {
    /// Data bytes per chunk (upload) or per request (fetch); at most `WireProtocol.maxArtifactChunkBytes`.
    public var chunkBytes = WireProtocol.maxArtifactChunkBytes
    /// Chunks or requests outstanding at once. 16 MiB keeps a loopback or LAN link busy across
    /// the store's flush every 32 MiB, and bounds what a loss resends.
    public var windowChunks = 16
    /// Silence after which the transfer asks again (an upload re-offers and resumes from the
    /// coordinator's offset; a fetch asks from its own).
    public var replyTimeout: Double = 5
    /// Give up when nothing advanced for this long.
    public var progressDeadline: Double = 30 * 60
    /// Fresh starts after the bytes did not hash to the reference, before giving up.
    public var hashMismatchRetries: Int
    /// How often a wait looks at the cancellation.
    public var pollInterval: Double = 0.1
    /// A cap on the transfer's bytes per second (nil: as fast as the link goes).
    public var maxBytesPerSecond: Double?

    public init(hashMismatchRetries: Int) { self.hashMismatchRetries = hashMismatchRetries }

    /// Uploads start over twice after a mismatch (the coordinator has discarded the partial).
    public static var uploads: ArtifactTransferSettings { ArtifactTransferSettings(hashMismatchRetries: 2) }
    /// Fetches download again once.
    public static var fetches: ArtifactTransferSettings { ArtifactTransferSettings(hashMismatchRetries: 1) }
}
