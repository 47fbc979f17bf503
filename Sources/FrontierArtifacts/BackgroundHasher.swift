import Dispatch
import Foundation
import FrontierSupport

/// A SHA-256 fed on its own thread, so that a transfer's chunks are hashed on one core while the
/// next ones are decoded and written on another (the store's uploads, the agent's fetches): on the 2-core machines a 90 MB upload spent as
/// long hashing as writing. At most `maximumPending` chunks wait; a caller that gets ahead of
/// the hash waits for it, so the memory held stays bounded whatever the artifact's size.
public final class BackgroundHasher: @unchecked Sendable {
    // `hasher` is only touched on `queue`; `pending` bounds the copies waiting there.
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "frontier.artifact-hash")
    private let pending: DispatchSemaphore

    public init(maximumPending: Int = 16) { pending = DispatchSemaphore(value: maximumPending) }

    /// Hashes a copy of `bytes` after everything given before.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        update(Data(bytes))
    }

    /// Hashes `data` after everything given before; `Data` is a value, so nothing is copied.
    public func update(_ data: Data) {
        pending.wait()
        queue.async {
            data.withUnsafeBytes { self.hasher.update(bytes: $0) }
            self.pending.signal()
        }
    }

    /// The hash of everything given, once the queue has caught up.
    public func finalize() -> ArtifactHash {
        queue.sync { ArtifactHash(finishing: &hasher) }
    }
}
