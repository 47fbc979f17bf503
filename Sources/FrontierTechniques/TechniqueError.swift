/// Why a technique or a combination of techniques cannot be applied.
public enum TechniqueError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case incompatible(String)
    case maskFile(path: String, detail: String)
    case needsData(String)

    public var description: String {
        switch self {
        case let .invalid(detail): return detail
        case let .incompatible(detail): return "incompatible techniques: \(detail)"
        case let .maskFile(path, detail): return "\(path): \(detail)"
        case let .needsData(detail): return detail
        }
    }
}
