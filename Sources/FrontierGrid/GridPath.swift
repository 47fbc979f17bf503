import Foundation
import FrontierMeasurement

/// `${VAR}` expansion of the paths in a grid (`data_root`, model paths, mask files). A grid
/// keeps them as written — every machine has its own layout — and each agent expands them
/// with its own environment just before it runs a trial:
///
/// - `${NAME}` is the environment variable NAME; `${NAME:-fallback}` uses `fallback` when NAME
///   is unset or empty; an unset or empty variable without a fallback is an error, never "".
/// - `${FRONTIER_SHARED}` is the agent's shared root (its `--shared` folder, which the agent
///   resolves from the flag or the environment variable), whatever the environment says.
/// - `~/…` is under `$HOME`.
/// - A path still relative after expansion is relative to the shared root.
///
/// A `$` not followed by `{` is kept as it is.
public enum GridPath {
    public static let sharedVariable = "FRONTIER_SHARED"

    /// A reference in a string: `${name}` or `${name:-fallback}`.
    struct Reference: Equatable {
        var name: String
        var fallback: String?
        /// The whole `${…}` in the string.
        var range: Range<String.Index>
    }

    /// The references in `text`, in order. Throws on `${` without `}` and on a name that is
    /// not `[A-Za-z_][A-Za-z0-9_]*`.
    static func references(in text: String) throws -> [Reference] {
        var found: [Reference] = []
        var index = text.startIndex
        while let open = text[index...].range(of: "${") {
            guard let close = text[open.upperBound...].firstIndex(of: "}") else {
                throw GridPathError.unterminated(text: text)
            }
            let body = text[open.upperBound..<close]
            let name: Substring, fallback: String?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = String(body[separator.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard isName(name) else { throw GridPathError.badName(String(name), text: text) }
            found.append(Reference(name: String(name), fallback: fallback, range: open.lowerBound..<text.index(after: close)))
            index = text.index(after: close)
        }
        return found
    }

    static func isName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
    }

    /// Replaces every reference with its value; no path resolution.
    public static func expandVariables(_ text: String, environment: [String: String]) throws -> String {
        var out = ""
        var index = text.startIndex
        for reference in try references(in: text) {
            out += text[index..<reference.range.lowerBound]
            if let value = environment[reference.name], !value.isEmpty {
                out += value
            } else if let fallback = reference.fallback {
                out += fallback
            } else {
                throw GridPathError.undefinedVariable(reference.name, text: text)
            }
            index = reference.range.upperBound
        }
        return out + text[index...]
    }

    /// The path this agent should open for `path` as a grid wrote it.
    public static func expand(_ path: String, environment: [String: String], sharedRoot: URL) throws -> String {
        var variables = environment
        variables[sharedVariable] = sharedRoot.path
        var expanded = try expandVariables(path, environment: variables)
        if expanded == "~" || expanded.hasPrefix("~/") {
            guard let home = environment["HOME"], !home.isEmpty else { throw GridPathError.undefinedVariable("HOME", text: path) }
            expanded = home + expanded.dropFirst()
        }
        guard !expanded.isEmpty else { throw GridPathError.empty(text: path) }
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
        return sharedRoot.appendingPathComponent(expanded).standardizedFileURL.path
    }
}

public enum GridPathError: Error, Sendable, Equatable, CustomStringConvertible {
    case undefinedVariable(String, text: String)
    case unterminated(text: String)
    case badName(String, text: String)
    case empty(text: String)

    public var description: String {
        switch self {
        case let .undefinedVariable(name, text):
            return "'\(text)': environment variable \(name) is not set or empty (write ${\(name):-fallback} for a default)"
        case let .unterminated(text): return "'\(text)': '${' without a closing '}'"
        case let .badName(name, text): return "'\(text)': '${\(name)}' is not a variable name (letters, digits and _, not starting with a digit)"
        case let .empty(text): return "'\(text)' expands to an empty path"
        }
    }
}

extension TrialSpec {
    /// The spec with its paths expanded for this agent (`GridPath.expand`): the model, the
    /// data and a magnitude-pruning mask to read; a mask to save gets its variables expanded
    /// only, so a relative one stays relative to the working directory (the shared root is
    /// for reading).
    public func expandingPaths(environment: [String: String], sharedRoot: URL) throws -> TrialSpec {
        var spec = self
        spec.model = try GridPath.expand(model, environment: environment, sharedRoot: sharedRoot)
        spec.data = try GridPath.expand(data, environment: environment, sharedRoot: sharedRoot)
        for index in spec.techniques.indices {
            if let mask = spec.techniques[index].mask {
                spec.techniques[index].mask = try GridPath.expand(mask, environment: environment, sharedRoot: sharedRoot)
            }
            if let saveMask = spec.techniques[index].saveMask {
                var variables = environment
                variables[GridPath.sharedVariable] = sharedRoot.path
                spec.techniques[index].saveMask = try GridPath.expandVariables(saveMask, environment: variables)
            }
        }
        if let plan = spec.pairedBaseline {
            spec.pairedBaseline = PairedBaselinePlan(key: plan.key, spec: try plan.spec.expandingPaths(environment: environment, sharedRoot: sharedRoot))
        }
        return spec
    }
}
