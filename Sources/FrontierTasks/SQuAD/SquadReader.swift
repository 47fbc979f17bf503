import Foundation

/// Reads SQuAD v1.1 JSON (`dev-v1.1.json`): `data` → articles (`title`, `paragraphs`) → paragraphs
/// (`context`, `qas`) → questions (`id`, `question`, `answers` → `text`, `answer_start`).
///
/// Strict, because a silently skipped question changes the score: every required key must be there
/// with its JSON type, every question needs at least one answer (the official script takes the max
/// over gold answers and crashes on none; SQuAD 2.0's unanswerable questions are not this format),
/// ids must be unique (predictions are keyed by id), and `answer_start` must lie in the context.
/// Unknown keys (`version`, SQuAD 2.0's `is_impossible`, …) are ignored. Each error names the file,
/// the JSON path of the bad value and, when known, the question id.
public enum SquadReader {
    public static func read(path: String) throws -> [SquadExample] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw SquadDataError(file: path, !exists ? "no such file" : isDirectory.boolValue ? "is a directory, expected a SQuAD JSON file"
                                 : "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: path)
    }

    /// Parses SQuAD JSON already in memory; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws -> [SquadExample] {
        let root: Root
        do {
            root = try JSONDecoder().decode(Root.self, from: data)
        } catch let failure as QuestionFailure {
            throw dataError(failure.error, file: file, questionID: failure.id)
        } catch let error as DecodingError {
            throw dataError(error, file: file, questionID: nil)
        } catch {
            throw SquadDataError(file: file, "not valid JSON (\(error))")
        }

        var examples: [SquadExample] = []
        var seen: [String: String] = [:]  // id → JSON path of its first occurrence
        for (a, article) in root.data.enumerated() {
            for (p, paragraph) in article.paragraphs.enumerated() {
                let contextLength = paragraph.context.unicodeScalars.count
                for (q, qa) in paragraph.qas.enumerated() {
                    let path = "data[\(a)].paragraphs[\(p)].qas[\(q)]"
                    if let first = seen[qa.id] {
                        throw SquadDataError(file: file, location: path, questionID: qa.id, "duplicate question id (first at \(first))")
                    }
                    seen[qa.id] = path
                    guard !qa.answers.isEmpty else {
                        throw SquadDataError(file: file, location: path + ".answers", questionID: qa.id,
                                             "no gold answers (SQuAD v1.1 questions all have at least one; unanswerable SQuAD 2.0 questions are not supported)")
                    }
                    for (k, answer) in qa.answers.enumerated() where answer.answerStart < 0 || answer.answerStart > contextLength {
                        throw SquadDataError(file: file, location: path + ".answers[\(k)].answer_start", questionID: qa.id,
                                             "\(answer.answerStart) is outside the context (\(contextLength) characters)")
                    }
                    examples.append(SquadExample(id: qa.id, title: article.title ?? "", question: qa.question,
                                                 context: paragraph.context, answers: qa.answers.map(\.text),
                                                 answerStarts: qa.answers.map(\.answerStart)))
                }
            }
        }
        return examples
    }

    // MARK: - The file's shape

    private struct Root: Decodable {
        var data: [Article]
    }

    private struct Article: Decodable {
        var title: String?
        var paragraphs: [Paragraph]
    }

    private struct Paragraph: Decodable {
        var context: String
        var qas: [Question]
    }

    private struct Question: Decodable {
        var id: String
        var question: String
        var answers: [Answer]

        enum CodingKeys: String, CodingKey { case id, question, answers }

        /// Reads `id` first so that a problem further in the question can name it.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            do {
                question = try container.decode(String.self, forKey: .question)
                answers = try container.decode([Answer].self, forKey: .answers)
            } catch let error as DecodingError {
                throw QuestionFailure(id: id, error: error)
            }
        }
    }

    private struct Answer: Decodable {
        var text: String
        var answerStart: Int

        enum CodingKeys: String, CodingKey {
            case text
            case answerStart = "answer_start"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            text = try container.decode(String.self, forKey: .text)
            do {
                answerStart = try container.decode(Int.self, forKey: .answerStart)
            } catch let error as DecodingError {
                throw error
            } catch {
                // Foundation throws an internal error for a number that is not an Int (1.5, 1e30),
                // which reaches the caller as "not valid JSON" without a path; say where and what.
                let path = container.codingPath + [CodingKeys.answerStart]
                let found = (try? container.decode(Double.self, forKey: .answerStart)).map { "found \($0)" } ?? "found a non-integer"
                throw DecodingError.typeMismatch(Int.self, DecodingError.Context(codingPath: path, debugDescription: found))
            }
        }
    }

    /// A decoding error inside a question whose id is known.
    private struct QuestionFailure: Error {
        let id: String
        let error: DecodingError
    }

    // MARK: - Errors

    private static func dataError(_ error: DecodingError, file: String, questionID: String?) -> SquadDataError {
        switch error {
        case let .keyNotFound(key, context):
            return SquadDataError(file: file, location: jsonPath(context.codingPath + [key]), questionID: questionID, "missing key \"\(key.stringValue)\"")
        case let .typeMismatch(type, context):
            let found = context.debugDescription.hasPrefix("found ") ? ", \(context.debugDescription)" : ""
            return SquadDataError(file: file, location: jsonPath(context.codingPath), questionID: questionID, "expected \(jsonType(type))\(found)")
        case let .valueNotFound(type, context):
            return SquadDataError(file: file, location: jsonPath(context.codingPath), questionID: questionID, "expected \(jsonType(type)), found null")
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                let reason = (context.underlyingError.map { "\($0)" }) ?? context.debugDescription
                return SquadDataError(file: file, "not valid JSON (\(reason))")
            }
            return SquadDataError(file: file, location: jsonPath(context.codingPath), questionID: questionID, context.debugDescription)
        @unknown default:
            return SquadDataError(file: file, questionID: questionID, "\(error)")
        }
    }

    /// `data[3].paragraphs[1].qas[0]`: array indices in brackets, keys dotted; the top level is "(top level)".
    private static func jsonPath(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return path.isEmpty ? "(top level)" : path
    }

    /// The JSON type a Swift type stands for here (strings, integers, arrays; everything else is
    /// one of the file's objects).
    private static func jsonType(_ type: Any.Type) -> String {
        if type == String.self { return "a string" }
        if type == Int.self { return "an integer" }
        if "\(type)".hasPrefix("Array<") { return "an array" }
        return "an object"
    }
}
