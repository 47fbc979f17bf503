import Foundation

/// Everything that can be wrong with a checkpoint folder, each case naming the file and the
/// tensor or key at fault so that a user can fix the checkpoint without reading our code.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String, hint: String)
    case invalidConfig(path: String, detail: String)
    case unsupportedModelType(path: String, modelType: String, supported: [String])
    case unsupportedActivation(path: String, activation: String, supported: [String])
    case missingTensor(file: String, tensor: String)
    case unusedTensors(file: String, tensors: [String])
    case wrongShape(file: String, tensor: String, expected: [Int], actual: [Int])
    case noTaskHead(path: String, detail: String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint):
            return "\(path): file not found. \(hint)"
        case let .invalidConfig(path, detail):
            return "\(path): \(detail)"
        case let .unsupportedModelType(path, type, supported):
            return "\(path): model_type '\(type)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .unsupportedActivation(path, act, supported):
            return "\(path): hidden activation '\(act)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .missingTensor(file, tensor):
            return "\(file): tensor '\(tensor)' is missing"
        case let .unusedTensors(file, tensors):
            let shown = tensors.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
            let more = tensors.count > 10 ? " and \(tensors.count - 10) more" : ""
            return "\(file): \(tensors.count) tensor(s) are not used by this architecture: \(shown)\(more)"
        case let .wrongShape(file, tensor, expected, actual):
            return "\(file): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case let .noTaskHead(path, detail):
            return "\(path): \(detail)"
        case let .invalidInput(detail):
            return detail
        }
    }
}
