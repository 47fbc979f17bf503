/// A position in a grid file, as libyaml counts it: lines and columns from 1, columns in
/// Unicode scalars.
public struct GridMark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// Why a grid file was refused, with where: `grid.yaml:12:7: variants[1].techniques[0].sparsity:
/// expected a number, got "ninety"`. Every error the grid layer throws is one of these, so a
/// CLI prints it as is and an editor can jump to the position.
public struct GridError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// Not YAML (libyaml's own message and position), or a key given twice.
        case syntax
        case unknownKey
        case missingKey
        /// A value of the wrong kind: a string for a number, a list for a mapping, …
        case wrongType
        /// The right kind, but not allowed: out of range, not one of the choices, an unknown task.
        case badValue
        /// Two variants, models, tasks, axis values or points that are the same.
        case duplicate
        /// Values that are each fine but not together: techniques in an order the pipeline
        /// refuses, zip groups of unequal length, an include that names no variant.
        case invalidCombination
        /// Nothing to measure: no variants, or every point excluded.
        case emptyGrid
    }

    public var kind: Kind
    /// The file name as given to `GridFile.load` / `GridFile.parse`.
    public var source: String
    /// Where; nil only when there is no text to point into (an unreadable or empty file).
    public var mark: GridMark?
    /// The key path inside the document (`variants[1].techniques[0].sparsity`); empty for the
    /// document as a whole.
    public var path: String
    public var message: String

    public init(_ kind: Kind, source: String, mark: GridMark?, path: String, _ message: String) {
        self.kind = kind
        self.source = source
        self.mark = mark
        self.path = path
        self.message = message
    }

    public var description: String {
        var text = source
        if let mark { text += ":\(mark.line):\(mark.column)" }
        text += ": "
        if !path.isEmpty { text += "\(path): " }
        return text + message
    }
}
