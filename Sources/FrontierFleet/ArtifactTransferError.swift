import FrontierSweep
import FrontierWire

/// Why an upload or a fetch of an artifact gave up. Each says what the agent should do (mostly:
/// nothing — the trial's attempt ends with this as its failure reason).
public enum ArtifactTransferError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The coordinator refused: too large, the lease is gone, no such artifact (`reason` as on
    /// the wire, `detail` as the coordinator wrote it).
    case refused(sha256: String, reason: WireReject.Reason, detail: String)
    /// Nothing moved forward for `seconds` (no connection, or a coordinator failing to write).
    case noProgress(sha256: String, seconds: Double, offset: Int64, size: Int64, lastProblem: String?)
    /// The bytes did not hash to their name `attempts` times in a row.
    case hashMismatch(sha256: String, attempts: Int, detail: String)
    /// The trial was cancelled (its lease is gone, or the agent is stopping).
    case cancelled(sha256: String, reason: String)
    /// The local file is not the one described (its size changed, or it cannot be read).
    case localFile(path: String, detail: String)
    /// The coordinator's answers contradict the artifact reference (another size).
    case inconsistent(sha256: String, detail: String)

    public var description: String {
        switch self {
        case let .refused(sha256, reason, detail):
            return "artifact \(sha256): the coordinator refused (\(SweepScheduler.reasonName(reason))): \(detail)"
        case let .noProgress(sha256, seconds, offset, size, problem):
            return "artifact \(sha256): no progress for \(Int(seconds)) s at byte \(offset) of \(size); giving up"
                + (problem.map { " (last problem: \($0))" } ?? "")
        case let .hashMismatch(sha256, attempts, detail):
            return "artifact \(sha256): the bytes did not hash to their name in \(attempts) attempts: \(detail)"
        case let .cancelled(sha256, reason):
            return "artifact \(sha256): transfer cancelled: \(reason)"
        case let .localFile(path, detail):
            return "artifact file \(path): \(detail)"
        case let .inconsistent(sha256, detail):
            return "artifact \(sha256): \(detail)"
        }
    }
}
