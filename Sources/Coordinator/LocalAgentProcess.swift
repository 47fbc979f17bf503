import Dispatch
import Foundation

/// A `frontier-agent connect` child of `frontier local`, with its output in a log file.
///
/// Started with `posix_spawn` in a process group of its own, and watched by a thread blocked in
/// `waitpid`, rather than with Foundation's `Process`, for two reasons:
/// - Ctrl-C in a terminal signals the whole foreground process group. The agents are not in it:
///   `frontier local` alone gets the SIGINT and stops them in order (SIGTERM: finish and spool
///   the running trial), instead of every process racing to die at once.
/// - An agent killed after its grace period leaves its trial's worker (its own child) behind.
///   The group lets `stop` kill both; and `Process` learns of an exit through a socket that the
///   worker inherits, so it would wait for that orphan, not the agent — `waitpid` does not.
final class LocalAgentProcess: @unchecked Sendable {
    struct SpawnError: Error, CustomStringConvertible {
        var executable: String
        var code: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    let pid: pid_t
    /// Signalled once when the child has exited (and been reaped).
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var running = true

    /// `onExit` runs on the watcher thread when the child exits.
    init(executable: String, arguments: [String], log: URL, onExit: @escaping @Sendable () -> Void = {}) throws {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.path, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (pgid = its pid), and default handling of the signals this
        // process routes to its StopSignal.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let code = (argv + [nil]).withUnsafeBufferPointer { pointer in
            posix_spawn(&child, executable, &actions, &attributes, UnsafeMutablePointer(mutating: pointer.baseAddress!), environ)
        }
        guard code == 0 else { throw SpawnError(executable: executable, code: code) }
        pid = child
        let spawned = child
        let watcher = Thread { [self] in
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) < 0, errno == EINTR {}
            lock.withLock { running = false }
            exited.signal()
            onExit()
        }
        watcher.stackSize = 256 << 10
        watcher.start()
    }

    var isRunning: Bool { lock.withLock { running } }

    /// Waits up to `seconds` for the child to exit; true when it has.
    func waitForExit(_ seconds: Double) -> Bool {
        guard exited.wait(timeout: .now() + seconds) == .success else { return !isRunning }
        exited.signal()
        return true
    }

    /// Lets the child end by itself for `seconds`, then asks with SIGTERM (it finishes and
    /// spools its trial), and after 30 s more kills its process group: the agent and the worker
    /// of the trial it was running.
    func stop(after seconds: Double) {
        if !waitForExit(seconds) { kill(pid, SIGTERM) }
        if !waitForExit(30) {
            kill(-pid, SIGKILL)
            _ = waitForExit(10)
        }
    }
}
