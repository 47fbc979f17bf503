import ArgumentParser
import Foundation
import FrontierFleet
import FrontierGrid
import FrontierLiveView
import FrontierStore
import FrontierSweep
import FrontierTransport

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Coordinate a sweep: hand a grid's trials to the agents that connect, store every result.",
        discussion: """
            Agents (`frontier-agent connect ENDPOINT`) pull trials when idle and heartbeat while they \
            run them. A trial whose agent goes silent for --lease-s seconds runs again elsewhere; after \
            --max-attempts ended attempts it is recorded as failed with every attempt's reason. Each \
            grid point is measured once per device class that joins (placement every-device-class) or \
            once in all (placement any), and exactly one result per trial is kept.

            Everything lives in STORE/frontier.sqlite. Restarting `frontier serve` with the same grid \
            and store resumes: finished trials are never run again, running ones wait one lease for \
            their agent to reconnect and then run again. SIGTERM / SIGINT stop it between batches; \
            results not yet acknowledged stay in the agents' spools and arrive after a restart.

            Security: any non-loopback --bind needs --keys DIR with DIR/coordinator.secret, \
            DIR/coordinator.pub and DIR/authorized/*.pub (agents' public keys; re-read when it \
            changes). See `frontier keygen`.

            Preflight: before serving, every configuration of the grid is validated, and the model \
            folders and task data that exist on this machine (paths expanded as an agent does, with \
            --shared for ${FRONTIER_SHARED}; a model counts as here when its config.json is) are \
            checked: config.json, vocab.txt, the safetensors \
            header against the config, the dev files, the head against each task and a recorded \
            fine-tuning task (training.json) against the task it is paired with. Paths that are not \
            here are left to the agents, which may keep models elsewhere; --check-files makes them \
            errors. A failed trial is retried up to --max-attempts times unless its failure is \
            deterministic (the agent refused the spec, or the trial's own code reported an error such \
            as a missing file): that fails at once.

            \(SweepExitStatus.help(serve: true))
            """
    )

    @Argument(help: "The grid file (YAML); see examples/README.md.")
    var grid: String

    @Option(help: "Where to listen, e.g. tcp://0.0.0.0:5555.")
    var bind: String = "tcp://127.0.0.1:5555"

    @Option(help: "The store folder (created if missing; reused to resume).")
    var store: String

    @Option(help: "Folder with coordinator.secret, coordinator.pub and authorized/ (CURVE).")
    var keys: String?

    @Option(help: "Serve the live progress page and /api/status here, e.g. 127.0.0.1:8080.")
    var http: String?

    @OptionGroup var sweep: SweepOptions

    @Flag(name: .customLong("exit-when-done"), help: "Exit once every trial of every device class that joined has ended (status 1 if any failed).")
    var exitWhenDone = false

    @Option(help: "The folder ${FRONTIER_SHARED} stands for in the preflight's file checks (default: $FRONTIER_SHARED, else ../shared).")
    var shared: String?

    @Flag(name: .customLong("check-files"), help: "Preflight: a model or data path that is not on this machine is an error (default: left to the agents).")
    var checkFiles = false

    func run() throws {
        let stop = StopSignal()
        stop.installSignalHandlers()
        let preflight = GridPreflight(files: checkFiles ? .required : .whereFound, sharedRoot: CoordinatorSetup.sharedRoot(shared))
        let setup = try CoordinatorSetup(grid: grid, store: store, bind: SweepEndpoint.normalise(bind), keys: keys,
                                         sweep: sweep, exitWhenDone: exitWhenDone, preflight: preflight)
        let live = try setup.startLiveView(http)
        defer { live?.stop() }
        let coordinator = setup.coordinator
        let reporter = Thread {
            var last = ""
            while !stop.isRaised {
                Thread.sleep(forTimeInterval: 10)
                let p = coordinator.snapshot.progress
                let line = "progress: \(p.done + p.failed)/\(p.total) ended (\(p.failed) failed), \(p.running) running, "
                    + "\(coordinator.snapshot.agents.filter { $0.state != .lost }.count) agents"
                    + (p.stages > 0 ? ", training stages \(p.stagesDone)/\(p.stages) done (\(p.training) training, "
                        + "\(p.waitingOnTraining) trials waiting for them)" : "")
                if line != last { logNote(line) }
                last = line
            }
        }
        reporter.start()
        do {
            try coordinator.run(stop: stop) { logNote("frontier: listening on \($0)") }
        } catch {
            logNote("Error: \(error)")
            setup.store.checkpoint()
            throw SweepExitStatus.internalError.exitCode
        }
        // The loop ended: by a signal, or (--exit-when-done) with every trial ended.
        let signal = stop.reason
        stop.raise("done")
        setup.store.checkpoint()
        let p = coordinator.snapshot.progress
        logNote("frontier: \(p.done) done, \(p.failed) failed, \(p.pending + p.running) left of \(p.total); store \(setup.storeURL.path)")
        let status = SweepExitStatus.after(stopReason: signal, progress: p, serve: true)
        if status != .ok {
            if status == .trialsFailed { logNote("frontier: \(p.failed) trial(s) failed; `frontier report --store \(setup.storeURL.path)` lists why") }
            throw status.exitCode
        }
    }
}

/// Options shared by `serve` and `local`.
struct SweepOptions: ParsableArguments {
    @Option(name: .customLong("lease-s"), help: "Seconds without a heartbeat before a trial is taken back.")
    var leaseS: Double = 30

    @Option(name: .customLong("max-attempts"), help: "Attempts per trial before it is recorded as failed (a deterministic failure is not retried).")
    var maxAttempts: Int = 3

    func validate() throws {
        guard leaseS >= 0.5 else { throw ValidationError("--lease-s must be at least 0.5") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
    }
}

/// What `serve` and `local` both do before the loop starts: read the grid, open the store,
/// load keys, refuse plain text off loopback.
struct CoordinatorSetup {
    let storeURL: URL
    let store: SweepStore
    let grid: SweepStore.GridInfo
    let coordinator: SweepCoordinator

    init(grid path: String, store storePath: String, bind: String, keys: String?, sweep: SweepOptions,
         exitWhenDone: Bool, preflight: GridPreflight) throws {
        let loaded: SweepGrid
        do {
            loaded = try SweepGrid.load(path: path)
        } catch {
            logNote("Error: \(error)")
            throw SweepExitStatus.cannotStart.exitCode
        }
        try Self.runPreflight(preflight, on: loaded, path: path)
        let coordinatorKeys: CoordinatorKeys?
        do {
            coordinatorKeys = try keys.map { try CoordinatorKeys.load(URL(fileURLWithPath: $0)) }
        } catch {
            logNote("Error: \(error)")
            throw SweepExitStatus.cannotStart.exitCode
        }
        if coordinatorKeys == nil, !SweepEndpoint.isLoopback(bind) {
            logNote("Error: \(bind) is reachable from other machines: pass --keys DIR so that only authorised agents "
                + "can connect (CURVE); `frontier keygen --out DIR` makes the keys")
            throw SweepExitStatus.cannotStart.exitCode
        }
        storeURL = URL(fileURLWithPath: storePath)
        do {
            store = try SweepStore(folder: storeURL)
        } catch {
            logNote("Error: \(error)")
            throw SweepExitStatus.internalError.exitCode
        }
        self.grid = loaded.info
        var options = SweepCoordinator.Options(bind: bind, keys: coordinatorKeys)
        options.settings = SweepScheduler.Settings(leaseSeconds: sweep.leaseS, heartbeatSeconds: min(2, sweep.leaseS / 5),
                                                   maxAttempts: sweep.maxAttempts, gridName: loaded.info.name,
                                                   coordinatorId: ProcessInfo.processInfo.hostName)
        options.exitWhenDone = exitWhenDone
        do {
            coordinator = try SweepCoordinator(store: store, grid: loaded.info, points: loaded.points, options: options,
                                               log: { logNote("frontier: \($0)") })
        } catch {
            logNote("Error: \(error)")
            throw SweepExitStatus.internalError.exitCode
        }
        let p = coordinator.snapshot.progress
        if coordinator.resumed {
            logNote("frontier: resuming \(storeURL.path): \(p.done) done, \(p.failed) failed, \(p.pending + p.running) to run")
        } else {
            let stages = loaded.points.filter(\.isTrainingStage).count
            logNote("frontier: grid '\(loaded.info.name)': \(loaded.points.count - stages) points"
                + (stages > 0 ? " and \(stages) training stage(s)" : "") + ", placement \(loaded.info.placement.rawValue)")
        }
    }

    /// The folder `${FRONTIER_SHARED}` stands for, resolved as `frontier-agent connect` resolves it.
    static func sharedRoot(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? ProcessInfo.processInfo.environment["FRONTIER_SHARED"] ?? "../shared").standardizedFileURL
    }

    /// Checks the grid before anything starts (`GridPreflight`); every problem is printed, then
    /// the command exits with `cannotStart`.
    static func runPreflight(_ preflight: GridPreflight, on grid: SweepGrid, path: String) throws {
        let started = Date()
        let report = preflight.check(grid.points)
        for line in report.notes { logNote("frontier: preflight: not checked here: \(line)") }
        if !report.notes.isEmpty, preflight.files == .whereFound {
            logNote("frontier: preflight: (--check-files makes paths missing here errors)")
        }
        guard report.ok else {
            for problem in report.problems { logNote("Error: \(problem)") }
            logNote("Error: \(path): the grid cannot run as it is (\(report.problems.count) problem(s) above); nothing was started")
            throw SweepExitStatus.cannotStart.exitCode
        }
        logNote(String(format: "frontier: preflight ok: %d configuration(s), %d model(s), %d data file(s) checked in %.2f s",
                    report.configurationsChecked, report.modelsChecked, report.dataChecked, Date().timeIntervalSince(started)))
    }

    func startLiveView(_ address: String?) throws -> LiveViewServer? {
        guard let address else { return nil }
        let (host, port) = try HTTPAddress.parse(address)
        let builder = LiveSnapshotBuilder(coordinator: coordinator, store: store, gridName: grid.name)
        let server = LiveViewServer(host: host, port: port, snapshot: { builder.snapshot() })
        do {
            try server.start()
        } catch {
            logNote("Error: cannot serve the live view on \(address): \(error)")
            throw SweepExitStatus.internalError.exitCode
        }
        logNote("frontier: live view on \(server.url ?? "http://\(host):\(port)/")")
        return server
    }
}

enum HTTPAddress {
    static func parse(_ text: String) throws -> (String, Int) {
        let trimmed = text.hasPrefix("http://") ? String(text.dropFirst(7)) : text
        guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
              (0...65535).contains(port)
        else {
            throw ValidationError("--http wants HOST:PORT, e.g. 127.0.0.1:8080; got '\(text)'")
        }
        let host = String(trimmed[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
