import Foundation

/// A key file that can't be used, naming the file and, where Frontier knows, the command that
/// makes it: `…/keys/agent.secret: missing (create it with `frontier keygen …`)`.
public struct KeyFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        case missing
        case unreadable(String)
        case notAFile
        case tooLarge(Int)
        case empty
        case multipleKeys(Int)
        case wrongLength(Int)
        case notZ85
        /// The `.pub` file's key is not the public half of the secret key in `secretFile`.
        case mismatch(secretFile: String)
        /// `write` would replace it and `overwrite` wasn't given.
        case exists
        case writeFailed(String)
        case badName(String)
    }

    public let path: String
    public let problem: Problem
    /// What to do about it, e.g. the `frontier keygen` command that makes the file.
    public var hint: String?

    public init(path: String, problem: Problem, hint: String? = nil) {
        self.path = path
        self.problem = problem
        self.hint = hint
    }

    public var description: String {
        let what: String = switch problem {
        case .missing: "missing"
        case .unreadable(let why): "cannot be read: \(why)"
        case .notAFile: "not a regular file"
        case .tooLarge(let bytes): "is \(bytes) bytes, far too large for a key file"
        case .empty: "holds no key"
        case .multipleKeys(let n): "holds \(n) lines that look like keys; a key file holds one"
        case .wrongLength(let n): "the key is \(n) characters; a Z85 CURVE key is 40"
        case .notZ85: "the key is not valid Z85 text"
        case .mismatch(let secret): "its public key is not the public half of the secret key in \(secret)"
        case .exists: "already exists (refusing to overwrite it)"
        case .writeFailed(let why): "cannot be written: \(why)"
        case .badName(let name): "\(name.debugDescription) is not a usable key name"
        }
        return "\(path): \(what)" + (hint.map { " — \($0)" } ?? "")
    }
}
