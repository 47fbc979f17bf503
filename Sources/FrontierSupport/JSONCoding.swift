import Foundation

/// The one JSON dialect of Frontier's results and specs: snake_case keys, sorted, and NaN /
/// infinity spelled as strings (JSON has no such numbers; Pearson of a constant is NaN).
public enum JSONCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// `minDurationS` → `min_duration_s`, as the encoder spells keys.
    public static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                if !out.isEmpty { out.append("_") }
                out += character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// Decoding errors as one readable sentence: the key path and what was wrong.
public enum JSONErrorText {
    public static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? JSONCoding.snakeCase($0.stringValue) }
            return keys.isEmpty ? "the top level" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .keyNotFound(key, context):
            let where_ = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing key '\(JSONCoding.snakeCase(key.stringValue))'\(where_)"
        case let .typeMismatch(type, context):
            return "\(path(context)): expected \(type) (\(context.debugDescription))"
        case let .valueNotFound(type, context):
            return "\(path(context)): expected \(type), found null"
        case let .dataCorrupted(context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// A JSONSerialization failure, with the line and column when Foundation gives an offset.
    public static func describe(_ error: Error, in data: Data) -> String {
        let ns = error as NSError
        let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
        if let offset = ns.userInfo["NSJSONSerializationErrorIndex"] as? Int, offset <= data.count {
            let prefix = data.prefix(offset)
            let line = prefix.filter { $0 == 0x0A }.count + 1
            let column = offset - (prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            return "invalid JSON at line \(line), column \(column): \(detail)"
        }
        return "invalid JSON: \(detail)"
    }
}
