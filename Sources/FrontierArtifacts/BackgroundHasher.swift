import Dispatch
import Foundation
import FrontierSupport

/// A SHA-256 fed on its own thread, so that an upload's chunks are hashed on one core while the
/// next ones are decoded and written on another: on the 2-core machines a 90 MB upload spent as
/// long hashing as writing. At most `maximumPending` chunks wait; a caller that gets ahead of
/// the hash waits for it, so the memory held stays bounded whatever the artifact's size.
final class BackgroundHasher: @unchecked Sendable {
    // `hasher` is only touched on `queue`; `pending` bounds the copies waiting there.
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "frontier.artifact-hash")
    private let pending: DispatchSemaphore

    init(maximumPending: Int = 16) { pending = DispatchSemaphore(value: maximumPending) }

    /// Hashes a copy of `bytes` after everything given before.
    func update(_ bytes: UnsafeRawBufferPointer) {
        let copy = Data(bytes)
        pending.wait()
        queue.async {
            copy.withUnsafeBytes { self.hasher.update(bytes: $0) }
            self.pending.signal()
        }
    }

    /// The hash of everything given, once the queue has caught up.
    func finalize() -> ArtifactHash {
        queue.sync { ArtifactHash(finishing: &hasher) }
    }
}
