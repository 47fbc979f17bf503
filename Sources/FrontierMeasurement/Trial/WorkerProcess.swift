#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FrontierSupport

/// How a worker process ended.
public struct WorkerExit: Sendable, Equatable, Codable {
    public var pid: Int32
    /// The exit status when it exited on its own.
    public var exitCode: Int32?
    /// The signal that ended it.
    public var signal: Int32?
    /// `ru_maxrss` from `wait4`: the kernel's account of the child's peak resident set, KiB.
    public var maxRssKb: Int
    public var wallS: Double
    /// Why the agent killed it (timeout, memory limit), when it did.
    public var killedBecause: String?

    package init(pid: Int32, exitCode: Int32?, signal: Int32?, maxRssKb: Int, wallS: Double, killedBecause: String?) {
        self.pid = pid
        self.exitCode = exitCode
        self.signal = signal
        self.maxRssKb = maxRssKb
        self.wallS = wallS
        self.killedBecause = killedBecause
    }

    public var succeeded: Bool { exitCode == 0 && signal == nil }

    /// A sentence for the failed result: what ended the worker.
    public var reason: String {
        if let killedBecause { return killedBecause }
        if let signal {
            let name = WorkerProcess.signalName(signal)
            if signal == SIGKILL {
                return "the worker was killed by \(name) (the kernel's out-of-memory killer or another process); peak RSS \(maxRssKb / 1024) MiB"
            }
            return "the worker crashed with \(name)"
        }
        return "the worker exited with status \(exitCode ?? -1)"
    }
}

/// Starts a child process and watches it until it ends: kills it on timeout or when its
/// resident memory passes a limit, and reports how it ended with the kernel's rusage of that
/// child alone (`wait4`), so a crash or an OOM kill is a recorded outcome, not a dead agent.
public enum WorkerProcess {
    public struct SpawnError: Error, CustomStringConvertible {
        public var executable: String
        public var code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// - Parameters:
    ///   - stdoutToStderr: the child's stdout goes to our stderr (its progress joins ours and our
    ///     stdout stays the result's alone).
    ///   - onStart: called with the child's pid once it runs.
    ///   - cancellation: when raised, the child is killed (and `killedBecause` says why).
    ///   - logFile: the child's stderr (and stdout with `stdoutToStderr`) is appended to this file
    ///     instead of ours (a training run's hours of progress, kept beside its output).
    ///   - environment: extra variables for the child, on top of this process's.
    public static func run(executable: String, arguments: [String], timeoutS: Double, memoryLimitMb: Double?,
                           stdoutToStderr: Bool = true, logFile: String? = nil, environment: [String: String] = [:],
                           cancellation: TrialCancellation? = nil,
                           onStart: (Int32) -> Void = { _ in }) throws -> WorkerExit {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let logFile {
            posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        if stdoutToStderr { posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO) }
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = MonotonicClock.now()
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") }
        defer { envp.forEach { free($0) } }
        let code = (argv + [nil]).withUnsafeBufferPointer { pointer in
            (envp + [nil]).withUnsafeBufferPointer { env in
                posix_spawn(&pid, executable, &actions, nil, UnsafeMutablePointer(mutating: pointer.baseAddress!),
                            UnsafeMutablePointer(mutating: env.baseAddress!))
            }
        }
        guard code == 0 else { throw SpawnError(executable: executable, code: code) }
        onStart(pid)

        var killedBecause: String?
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let result = wait4(pid, &status, WNOHANG, &usage)
            if result == pid { break }
            if result < 0 {
                if errno == EINTR { continue }
                throw SpawnError(executable: executable, code: errno)
            }
            let elapsed = MonotonicClock.now() - started
            if killedBecause == nil, let reason = cancellation?.reason {
                killedBecause = "cancelled: \(reason)"
                kill(pid, SIGKILL)
            }
            if killedBecause == nil, elapsed > timeoutS {
                killedBecause = String(format: "timed out after %.1f s (measurement.timeout_s)", timeoutS)
                kill(pid, SIGKILL)
            }
            if killedBecause == nil, let limit = memoryLimitMb, let rss = ProcessMemory.residentKB(pid: "\(pid)"),
               Double(rss) / 1024 > limit {
                killedBecause = String(format: "exceeded the memory limit: %.0f MiB resident > %.0f MiB (measurement.memory_limit_mb)", Double(rss) / 1024, limit)
                kill(pid, SIGKILL)
            }
            usleep(10_000)
        }
        let signalled = status & 0x7f
        return WorkerExit(pid: pid, exitCode: signalled == 0 ? (status >> 8) & 0xff : nil,
                          signal: signalled != 0 && signalled != 0x7f ? signalled : nil,
                          maxRssKb: Int(usage.ru_maxrss), wallS: MonotonicClock.now() - started,
                          killedBecause: killedBecause)
    }

    public static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL",
                                      SIGTRAP: "SIGTRAP", SIGBUS: "SIGBUS", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGFPE: "SIGFPE"]
        return names[signal] ?? "signal \(signal)"
    }

    /// This executable's path, to re-execute as a worker.
    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
