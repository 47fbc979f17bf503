import Foundation

/// One JSON object on stdout, the agent's result format: stable key order, snake_case keys,
/// and NaN/inf spelled as strings (JSON has no such numbers; Pearson of a constant is NaN).
enum JSONOutput {
    static func write<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}
