import ArgumentParser
import Foundation
import FrontierMeasurement
import FrontierSupport

/// The trial worker: `run` (and later `connect`) re-execute the agent as this, one process per
/// trial, so the trial's peak memory and CPU time are its own and a crash takes only it down.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Internal: run one trial from a request file and write its outcome (started by run).",
        shouldDisplay: false
    )

    @Option(help: "The WorkerRequest JSON the agent wrote.")
    var request: String

    @Option(help: "Where to write the WorkerOutcome JSON.")
    var outcome: String

    func run() throws {
        Self.belongToTheAgent()
        let outcome: WorkerOutcome
        do {
            guard let data = FileManager.default.contents(atPath: request) else {
                throw ValidationError("cannot read the worker request \(request)")
            }
            let request = try JSONCoding.decoder.decode(WorkerRequest.self, from: data)
            let runner = TrialRunner(spec: request.spec, idle: request.idle, progress: { note("  worker: " + $0) })
            outcome = WorkerOutcome(measurement: try runner.run(), error: nil)
        } catch {
            outcome = WorkerOutcome(measurement: nil, error: "\(error)")
        }
        try JSONCoding.encoder.encode(outcome).write(to: URL(fileURLWithPath: self.outcome), options: .atomic)
        if outcome.error != nil { throw ExitCode(1) }
    }

    /// The agent alone decides when a trial stops: it waits for the trial in flight on SIGTERM
    /// or SIGINT, and kills the worker itself (SIGKILL) on a cancellation, a timeout or the
    /// memory limit. So the worker ignores SIGTERM and SIGINT, which reach it too when they
    /// are sent to the whole process tree: Slurm's `scancel --signal=TERM JOB.STEP` signals
    /// every process of the step, a terminal's Ctrl-C the whole foreground group. And it exits
    /// when the agent is gone (its parent changes), so an agent killed outright leaves no worker.
    static func belongToTheAgent() {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let parent = getppid()
        let watcher = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            note("  worker: the agent (pid \(parent)) is gone; exiting")
            Glibc.exit(1)
        }
        watcher.start()
    }
}
