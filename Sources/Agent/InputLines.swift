import Foundation
import FrontierTasks

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
        do {
            return try TextLines.split([UInt8](handle.readDataToEndOfFile()))
        } catch {
            throw Failure(line: error.line, detail: "invalid UTF-8")
        }
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
