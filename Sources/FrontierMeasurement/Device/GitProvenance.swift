import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The commit the engine was built from, recorded with every result so a number can be traced to
/// the code that produced it.
///
/// Read from files, never by running `git`: agents run on machines without git installed, and a
/// subprocess in the measurement path costs time and can hang. Containers, which ship no `.git`,
/// say it through `FRONTIER_GIT_COMMIT` at build time.
public enum GitProvenance {
    public static let environmentVariable = "FRONTIER_GIT_COMMIT"

    /// The commit this binary was built from: `FRONTIER_GIT_COMMIT` when set; else the repository
    /// found walking up from the executable's real path (`/proc/self/exe` when `executable` is
    /// nil, symlinks resolved so a linked binary finds its own checkout).
    ///
    /// A set variable is final even when it is not a hex commit (then nil): it means the build
    /// chose to say, and walking up from a container's binary would find some other checkout.
    /// Accepts 7 to 64 hex digits (short, SHA-1 and SHA-256 object names), lowercased.
    public static func commit(
        executable: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let value = environment[environmentVariable] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            return isObjectName(trimmed, lengths: 7...64) ? trimmed : nil
        }
        guard let path = realPath(executable ?? "/proc/self/exe") else { return nil }
        return commit(repositoryContaining: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// The commit checked out in the repository containing `directory` (itself or an ancestor):
    /// HEAD, followed through `ref:` to a loose ref or `packed-refs`. Understands a `.git` file
    /// (`gitdir:`, as worktrees and submodules have) and a worktree's `commondir`. nil when there
    /// is no repository, the branch has no commit yet, or refs are in a reftable.
    public static func commit(repositoryContaining directory: URL) -> String? {
        var current = directory.standardizedFileURL
        while true {
            if let gitDirectory = gitDirectory(in: current) {
                return headCommit(gitDirectory: gitDirectory)
            }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { return nil }
            current = parent
        }
    }

    /// `<directory>/.git` when it is a repository directory, or where a `.git` file points.
    static func gitDirectory(in directory: URL) -> URL? {
        let dotGit = directory.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { return dotGit }
        guard let text = readTrimmed(dotGit), text.hasPrefix("gitdir:") else { return nil }
        let target = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
        guard !target.isEmpty else { return nil }
        return target.hasPrefix("/")
            ? URL(fileURLWithPath: target)
            : directory.appendingPathComponent(target).standardizedFileURL
    }

    static func headCommit(gitDirectory: URL) -> String? {
        // A worktree keeps HEAD in its own directory and shares refs with the main one.
        var refDirectories = [gitDirectory]
        if let common = readTrimmed(gitDirectory.appendingPathComponent("commondir")), !common.isEmpty {
            refDirectories.append(
                common.hasPrefix("/")
                    ? URL(fileURLWithPath: common)
                    : gitDirectory.appendingPathComponent(common).standardizedFileURL)
        }
        guard var value = readTrimmed(gitDirectory.appendingPathComponent("HEAD")) else { return nil }
        // A symbolic ref may point at another; a handful of hops is more than git itself makes.
        for _ in 0..<5 {
            guard value.hasPrefix("ref:") else {
                let name = value.lowercased()
                return isObjectName(name, lengths: 40...64) ? name : nil
            }
            let ref = value.dropFirst("ref:".count).trimmingCharacters(in: .whitespaces)
            guard ref.hasPrefix("refs/"), !ref.split(separator: "/").contains("..") else { return nil }
            guard let next = resolve(ref: ref, in: refDirectories) else { return nil }
            value = next
        }
        return nil
    }

    /// A loose ref's contents, else its line in `packed-refs`, searching each directory in turn.
    static func resolve(ref: String, in directories: [URL]) -> String? {
        for directory in directories {
            if let loose = readTrimmed(directory.appendingPathComponent(ref)), !loose.isEmpty {
                return loose
            }
        }
        for directory in directories {
            guard let packed = try? String(contentsOf: directory.appendingPathComponent("packed-refs"), encoding: .utf8)
            else { continue }
            // "<object> <refname>" lines; "#" is the header, "^" a peeled tag's target.
            for line in packed.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") && !line.hasPrefix("^") {
                let fields = line.split(separator: " ", maxSplits: 1)
                if fields.count == 2 && fields[1].trimmingCharacters(in: .whitespaces) == ref {
                    return String(fields[0])
                }
            }
        }
        return nil
    }

    static func isObjectName(_ text: String, lengths: ClosedRange<Int>) -> Bool {
        lengths.contains(text.utf8.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func readTrimmed(_ url: URL) -> String? {
        (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
