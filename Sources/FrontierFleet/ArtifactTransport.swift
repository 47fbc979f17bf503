import Foundation
import FrontierArtifacts
import FrontierMeasurement
import FrontierWire

/// How a trial runner moves artifacts: the upload of a training stage's checkpoint and the
/// fetch of a trained checkpoint to measure. The agent's shell provides the real one (chunks
/// on its own connection, `SweepAgent`); tests hand in one that copies files.
public protocol ArtifactTransport: Sendable {
    /// Uploads `file` (whose SHA-256 is `hash`) as the output of `trialId` attempt `attempt`;
    /// returns once the coordinator holds it verified. Throws when it refuses or the trial is cancelled.
    func upload(file: URL, hash: ArtifactHash, size: Int64, trialId: String, attempt: UInt32,
                cancellation: TrialCancellation) throws
    /// The archive named by `ref`, as a verified file on this machine (fetched when not cached).
    func fetch(_ ref: WireArtifactRef, trialId: String, attempt: UInt32, cancellation: TrialCancellation) throws -> URL
    /// The fetched archive is no longer needed as a file (it was unpacked): the cache may evict it.
    func release(_ ref: WireArtifactRef)
}

/// Where the runner finds the transport, which the agent's shell makes after the runner:
/// set once before the first trial, read by the runner thread.
/// `@unchecked Sendable`: `transport` is read and written only under `lock`.
public final class ArtifactTransportSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (any ArtifactTransport)?
    public init() {}
    public var transport: (any ArtifactTransport)? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
