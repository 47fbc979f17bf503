import Foundation

/// The key folders the commands take as `--keys DIR`.
///
/// Coordinator:
///
///     DIR/coordinator.secret    its secret key (0600)
///     DIR/coordinator.pub       its public key: copy it to every agent's DIR/coordinator.pub
///     DIR/authorized/*.pub      the agents allowed to connect, one public key per file
///
/// Agent:
///
///     DIR/agent.secret          its secret key (0600)
///     DIR/agent.pub             its public key: copy it to the coordinator's DIR/authorized/NAME.pub
///     DIR/coordinator.pub       the coordinator's public key (the server it will trust)
///
/// `frontier keygen` makes the key pairs (`CoordinatorKeys.generate`, `AgentKeys.generate`);
/// the two `.pub` copies are the operator's, and errors say which file is missing and how to
/// make it.
public enum KeyLayout {
    public static let coordinatorName = "coordinator"
    public static let agentName = "agent"
    public static let authorizedFolder = "authorized"

    /// The command that makes `role`'s key pair in `dir`, quoted in errors.
    public static func keygenCommand(role: String, dir: URL) -> String {
        "frontier keygen --role \(role) --keys \(dir.path)"
    }
}

/// The coordinator's `--keys DIR` (layout in `KeyLayout`).
public struct CoordinatorKeys: Sendable {
    public let directory: URL
    public let keyPair: CurveKeyPair
    /// `DIR/authorized`, the folder a `ZapAuthenticator` watches.
    public let authorizedDirectory: URL

    public static func authorizedDirectory(in dir: URL) -> URL {
        dir.appendingPathComponent(KeyLayout.authorizedFolder, isDirectory: true)
    }

    /// Loads the key pair and checks that `DIR/authorized/` exists (it may be empty).
    public static func load(_ dir: URL) throws -> CoordinatorKeys {
        let hint = "create it with `\(KeyLayout.keygenCommand(role: KeyLayout.coordinatorName, dir: dir))`"
        let pair = try CurveKeyPair.load(from: dir, name: KeyLayout.coordinatorName, hint: hint)
        let authorized = authorizedDirectory(in: dir)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: authorized.path, isDirectory: &isDir) else {
            throw KeyFileError(path: authorized.path, problem: .missing,
                               hint: "create the folder and copy each agent's agent.pub into it as NAME.pub (\(hint))")
        }
        guard isDir.boolValue else { throw KeyFileError(path: authorized.path, problem: .notAFile, hint: "expected a folder of NAME.pub files") }
        return CoordinatorKeys(directory: dir, keyPair: pair, authorizedDirectory: authorized)
    }

    /// Makes a fresh coordinator key pair in `dir` and an empty `DIR/authorized/`.
    @discardableResult
    public static func generate(in dir: URL, overwrite: Bool = false) throws -> CurveKeyPair {
        let pair = try CurveKeyPair.generate()
        try pair.write(to: dir, name: KeyLayout.coordinatorName, overwrite: overwrite)
        try KeyFiles.makeDirectory(authorizedDirectory(in: dir))
        return pair
    }

    /// The authorised agent keys, read now (refresh them per ZAP request).
    public func authorizedKeys(log: (@Sendable (String) -> Void)? = nil) -> AuthorizedKeys {
        AuthorizedKeys(directory: authorizedDirectory, log: log)
    }
}

/// The agent's `--keys DIR` (layout in `KeyLayout`).
public struct AgentKeys: Sendable {
    public let directory: URL
    public let keyPair: CurveKeyPair
    /// The coordinator's Z85 public key, from `DIR/coordinator.pub`.
    public let coordinatorPublicKey: String

    public static func load(_ dir: URL) throws -> AgentKeys {
        let hint = "create it with `\(KeyLayout.keygenCommand(role: KeyLayout.agentName, dir: dir))`"
        let pair = try CurveKeyPair.load(from: dir, name: KeyLayout.agentName, hint: hint)
        let server = CurveKeyPair.publicFile(in: dir, name: KeyLayout.coordinatorName)
        let serverKey: String
        do {
            serverKey = try CurveKeyPair.loadPublicKey(server)
        } catch var error as KeyFileError {
            error.hint = "copy coordinator.pub here from the coordinator's key folder (made by `frontier keygen --role coordinator`)"
            throw error
        }
        return AgentKeys(directory: dir, keyPair: pair, coordinatorPublicKey: serverKey)
    }

    /// Makes a fresh agent key pair in `dir`; `coordinatorPublicKey`, if given, is written to
    /// `DIR/coordinator.pub` too.
    @discardableResult
    public static func generate(in dir: URL, coordinatorPublicKey: String? = nil, overwrite: Bool = false) throws -> CurveKeyPair {
        let serverFile = CurveKeyPair.publicFile(in: dir, name: KeyLayout.coordinatorName)
        if let coordinatorPublicKey {
            guard CurveKeyPair.isValidKey(coordinatorPublicKey) else { throw KeyFileError(path: serverFile.path, problem: .notZ85) }
            if !overwrite && KeyFiles.exists(serverFile) { throw KeyFileError(path: serverFile.path, problem: .exists) }
        }
        let pair = try CurveKeyPair.generate()
        try pair.write(to: dir, name: KeyLayout.agentName, overwrite: overwrite)
        if let coordinatorPublicKey {
            try AuthorizedKeys.install(publicKey: coordinatorPublicKey, name: KeyLayout.coordinatorName, in: dir, overwrite: overwrite)
        }
        return pair
    }
}
