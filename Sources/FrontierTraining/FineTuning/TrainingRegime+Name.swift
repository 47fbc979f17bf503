extension TrainingRegime {
    /// Parses the spelling `description` gives: `full`, `frozen`, or `top-K` (`top-2`: the last
    /// two encoder blocks, the pooler and the head).
    public init?(name: String) {
        switch name {
        case "full": self = .full
        case "frozen": self = .frozen
        default:
            guard name.hasPrefix("top-"), let k = Int(name.dropFirst(4)), k >= 1 else { return nil }
            self = .topK(k)
        }
    }
}
