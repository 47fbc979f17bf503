import Foundation

/// One grid parameter's value as the grid file meant it: `sparsity: 0.9` is a number, `fuse: true`
/// a boolean, `scope: global` a string. Encoded as the bare JSON scalar, so `trials.csv`'s
/// parameters column and `summary.json` say `{"sparsity": 0.9}`, not `{"sparsity": "0.9"}`, and
/// plots can order a variant's points by value (0.5 < 0.7 < 0.9, and 4 < 12 where strings would
/// put "12" first).
///
/// The store keeps a point's parameters as the grid's canonical text (`GridNode.canonical`), and
/// the YAML type is not kept beside it, so the type is read back from that text (`init(inferring:)`).
public enum ParameterValue: Codable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)

    /// The type a canonical grid value was written with: `true`/`false` → a boolean; a JSON number
    /// literal (`4`, `-2`, `0.9`, `1e-05`) → an integer when it has no fraction or exponent and
    /// fits an `Int`, else a number; anything else stays a string. Leading zeros (`007`), a plus
    /// sign, `nan` or `inf` are strings: no YAML number is written back so, and identifiers look
    /// like that.
    public init(inferring text: String) {
        switch text {
        case "true": self = .bool(true)
        case "false": self = .bool(false)
        default:
            guard Self.isNumberLiteral(text) else { self = .string(text); return }
            if let int = Int(text) {
                self = .integer(int)
            } else if let double = Double(text), double.isFinite {
                self = .number(double)
            } else {
                self = .string(text)
            }
        }
    }

    /// Every value of a grid point's `[name: canonical text]` typed (see `init(inferring:)`).
    public static func typed(_ parameters: [String: String]) -> [String: ParameterValue] {
        parameters.mapValues(ParameterValue.init(inferring:))
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isNumberLiteral(_ text: String) -> Bool {
        var chars = Array(text.utf8)[...]
        func digits() -> Int {
            var n = 0
            while let c = chars.first, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { chars.removeFirst(); n += 1 }
            return n
        }
        if chars.first == UInt8(ascii: "-") { chars.removeFirst() }
        if chars.first == UInt8(ascii: "0") {
            chars.removeFirst()
        } else if digits() == 0 {
            return false
        }
        if chars.first == UInt8(ascii: ".") {
            chars.removeFirst()
            guard digits() > 0 else { return false }
        }
        if chars.first == UInt8(ascii: "e") || chars.first == UInt8(ascii: "E") {
            chars.removeFirst()
            if chars.first == UInt8(ascii: "+") || chars.first == UInt8(ascii: "-") { chars.removeFirst() }
            guard digits() > 0 else { return false }
        }
        return chars.isEmpty
    }

    /// The value as a number, for ordering and plotting; nil for strings.
    public var numeric: Double? {
        switch self {
        case let .integer(int): Double(int)
        case let .number(double): double
        case let .bool(bool): bool ? 1 : 0
        case .string: nil
        }
    }

    /// The value as the grid wrote it (`0.9`, `4`, `true`, `global`): CSV cells and labels.
    public var description: String {
        switch self {
        case let .string(string): string
        case let .integer(int): String(int)
        case let .number(double): double.description
        case let .bool(bool): bool ? "true" : "false"
        }
    }

    /// Numbers before booleans before strings; numbers by value, the rest by text.
    public static func precedes(_ a: ParameterValue, _ b: ParameterValue) -> Bool {
        func rank(_ v: ParameterValue) -> Int {
            switch v {
            case .integer, .number: 0
            case .bool: 1
            case .string: 2
            }
        }
        if rank(a) != rank(b) { return rank(a) < rank(b) }
        if rank(a) == 0, let x = a.numeric, let y = b.numeric, x != y { return x < y }
        return a.description < b.description
    }

    // A string first: JSON numbers do not decode as one, and Frontier's decoder would otherwise
    // read the strings "nan" and "inf" as numbers.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            self = .integer(int)
        } else {
            self = .number(try container.decode(Double.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(string): try container.encode(string)
        case let .integer(int): try container.encode(int)
        case let .number(double): try container.encode(double)
        case let .bool(bool): try container.encode(bool)
        }
    }
}

/// Numbers compare by value whatever their case: JSON writes the number 5.0 as `5`, which reads
/// back as the integer 5, and a record must equal itself after a round trip.
extension ParameterValue: Equatable {
    public static func == (a: ParameterValue, b: ParameterValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number): a.numeric == b.numeric
        default: false
        }
    }
}

/// Literals, so tests and callers write `["sparsity": 0.9, "scope": "global"]`. A string literal
/// is a string: write numbers as numbers, or use `init(inferring:)` for grid text.
extension ParameterValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
