import Foundation

/// GLUE's tab-separated files: no CSV quoting (a `"` is a literal character), one example per
/// line, optional UTF-8 byte-order mark before the header (MRPC has one).
public struct TSVFile: Sendable {
    public let path: String
    /// Rows with their 1-based line numbers; a trailing empty line is not a row.
    public let rows: [(line: Int, fields: [String])]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskDataError(file: path, "file not found or unreadable")
        }
        try self.init(path: path, data: data)
    }

    public init(path: String, data: Data) throws {
        self.path = path
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var rows: [(Int, [String])] = []
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            guard let text = String(validating: bytes[start..<lineEnd], as: UTF8.self) else {
                throw TaskDataError(file: path, line: lineNumber, "invalid UTF-8")
            }
            rows.append((lineNumber, text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)))
            start = end + 1
        }
        self.rows = rows
    }
}
