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
        let lines: [String]
        do {
            lines = try TextLines.split(bytes)
        } catch {
            throw TaskDataError(file: path, line: error.line, "invalid UTF-8")
        }
        let rows = lines.enumerated().map { index, text in
            (line: index + 1, fields: text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init))
        }
        self.rows = rows
    }
}
