/// Strict UTF-8 lines, shared by every line-oriented input (GLUE files, the agent's stdin).
///
/// Invalid bytes are an error naming the line rather than U+FFFD, because a run that silently
/// changes its input scores something other than the data. Lines split on `\n`, one trailing
/// `\r` is dropped, and a final newline does not make an empty last line.
public enum TextLines {
    public struct InvalidUTF8: Error, Equatable {
        /// 1-based.
        public let line: Int
    }

    public static func split(_ bytes: [UInt8]) throws(InvalidUTF8) -> [String] {
        var lines: [String] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            guard let text = String(validating: bytes[start..<lineEnd], as: UTF8.self) else {
                throw InvalidUTF8(line: lines.count + 1)
            }
            lines.append(text)
            start = end + 1
        }
        return lines
    }
}
