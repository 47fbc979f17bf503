/// What the store and the cache refuse, as values the protocol layer can act on: an offset
/// mismatch carries the offset to resume from, a hash mismatch says the upload starts again.
/// I/O failures are `FileSystemError`s and archive format problems `ArtifactArchiveError`s.
public enum ArtifactError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Text given as a hash that is not 64 lowercase hex digits (shown cut to 80 characters).
    case invalidHash(String)
    /// A chunk sent for `received` while the partial upload holds `expected` bytes: the sender
    /// re-syncs to `expected`.
    case offsetMismatch(ArtifactHash, expected: Int64, received: Int64)
    /// A chunk that would take the upload past the size declared for it.
    case exceedsDeclaredSize(ArtifactHash, declaredSize: Int64, attemptedSize: Int64)
    /// A declared or actual size over the largest artifact this side accepts.
    case exceedsMaximumSize(ArtifactHash, size: Int64, maximum: Int64)
    /// `complete` before all declared bytes arrived; the partial is kept for a resume.
    case incomplete(ArtifactHash, received: Int64, declaredSize: Int64)
    /// The bytes do not hash to the name they were sent under; they were deleted, and the
    /// transfer starts again from 0.
    case hashMismatch(expected: ArtifactHash, actual: ArtifactHash)
    /// A file whose size is not the one declared for it (cache insert).
    case sizeMismatch(ArtifactHash, declaredSize: Int64, actualSize: Int64)
    case notFound(ArtifactHash)
    /// A read at an offset past the artifact's end.
    case offsetBeyondEnd(ArtifactHash, offset: Int64, size: Int64)
    /// The cache cannot make room: the artifact is larger than the budget less what is pinned.
    case doesNotFit(ArtifactHash, size: Int64, budget: Int64, pinnedBytes: Int64)
    /// A non-empty folder without the cache's marker file: it is not removed from, since the
    /// cache deletes whatever it does not recognise.
    case notACacheFolder(path: String)

    public var description: String {
        switch self {
        case let .invalidHash(text):
            "not an artifact hash (64 lowercase hex digits): \"\(text)\""
        case let .offsetMismatch(hash, expected, received):
            "artifact \(hash): chunk at offset \(received), but the upload holds \(expected) bytes; resend from \(expected)"
        case let .exceedsDeclaredSize(hash, declared, attempted):
            "artifact \(hash): chunk would make \(attempted) bytes, more than the declared \(declared)"
        case let .exceedsMaximumSize(hash, size, maximum):
            "artifact \(hash): \(size) bytes is over the maximum artifact size of \(maximum) bytes"
        case let .incomplete(hash, received, declared):
            "artifact \(hash): \(received) of the declared \(declared) bytes received; cannot complete yet"
        case let .hashMismatch(expected, actual):
            "artifact \(expected): the bytes received hash to \(actual); they were discarded, send again from 0"
        case let .sizeMismatch(hash, declared, actual):
            "artifact \(hash): declared \(declared) bytes, the file has \(actual)"
        case let .notFound(hash):
            "artifact \(hash) is not stored here"
        case let .offsetBeyondEnd(hash, offset, size):
            "artifact \(hash): read at offset \(offset), past its end (\(size) bytes)"
        case let .doesNotFit(hash, size, budget, pinned):
            "artifact \(hash): \(size) bytes do not fit a cache budget of \(budget) bytes with \(pinned) bytes pinned by measurements in progress"
        case let .notACacheFolder(path):
            "\(path) is not empty and is not an artifact cache (no marker file); refusing to use it, as the cache removes files it does not recognise"
        }
    }
}
