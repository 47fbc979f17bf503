import ArgumentParser
import Foundation
import FrontierSweep

/// How `frontier local` and `frontier serve` end, as an exit status: a script, CI job or
/// scheduler must be able to tell a sweep whose trials all worked from one that needs a look,
/// and both from one that never started — without parsing the log.
///
/// The numbers follow sysexits(3) and the shell: 64 is ArgumentParser's own status for bad
/// options (EX_USAGE), 70 EX_SOFTWARE, 128 + N a signal N. A grid or preflight problem gets
/// 64 too, because the cure is the same (fix the command or its files; rerunning as is cannot
/// help), and the systemd unit's `RestartPreventExitStatus=64` then does not restart into it.
/// SIGTERM ends `serve` with 0 because that is how systemd, Kubernetes and Slurm stop a service
/// (a restart on the same store resumes); `local` is run by hand or by a script, which must see
/// that the sweep was cut short.
enum SweepExitStatus: Int32 {
    /// Every trial succeeded.
    case ok = 0
    /// The sweep ended but some trials failed (or, for `local`, were left when every agent
    /// exited); every result is saved and the report lists the failures with their reasons.
    case trialsFailed = 1
    /// Frontier itself could not go on: the store, a socket, a missing frontier-agent, the
    /// report. Acknowledged results are saved.
    case internalError = 70
    /// Nothing ran: bad options, a grid file that does not parse, unreadable keys, or a
    /// preflight problem (a missing model or data file, a head that does not fit its task).
    case cannotStart = 64
    /// Ctrl-C (SIGINT), after saving (and for `local`, writing the report).
    case interrupted = 130
    /// SIGHUP (the terminal closed), `local` only, after saving and writing the report.
    case hungUp = 129
    /// SIGTERM, `local` only, after saving and writing the report.
    case terminated = 143

    var exitCode: ExitCode { ExitCode(rawValue) }

    /// The paragraph both commands' --help carries.
    static func help(serve: Bool) -> String {
        """
        Exit status: 0 every trial succeeded; 1 the sweep ended but some trials failed\
        \(serve ? "" : " or were left unrun") (results saved, the report lists them); 70 Frontier itself could \
        not go on (the store, a socket\(serve ? "" : ", a missing frontier-agent, the report")); 64 nothing ran \
        (bad options, a grid error, unreadable keys, or a preflight problem); 130 interrupted by Ctrl-C \
        (SIGINT) after saving\(serve ? "" : " and writing the report"); \(serve
            ? "0 on SIGTERM, the way service managers stop it (restarting on the same store resumes)."
            : "143 stopped by SIGTERM (129 SIGHUP) after saving and writing the report.")
        """
    }

    /// The status for a sweep that stopped: by a signal (the StopSignal's reason), or having run
    /// to its end (`progress`).
    static func after(stopReason: String?, progress: SweepScheduler.Progress, serve: Bool) -> SweepExitStatus {
        switch stopReason {
        case "SIGINT": return .interrupted
        case "SIGTERM": return serve ? .ok : .terminated
        case "signal \(SIGHUP)": return .hungUp
        default: break
        }
        if serve, !progress.finished { return .ok }  // stopped before the end without a signal: nothing to report
        return progress.failed > 0 || !progress.finished ? .trialsFailed : .ok
    }
}
