/// Why training refused to start or stopped.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidModel(String)
    case invalidBatch(String)
    case invalidSettings(String)
    /// The loss stopped being finite; the last good checkpoint is left as it was.
    case nonFiniteLoss(step: Int, loss: Float)
    /// The loss was finite but the gradient's norm was not (an overflow in the backward pass).
    case nonFiniteGradient(step: Int, norm: Float)
    case checkpoint(path: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidModel(detail): return "cannot train this model: \(detail)"
        case let .invalidBatch(detail): return "invalid training batch: \(detail)"
        case let .invalidSettings(detail): return "invalid training settings: \(detail)"
        case let .nonFiniteLoss(step, loss):
            return "the loss became \(loss) at optimizer step \(step); training stopped and the last good checkpoint was kept (lower the learning rate, or check the data)"
        case let .nonFiniteGradient(step, norm):
            return "the gradient norm became \(norm) at optimizer step \(step) (the loss was finite); training stopped and the last good checkpoint was kept (lower the learning rate, or check the data)"
        case let .checkpoint(path, detail): return "\(path): \(detail)"
        }
    }
}
