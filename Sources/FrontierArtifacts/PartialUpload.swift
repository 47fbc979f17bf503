import Synchronization

/// One upload in progress in an `ArtifactStore`: its partial file, how many bytes it holds and
/// how many of those are known to be on the disk. Its own lock serialises the calls for this
/// hash (a `complete` hashing 90 MB holds it), while other hashes go on.
final class PartialUpload: Sendable {
    struct State {
        /// Open once the partial file exists; nil before the first byte.
        var file: PosixFile?
        /// The partial file's length as this process wrote it: where the next chunk goes.
        var length: Int64 = 0
        /// The length last flushed and recorded in the checkpoint file.
        var durable: Int64 = 0
        /// Set on the first call after the store opened, once the file was cut back to its
        /// checkpoint (see `ArtifactStore`).
        var adopted = false
        /// Completed or discarded: a caller holding this object starts again with a new one.
        var closed = false
        /// The SHA-256 of the bytes written so far, computed beside the writes, when this
        /// process wrote them all from 0 (an upload adopted after a restart is hashed from the
        /// file at `complete`), so that finishing does not read the whole file again.
        var hasher: BackgroundHasher?
    }

    let state = Mutex(State())
}
