import ArgumentParser
import Foundation
import FrontierAnalysis
import FrontierReport
import FrontierSweep
import FrontierGrid
import FrontierStore

struct LocalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Run a whole sweep on this machine: a coordinator and N local agents, then the report.",
        discussion: """
            The embedded default: the same coordinator as `frontier serve` on a loopback port, N \
            `frontier-agent connect` processes beside it (logs in STORE/logs/), a progress bar, and at \
            the end `frontier report` into STORE. Interrupt it with Ctrl-C and run the same command \
            again to resume: finished trials are kept.

            With N agents each trial still gets the grid's thread count; on a machine with fewer cores \
            than N × threads the agents share cores and energy and latency figures are per-trial only \
            approximately. For honest per-trial figures use one agent per machine or socket.

            Preflight: before the first trial every configuration is validated and every model folder \
            and task data file the grid names is checked on this machine (paths expanded as the agents \
            expand them, with --shared for ${FRONTIER_SHARED}): config.json parses, vocab.txt is there, \
            the safetensors header matches the config (weights are not loaded), the dev files exist, \
            the head fits each task, and a model that records its fine-tuning task (training.json) is \
            paired only with that task. Any problem stops the command in seconds, naming the file. A \
            failed trial is retried up to --max-attempts times unless its failure is deterministic (the \
            trial's own code reported an error, such as a missing file): that fails at once.

            \(SweepExitStatus.help(serve: false))
            """
    )

    @Argument(help: "The grid file (YAML); see examples/README.md.")
    var grid: String

    @Option(help: "Local agents to start.")
    var agents: Int = 1

    @Option(help: "The store folder (default results/GRID-NAME).")
    var store: String?

    @Option(help: "Also serve the live progress page here, e.g. 127.0.0.1:8080.")
    var http: String?

    @Option(help: "The folder ${FRONTIER_SHARED} stands for (default: $FRONTIER_SHARED, else ../shared).")
    var shared: String?

    @Option(name: .customLong("device-class"), help: "The device class the local agents report (default: automatic).")
    var deviceClass: String?

    @OptionGroup var sweep: SweepOptions

    @Flag(name: .customLong("no-report"), help: "Don't write the report at the end.")
    var noReport = false

    func validate() throws {
        guard (1...256).contains(agents) else { throw ValidationError("--agents must be between 1 and 256") }
    }

    func run() throws {
        let stop = StopSignal()
        // SIGHUP too: the agents are not in the terminal's process group, so a closed terminal
        // must reach them through this process's orderly stop.
        stop.installSignalHandlers([SIGTERM, SIGINT, SIGHUP])
        let gridName = (try? SweepGrid.load(path: grid).info.name) ?? URL(fileURLWithPath: grid).deletingPathExtension().lastPathComponent
        let storePath = store ?? "results/\(gridName)"
        // The agents are this machine's: every file they will open must be here.
        let preflight = GridPreflight(files: .required, sharedRoot: CoordinatorSetup.sharedRoot(shared))
        let setup = try CoordinatorSetup(grid: grid, store: storePath, bind: "tcp://127.0.0.1:*", keys: nil, sweep: sweep,
                                         exitWhenDone: true, preflight: preflight)
        let live = try setup.startLiveView(http)
        defer { live?.stop() }
        let coordinator = setup.coordinator
        let agentBinary = Self.sibling("frontier-agent")
        guard FileManager.default.isExecutableFile(atPath: agentBinary) else {
            note("Error: \(agentBinary) not found: build it with `swift build -c release` (it sits beside frontier)")
            throw SweepExitStatus.internalError.exitCode
        }
        let logs = setup.storeURL.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        let bound = DispatchSemaphore(value: 0)
        let loopEnded = DispatchSemaphore(value: 0)
        let started = LockedValue<(endpoint: String, error: String?)>(("", nil))
        // An error after the bind (the store, the socket) ends the sweep; it is reported at the end.
        let loopFailed = LockedValue<String?>(nil)
        let loop = Thread {
            do {
                try coordinator.run(stop: stop) { endpoint in
                    started.set((endpoint, nil))
                    bound.signal()
                }
            } catch {
                if started.value.endpoint.isEmpty {
                    started.set(("", "\(error)"))
                    bound.signal()
                } else {
                    note("Error: \(error)")
                    loopFailed.set("\(error)")
                }
            }
            stop.raise("coordinator ended")
            loopEnded.signal()
        }
        loop.stackSize = 8 << 20
        loop.start()
        bound.wait()
        let endpoint = started.value.endpoint
        if let error = started.value.error {
            note("Error: \(error)")
            throw SweepExitStatus.internalError.exitCode
        }
        // Wakes the progress loop early: a stop (a signal, the coordinator ending) or an agent exiting.
        let wake = DispatchSemaphore(value: 0)
        stop.onRaise { wake.signal() }
        var children: [LocalAgentProcess] = []
        for i in 0..<agents {
            var args = ["connect", endpoint, "--agent-id", "local-\(i + 1)",
                        "--spool", setup.storeURL.appendingPathComponent("spool/local-\(i + 1)").path,
                        "--work", setup.storeURL.appendingPathComponent("work/local-\(i + 1)").path]
            if let shared { args += ["--shared", shared] }
            if let deviceClass { args += ["--device-class", deviceClass] }
            let log = logs.appendingPathComponent("agent-\(i + 1).log")
            do {
                children.append(try LocalAgentProcess(executable: agentBinary, arguments: args, log: log,
                                                      onExit: { wake.signal() }))
            } catch {
                note("Error: cannot start agent \(i + 1): \(error)")
                stop.raise("agent start failed")
            }
        }
        note("frontier: \(agents) local agent(s) on \(endpoint); logs in \(logs.path)")
        let bar = SweepProgressBar()
        var finishedLoop = false
        while !finishedLoop {
            // The timeout is the bar's redraw interval.
            _ = wake.wait(timeout: .now() + 0.25)
            bar.draw(coordinator.snapshot)
            finishedLoop = stop.isRaised
            if !finishedLoop, !children.isEmpty, children.allSatisfy({ !$0.isRunning }) {
                note("frontier: every local agent has exited; see \(logs.path)")
                stop.raise("agents exited")
            }
        }
        loopEnded.wait()
        // What ended it: a signal, the coordinator (the sweep finished, or it failed), or the agents.
        let stopReason = stop.reason
        bar.finish(coordinator.snapshot)
        // The coordinator told the agents the sweep is finished; give them a moment, then stop them.
        for child in children { child.stop(after: stopReason == "coordinator ended" ? 10 : 0) }
        let p = coordinator.snapshot.progress
        if !p.finished {
            note("frontier: stopped with \(p.pending + p.running) trials left; run the same command again to resume")
        }
        setup.store.checkpoint()
        let status: SweepExitStatus = loopFailed.value != nil
            ? .internalError : SweepExitStatus.after(stopReason: stopReason, progress: p, serve: false)
        if !noReport {
            do {
                let out = try ReportCommand.write(store: setup.store, to: setup.storeURL)
                let records = try TrialRecordMapping.records(from: setup.store)
                print(ReportText.status(FrontierAnalysis(records: records), gridName: setup.grid.name))
                note("frontier: report in \(out.appendingPathComponent("report/index.html").path)")
            } catch {
                note("Error: writing the report: \(error)")
                throw SweepExitStatus.internalError.exitCode
            }
        }
        if p.failed > 0 {
            note("frontier: \(p.failed) trial(s) failed; "
                + (noReport ? "`frontier report --store \(setup.storeURL.path)` lists why" : "the report lists why"))
        }
        if status != .ok { throw status.exitCode }
    }

    /// A program installed beside this one (both come out of the same `swift build`).
    static func sibling(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
