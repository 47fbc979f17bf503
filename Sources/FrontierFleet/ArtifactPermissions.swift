import Foundation
import FrontierSweep

/// Who may move artifact bytes, and who hears of a stored artifact: the coordinator's hooks
/// into whatever knows the leases. `SweepCoordinator` asks these for every artifact message
/// (see `ArtifactExchange`), on its loop thread.
///
/// A stopgap seam: the scheduler is to answer these itself
/// (`SweepScheduler.artifactUploadPermission(peer:trialId:attempt:)`,
/// `artifactFetchPermission(peer:trialId:attempt:sha256:)`, `artifactStored(_:)`), at which point
/// the coordinator calls it instead and this struct goes. Until then the default refuses
/// everything, since a grid without training stages has nothing to upload or fetch.
public struct ArtifactPermissions: Sendable {
    public var mayUpload: @Sendable (_ peer: Data, _ trialId: String, _ attempt: UInt32) -> ArtifactPermission
    public var mayFetch: @Sendable (_ peer: Data, _ trialId: String, _ attempt: UInt32, _ sha256: String) -> ArtifactPermission
    /// Called once an upload is verified and durable (and again for an offer of an artifact
    /// already stored), before the replies that tell the agent so are sent: must be idempotent.
    public var stored: @Sendable (ArtifactExchange.Stored) -> Void

    public init(mayUpload: @escaping @Sendable (Data, String, UInt32) -> ArtifactPermission,
                mayFetch: @escaping @Sendable (Data, String, UInt32, String) -> ArtifactPermission,
                stored: @escaping @Sendable (ArtifactExchange.Stored) -> Void) {
        self.mayUpload = mayUpload
        self.mayFetch = mayFetch
        self.stored = stored
    }

    /// Refuses every upload and fetch with NOT_LEASE_HOLDER.
    public static let noTrainingStages = ArtifactPermissions(
        mayUpload: { _, _, _ in .refused(.notLeaseHolder, refusal) },
        mayFetch: { _, _, _, _ in .refused(.notLeaseHolder, refusal) },
        stored: { _ in })

    private static let refusal = "this coordinator's grid has no training stages"

    /// Allows everything (as agent `agentId`); for tests of the transfer itself, hence internal.
    static func allowAll(agentId: String = "test", stored: @escaping @Sendable (ArtifactExchange.Stored) -> Void = { _ in })
        -> ArtifactPermissions {
        ArtifactPermissions(mayUpload: { _, _, _ in .allowed(agentId: agentId) },
                            mayFetch: { _, _, _, _ in .allowed(agentId: agentId) },
                            stored: stored)
    }
}
