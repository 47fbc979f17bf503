import Foundation
internal import Yams

/// A YAML value with the position it was written at: what a grid file is made of before it is
/// typed. Built from Yams' composed `Node` tree (aliases resolved, `<<` merge keys applied),
/// and `Sendable`, so a decoded grid can hold the technique templates it expands later and
/// still point every error at a line and column.
public struct GridNode: Sendable, Equatable {
    /// A scalar as the YAML 1.1 core schema resolves it (Yams' default resolver): quoted text
    /// is always a string; `yes`/`no`/`on`/`off` are booleans, as in PyYAML.
    public enum Scalar: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case number(Double)
        case bool(Bool)
        case null
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var keyMark: GridMark
        public var value: GridNode
    }

    public enum Content: Sendable, Equatable {
        /// The resolved value and the text as written.
        case scalar(Scalar, text: String)
        case sequence([GridNode])
        case mapping([Entry])
    }

    public var content: Content
    public var mark: GridMark

    public init(_ content: Content, mark: GridMark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: Scalar? {
        if case let .scalar(value, _) = content { return value }
        return nil
    }

    public var entries: [Entry]? {
        if case let .mapping(entries) = content { return entries }
        return nil
    }

    public var items: [GridNode]? {
        if case let .sequence(items) = content { return items }
        return nil
    }

    public subscript(key: String) -> GridNode? { entries?.first { $0.key == key }?.value }

    /// The text a string value has, or the text a number or boolean was written as; nil for
    /// null, lists and mappings.
    public var text: String? {
        guard case let .scalar(value, text) = content else { return nil }
        if case .null = value { return nil }
        if case let .string(string) = value { return string }
        return text
    }

    /// The value in one canonical spelling, so `0.50`, `5e-1` and `.5` are one axis value and
    /// one point key: integers in decimal, other numbers as Swift's shortest round-trip form
    /// (`0.5`, `1e-05`), booleans `true`/`false`, null `null`; strings as they are.
    public var canonical: String {
        switch content {
        case let .scalar(value, _):
            switch value {
            case let .string(string): return string
            case let .integer(int): return String(int)
            case let .number(double): return double.description
            case let .bool(bool): return bool ? "true" : "false"
            case .null: return "null"
            }
        case let .sequence(items): return "[" + items.map(\.canonical).joined(separator: ", ") + "]"
        case let .mapping(entries): return "{" + entries.map { "\($0.key): \($0.value.canonical)" }.joined(separator: ", ") + "}"
        }
    }

    /// The value as an error message quotes it: strings in quotes, numbers as written.
    var quoted: String {
        switch content {
        case let .scalar(value, text):
            switch value {
            case let .string(string): return "\"\(string)\""
            case .null: return "null"
            default: return text
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// Two scalar values the same for matching rules: numbers by value (`2` matches `2.0`),
    /// everything else by canonical text.
    func matches(_ other: GridNode) -> Bool {
        if let a = numericValue, let b = other.numericValue { return a == b }
        return canonical == other.canonical
    }

    private var numericValue: Double? {
        switch scalar {
        case let .integer(int): return Double(int)
        case let .number(double): return double
        default: return nil
        }
    }
}

// MARK: - From YAML text

extension GridNode {
    /// Composes the first (and only) YAML document of `text`; nil for an empty document.
    /// libyaml's errors keep their own wording and position.
    static func compose(_ text: String, source: String) throws -> GridNode? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, text: text, source: source)
        }
        guard let node else { return nil }
        return try GridNode(node, fallback: GridMark(line: 1, column: 1), source: source)
    }

    private init(_ node: Node, fallback: GridMark, source: String) throws {
        let mark = node.mark.map { GridMark(line: $0.line, column: $0.column) } ?? fallback
        switch node {
        case let .scalar(scalar):
            self.init(.scalar(Self.resolve(node, scalar.string), text: scalar.string), mark: mark)
        case let .sequence(sequence):
            self.init(.sequence(try sequence.map { try GridNode($0, fallback: mark, source: source) }), mark: mark)
        case let .mapping(mapping):
            var explicit: [Entry] = []
            var merged: [Entry] = []
            for (keyNode, valueNode) in mapping {
                let keyMark = keyNode.mark.map { GridMark(line: $0.line, column: $0.column) } ?? mark
                guard case let .scalar(key) = keyNode else {
                    throw GridError(.wrongType, source: source, mark: keyMark, path: "", "mapping keys must be plain scalars")
                }
                let value = try GridNode(valueNode, fallback: keyMark, source: source)
                if key.string == "<<", keyNode.tag.rawValue == Tag.Name.merge.rawValue {
                    // YAML merge key: the merged mappings' entries, in order, under the explicit ones.
                    let sources = value.items ?? [value]
                    for merge in sources {
                        guard let entries = merge.entries else {
                            throw GridError(.wrongType, source: source, mark: merge.mark, path: "", "'<<' merges a mapping or a list of mappings")
                        }
                        for entry in entries where !merged.contains(where: { $0.key == entry.key }) { merged.append(entry) }
                    }
                } else {
                    explicit.append(Entry(key: key.string, keyMark: keyMark, value: value))
                }
            }
            let inherited = merged.filter { entry in !explicit.contains { $0.key == entry.key } }
            self.init(.mapping(explicit + inherited), mark: mark)
        case .alias:
            // Yams' composer resolves aliases to the anchored node; an alias left here is a bug.
            throw GridError(.syntax, source: source, mark: mark, path: "", "unresolved YAML alias")
        }
    }

    private static func resolve(_ node: Node, _ text: String) -> Scalar {
        switch node.tag.rawValue {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return node.bool.map(Scalar.bool) ?? .string(text)
        case Tag.Name.int.rawValue:
            if let int = node.int { return .integer(int) }
            return node.float.map(Scalar.number) ?? .string(text)
        case Tag.Name.float.rawValue: return node.float.map(Scalar.number) ?? .string(text)
        default: return .string(text)
        }
    }

    private static func syntaxError(_ error: YamlError, text: String, source: String) -> GridError {
        func mark(_ m: Mark) -> GridMark { GridMark(line: m.line, column: m.column) }
        func detail(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at \(context.mark.line):\(context.mark.column))"
        }
        switch error {
        case let .scanner(context, problem, at, _), let .parser(context, problem, at, _), let .composer(context, problem, at, _):
            return GridError(.syntax, source: source, mark: mark(at), path: "", "invalid YAML: \(detail(problem, context))")
        case let .reader(problem, offset, _, _):
            var position: GridMark?
            if let offset, offset <= text.count {
                let prefix = text.prefix(offset)
                let line = prefix.filter { $0 == "\n" }.count + 1
                let column = String(prefix.reversed().prefix { $0 != "\n" }).unicodeScalars.count + 1
                position = GridMark(line: line, column: column)
            }
            return GridError(.syntax, source: source, mark: position, path: "", "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return GridError(.syntax, source: source, mark: mark(context.mark), path: "", "key \(keys) given twice in one mapping")
        default:
            return GridError(.syntax, source: source, mark: nil, path: "", "invalid YAML: \(error)")
        }
    }
}
