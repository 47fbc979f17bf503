import Foundation

/// What stops an agent for good, or is worth a clear line in its log.
public enum SweepAgentError: Error, CustomStringConvertible {
    case spool(String, String)
    case path(String, String)
    case refused(String)

    public var description: String {
        switch self {
        case let .spool(path, detail): return "\(path): \(detail)"
        case let .path(path, detail): return "\(path): \(detail)"
        case let .refused(detail): return "the coordinator refused this agent: \(detail)"
        }
    }
}
