import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CURVE public keys allowed to connect: a folder of `*.pub` files, one key each (the
/// coordinator's `DIR/authorized/`; see `CoordinatorKeys`).
///
/// `refresh()` brings it up to date with the folder and is cheap enough to call on every ZAP
/// request: one directory listing and a `stat` per file, and only files whose inode, size or
/// modification time changed are read again. So an operator authorises an agent by copying its
/// `agent.pub` in (as `NAME.pub`), and revokes it by removing the file, without a restart.
///
/// A key file names who may use it: `NAME.pub` admits the agent ids `NAME` and `NAME-*`, or
/// the globs of a `# agent-ids: GLOB, GLOB` comment line in the file (`*` for a key that a whole
/// fleet shares). The coordinator binds every agent id to the key it authenticated with, so a
/// stolen per-machine key admits only that machine's names.
///
/// Never fatal: a malformed file, or a missing folder, is skipped with its reason logged (once,
/// until it changes) and in `skipped`. Hidden files (`.x.pub`, editors' temporaries) and files
/// not ending in `.pub` are ignored.
public struct AuthorizedKeys: Sendable {
    public let directory: URL
    /// Z85 public key → the file that authorises it (first in name order if several do).
    public private(set) var keys: [String: String] = [:]
    /// File name → why it was skipped. A folder-level problem is under the key `"."`.
    public private(set) var skipped: [String: String] = [:]

    private struct Stamp: Equatable, Sendable {
        var device: UInt64, inode: UInt64, size: Int64, mtimeSec: Int, mtimeNsec: Int, ctimeSec: Int, ctimeNsec: Int
    }
    private enum Outcome: Equatable, Sendable { case key(String, agentIds: [String]), skipped(String) }
    private struct Entry: Equatable, Sendable { var stamp: Stamp; var outcome: Outcome }
    private var entries: [String: Entry] = [:]
    private var folderProblem: String?

    /// Reads the folder now; `log` hears about skipped files and the folder's problems.
    public init(directory: URL, log: (@Sendable (String) -> Void)? = nil) {
        self.directory = directory
        refresh(log: log)
    }

    public var count: Int { keys.count }
    public func contains(_ publicKey: String) -> Bool { keys[publicKey] != nil }
    /// The file that authorises `publicKey`, e.g. `"lab-gpu-2.pub"`.
    public func file(for publicKey: String) -> String? { keys[publicKey] }

    /// The name a key stands for (its file name without `.pub`) and the agent-id globs it
    /// admits; nil for a key that is not authorised.
    public func identity(for publicKey: String) -> (name: String, agentIds: [String])? {
        guard let file = keys[publicKey], case let .key(_, ids)? = entries[file]?.outcome else { return nil }
        return (String(file.dropLast(4)), ids)
    }

    /// The globs of a `# agent-ids:` line, or `NAME` and `NAME-*`.
    static func agentIds(text: String, name: String) -> [String] {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("#") else { continue }
            let body = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
            guard body.lowercased().hasPrefix("agent-ids:") else { continue }
            let globs = body.dropFirst("agent-ids:".count).split(whereSeparator: { $0 == "," || $0 == " " })
                .map(String.init).filter { !$0.isEmpty }
            if !globs.isEmpty { return globs }
        }
        return [name, "\(name)-*"]
    }

    /// Re-reads what changed in the folder. Returns whether the set of keys changed.
    @discardableResult
    public mutating func refresh(log: (@Sendable (String) -> Void)? = nil) -> Bool {
        let before = keys
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            let reason = Self.describe(error)
            if folderProblem != reason { log?("authorized keys: cannot read folder \(directory.path): \(reason); no client keys are accepted") }
            folderProblem = reason
            entries = [:]
            keys = [:]
            skipped = ["." : reason]
            return before != keys
        }
        if folderProblem != nil { log?("authorized keys: folder \(directory.path) is readable again") }
        folderProblem = nil

        var next: [String: Entry] = [:]
        for name in names.sorted() where name.hasSuffix(".pub") && !name.hasPrefix(".") {
            let file = directory.appendingPathComponent(name)
            var info = stat()
            guard stat(file.path, &info) == 0 else {
                // Vanished between listing and stat, or a dangling link.
                next[name] = Entry(stamp: Stamp(device: 0, inode: 0, size: -1, mtimeSec: 0, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0),
                                   outcome: .skipped(String(cString: strerror(errno))))
                continue
            }
            #if os(Linux)
            let (mtime, ctime) = (info.st_mtim, info.st_ctim)
            #else
            let (mtime, ctime) = (info.st_mtimespec, info.st_ctimespec)
            #endif
            let stamp = Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                              mtimeSec: Int(mtime.tv_sec), mtimeNsec: Int(mtime.tv_nsec),
                              ctimeSec: Int(ctime.tv_sec), ctimeNsec: Int(ctime.tv_nsec))
            if let cached = entries[name], cached.stamp == stamp {
                next[name] = cached
                continue
            }
            let outcome: Outcome
            do {
                let text = try KeyFiles.readText(file)
                outcome = .key(try KeyFiles.parseKey(text, path: file.path),
                               agentIds: Self.agentIds(text: text, name: String(name.dropLast(4))))
            } catch let error as KeyFileError {
                outcome = .skipped(error.description.replacingOccurrences(of: "\(file.path): ", with: ""))
            } catch {
                outcome = .skipped(Self.describe(error))
            }
            next[name] = Entry(stamp: stamp, outcome: outcome)
        }

        var newKeys: [String: String] = [:]
        var newSkipped: [String: String] = [:]
        for name in next.keys.sorted() {
            switch next[name]!.outcome {
            case .key(let key, _): if newKeys[key] == nil { newKeys[key] = name }
            case .skipped(let reason):
                newSkipped[name] = reason
                if entries[name]?.outcome != .skipped(reason) {
                    log?("authorized keys: skipping \(directory.appendingPathComponent(name).path): \(reason)")
                }
            }
        }
        for (key, name) in newKeys where before[key] == nil { log?("authorized keys: added \(name) (\(key))") }
        for (key, name) in before where newKeys[key] == nil { log?("authorized keys: removed \(name) (\(key))") }
        entries = next
        keys = newKeys
        skipped = newSkipped
        return before != newKeys
    }

    /// Writes `publicKey` to `directory/NAME.pub` (0644), creating the folder, so that it is
    /// authorised at the next `refresh()`. Refuses to replace an existing file unless `overwrite`.
    @discardableResult
    public static func install(publicKey: String, name: String, in directory: URL, overwrite: Bool = false) throws -> URL {
        try KeyFiles.checkName(name, in: directory)
        let file = directory.appendingPathComponent("\(name).pub")
        guard Z85.isCurveKey(publicKey) else { throw KeyFileError(path: file.path, problem: .notZ85) }
        try KeyFiles.makeDirectory(directory)
        try KeyFiles.write(publicKey + "\n", to: file, mode: 0o644, overwrite: overwrite)
        return file
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
