import CZMQ
import Foundation

/// A CurveZMQ key pair in Z85 text (40 characters each).
///
/// On disk a pair named NAME is `NAME.pub` (the public key and a newline, mode 0644: hand it
/// out) and `NAME.secret` (the secret key and a newline, mode 0600: never leaves the machine).
/// `description` shows only the public key, so logging a key pair can't leak the secret.
public struct CurveKeyPair: Sendable, Equatable, CustomStringConvertible {
    public let publicKey: String
    public let secretKey: String

    /// A pair from its secret key alone; the public key is derived.
    public init(secretKey: String) throws {
        guard Z85.isCurveKey(secretKey) else {
            throw ZmqError(code: EINVAL, operation: "CURVE secret key", message: "not a 40-character Z85 key")
        }
        publicKey = try Self.publicKey(forSecretKey: secretKey)
        self.secretKey = secretKey
    }

    /// A pair from both halves, checked to belong together.
    public init(publicKey: String, secretKey: String) throws {
        try self.init(secretKey: secretKey)
        guard self.publicKey == publicKey else {
            throw ZmqError(code: EINVAL, operation: "CURVE key pair", message: "the public key is not the secret key's public half")
        }
    }

    /// A fresh random pair (`zmq_curve_keypair`, libsodium).
    public static func generate() throws -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: Z85.keyLength + 1)
        var sec = [CChar](repeating: 0, count: Z85.keyLength + 1)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZmqError.last("zmq_curve_keypair") }
        return try CurveKeyPair(publicKey: String(nulTerminated: pub), secretKey: String(nulTerminated: sec))
    }

    /// Whether `text` is a 40-character Z85 CURVE key.
    public static func isValidKey(_ text: String) -> Bool { Z85.isCurveKey(text) }

    /// The Z85 public key of a 32-byte raw key (a ZAP CURVE credential, say).
    public static func z85(rawKey: Data) -> String? {
        rawKey.count == 32 ? Z85.encode(rawKey) : nil
    }

    static func publicKey(forSecretKey secretKey: String) throws -> String {
        var pub = [CChar](repeating: 0, count: Z85.keyLength + 1)
        let rc = secretKey.withCString { zmq_curve_public(&pub, $0) }
        guard rc == 0 else { throw ZmqError.last("zmq_curve_public") }
        return String(nulTerminated: pub)
    }

    public var description: String { "CurveKeyPair(public: \(publicKey))" }

    // MARK: - Files

    public static func publicFile(in dir: URL, name: String) -> URL { dir.appendingPathComponent("\(name).pub") }
    public static func secretFile(in dir: URL, name: String) -> URL { dir.appendingPathComponent("\(name).secret") }

    /// Writes `dir/NAME.pub` (0644) and `dir/NAME.secret` (0600), creating `dir` (0700) if
    /// needed. Without `overwrite`, refuses if either file exists and writes neither.
    /// `agentIds`: globs written as a `# agent-ids:` line in the `.pub`, so that the file copied
    /// into a coordinator's `authorized/` says which agent names the key may use.
    public func write(to dir: URL, name: String, overwrite: Bool = false, agentIds: [String] = []) throws {
        try KeyFiles.checkName(name, in: dir)
        try KeyFiles.makeDirectory(dir)
        let pub = Self.publicFile(in: dir, name: name)
        let sec = Self.secretFile(in: dir, name: name)
        if !overwrite {
            for file in [sec, pub] where KeyFiles.exists(file) {
                throw KeyFileError(path: file.path, problem: .exists, hint: "pass overwrite to replace the key pair")
            }
        }
        try KeyFiles.write(secretKey + "\n", to: sec, mode: 0o600, overwrite: overwrite)
        let idsLine = agentIds.isEmpty ? "" : "# agent-ids: \(agentIds.joined(separator: ", "))\n"
        try KeyFiles.write(idsLine + publicKey + "\n", to: pub, mode: 0o644, overwrite: overwrite)
    }

    /// Reads `dir/NAME.secret` and derives the public key from it. `dir/NAME.pub`, when
    /// present, must hold that same public key (a mismatch means the files were mixed up);
    /// when absent the derived key is used.
    public static func load(from dir: URL, name: String, hint: String? = nil) throws -> CurveKeyPair {
        try KeyFiles.checkName(name, in: dir)
        let sec = secretFile(in: dir, name: name)
        let secretKey: String
        do {
            secretKey = try KeyFiles.readKey(sec)
        } catch var error as KeyFileError {
            error.hint = error.hint ?? hint
            throw error
        }
        let pair = try CurveKeyPair(secretKey: secretKey)
        let pub = publicFile(in: dir, name: name)
        if KeyFiles.exists(pub) {
            let stored = try KeyFiles.readKey(pub)
            guard stored == pair.publicKey else {
                throw KeyFileError(path: pub.path, problem: .mismatch(secretFile: sec.path),
                                   hint: "the public key of \(sec.lastPathComponent) is \(pair.publicKey)")
            }
        }
        return pair
    }

    /// The Z85 public key in a `.pub` file.
    public static func loadPublicKey(_ file: URL) throws -> String {
        try KeyFiles.readKey(file)
    }
}
