import Foundation

/// Why a tokenizer could not be built. Every case names the file (or says the input was in memory)
/// so that a bad model folder can be fixed from the message alone.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `vocab.txt` (or the given vocabulary file) does not exist.
    case vocabularyNotFound(path: String)
    /// The vocabulary file exists but could not be read (permissions, a directory, I/O error).
    case vocabularyUnreadable(path: String, reason: String)
    /// The vocabulary has no tokens at all. `path` is nil for `Vocabulary(tokens:)`.
    case vocabularyEmpty(path: String?)
    /// A line of the vocabulary file is not valid UTF-8 (`line` counts from 1).
    case vocabularyNotUTF8(path: String, line: Int)
    /// A special token the BERT input format needs ([CLS], [SEP], [UNK], [PAD]) is not in the vocabulary.
    case missingSpecialToken(token: String, vocabulary: String?)
    /// `tokenizer_config.json` exists but is not valid JSON or has a wrongly typed setting.
    case invalidConfig(path: String, reason: String)

    public var description: String {
        switch self {
        case .vocabularyNotFound(let path):
            return "vocabulary file not found: \(path)"
        case .vocabularyUnreadable(let path, let reason):
            return "cannot read vocabulary file \(path): \(reason)"
        case .vocabularyEmpty(let path):
            return "vocabulary is empty: \(path ?? "in-memory token list")"
        case .vocabularyNotUTF8(let path, let line):
            return "vocabulary file \(path) is not valid UTF-8 (line \(line))"
        case .missingSpecialToken(let token, let vocabulary):
            return "special token \(token) is missing from vocabulary \(vocabulary ?? "(in-memory token list)")"
        case .invalidConfig(let path, let reason):
            return "invalid tokenizer config \(path): \(reason)"
        }
    }
}
