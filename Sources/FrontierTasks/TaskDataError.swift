/// A problem with a task's data file, always naming the file and, for a row, the line number
/// (1-based, counting the header), so nothing is dropped without the user knowing where.
public struct TaskDataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let detail: String

    public init(file: String, line: Int? = nil, _ detail: String) {
        self.file = file
        self.line = line
        self.detail = detail
    }

    public var description: String {
        if let line { return "\(file):\(line): \(detail)" }
        return "\(file): \(detail)"
    }
}
