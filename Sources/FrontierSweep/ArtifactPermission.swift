import FrontierWire

/// The scheduler's word on an artifact upload or fetch: only the holder of a live lease may
/// move bytes, and only for its own trial (a stage's output, or an input its trial names).
/// The shell that moves the bytes (`ArtifactExchange`) asks before every message, so a lease
/// lost mid-transfer stops the transfer at the next chunk.
public enum ArtifactPermission: Sendable, Equatable {
    case allowed(agentId: String)
    /// Answer with a Reject of this reason and detail (carrying the trial id and hash).
    case refused(WireReject.Reason, String)
}
