import Core
import Foundation

/// Lines of standard input as strict UTF-8 text.
///
/// `readLine()` would replace invalid bytes with U+FFFD and tokenize garbage without a word;
/// here invalid UTF-8 and empty lines are errors that name the line, because a scoring run
/// that silently changes its input is worse than one that stops.
struct InputLines {
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let detail: String
        var description: String { "stdin line \(line): \(detail)" }
    }

    static func readAll(from handle: FileHandle = .standardInput) throws -> [String] {
        let data = handle.readDataToEndOfFile()
        var lines: [String] = []
        var start = data.startIndex
        var number = 0
        while start < data.endIndex {
            number += 1
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            var lineEnd = end
            if lineEnd > start && data[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            guard let text = String(validating: data[start..<lineEnd], as: UTF8.self) else {
                throw Failure(line: number, detail: "invalid UTF-8")
            }
            lines.append(text)
            start = end == data.endIndex ? end : end + 1
        }
        return lines
    }

    /// Splits each line into one text or a TAB-separated pair, rejecting empty texts.
    static func texts(_ lines: [String], pair: Bool) throws -> [(String, String?)] {
        try lines.enumerated().map { index, line in
            let number = index + 1
            if pair {
                let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw Failure(line: number, detail: "--pair expects two texts separated by one TAB, found \(parts.count) field(s)")
                }
                guard !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw Failure(line: number, detail: "empty text in pair")
                }
                return (String(parts[0]), String(parts[1]))
            }
            guard !line.isEmpty else { throw Failure(line: number, detail: "empty input line") }
            return (line, nil)
        }
    }
}
