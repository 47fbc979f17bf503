import ArgumentParser
import Foundation
import FrontierArtifacts
import FrontierFleet
import FrontierMeasurement
import FrontierSupport
import FrontierSweep
import FrontierTransport
import FrontierWire

struct ConnectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Join a sweep: pull trials from a coordinator, run each in a worker process, send the results.",
        discussion: """
            The agent says Hello with its device fingerprint, asks for a trial whenever it is idle, \
            runs it exactly as `frontier-agent run` would (a fresh worker process per trial), heartbeats \
            while it runs, and keeps each result in the spool folder until the coordinator acknowledges \
            it. When the coordinator is unreachable the agent waits and reconnects (backoff up to 30 s) \
            and re-sends its spool, so neither side losing the other loses a measurement. SIGTERM or \
            SIGINT: the running trial is finished and spooled, then the agent exits.

            Keys (--keys DIR, needed for any coordinator that is not on loopback): DIR/agent.secret, \
            DIR/agent.pub (from `frontier keygen --out DIR --name agent`) and DIR/coordinator.pub (the \
            coordinator's public key). The coordinator admits the agent once agent.pub is in its \
            authorized/ folder.

            Grid paths such as ${FRONTIER_SHARED}/models/minilm-l6-sst2 are resolved here: \
            FRONTIER_SHARED is --shared (default: the FRONTIER_SHARED environment variable, else ../shared).

            Preflight: a --shared folder (or FRONTIER_SHARED) that is given but does not exist stops the \
            agent before it takes any work (exit status 64): every trial that reads from it would fail. \
            A missing default ../shared is only warned about, for grids that name no shared files.

            Exit status: 0 when the sweep is finished or the agent was stopped; 2 when the coordinator \
            refuses the agent (protocol version, bad Hello); 64 for bad options or a failed preflight.
            """
    )

    @Argument(help: "The coordinator's endpoint, e.g. tcp://10.0.0.5:5555.")
    var endpoint: String

    @Option(help: "Folder with agent.secret, agent.pub and coordinator.pub (CURVE). Without it the connection is unencrypted (loopback only).")
    var keys: String?

    @Option(name: .customLong("device-class"), help: "The device class to report (default: derived from the CPU/GPU model).")
    var deviceClass: String?

    @Option(help: "Engine threads per trial (default: the grid's setting).")
    var threads: Int?

    @Option(help: "Where results wait for acknowledgement (default: ~/.cache/frontier/spool/AGENT_ID).")
    var spool: String?

    @Option(help: "Where training stages run and trained checkpoints are unpacked (default: ~/.cache/frontier/work/AGENT_ID). A stage given back to this agent after a kill resumes from its state here.")
    var work: String?

    @Option(name: .customLong("stage-checkpoint-every"), help: "Training stages save their state every N updates: a killed agent, restarted, resumes from the last one.")
    var stageCheckpointEvery: Int = 50

    @Option(name: .customLong("artifact-cache-mb"), help: "Trained checkpoints kept here for later trials, MiB (least recently used go first).")
    var cacheMb: Int = 4096

    @Option(name: .customLong("artifact-rate-mb"), help: "Cap checkpoint uploads and fetches at this many MB/s (default: no cap), so a sweep does not saturate a link the cluster shares.")
    var artifactRateMb: Double?

    @Option(help: "The folder ${FRONTIER_SHARED} stands for in grid paths (default: $FRONTIER_SHARED, else ../shared).")
    var shared: String?

    @Option(name: .customLong("agent-id"), help: "A stable name for this agent (default: HOSTNAME-PID).")
    var agentId: String?

    @Flag(name: .customLong("stay"), help: "Keep running (and asking for work) after the coordinator says the sweep is finished.")
    var stay = false

    @Flag(name: .customLong("deliver-only"), help: """
        Only deliver the spool: connect as --agent-id, send every spooled result, and exit 0 once the \
        coordinator has answered each one; take no work. For results left by an agent that is gone (a \
        Slurm job stopped at its time limit), sent under the id that ran them, the only id whose result \
        the coordinator accepts.
        """)
    var deliverOnly = false

    func validate() throws {
        guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") else {
            throw ValidationError("the endpoint must look like tcp://HOST:PORT; got '\(endpoint)'")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let deviceClass { _ = try DeviceClass.validated(deviceClass) }
        if let artifactRateMb, !(artifactRateMb > 0 && artifactRateMb.isFinite) {
            throw ValidationError("--artifact-rate-mb must be a positive number of MB/s; got \(artifactRateMb)")
        }
    }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let sharedGiven = shared ?? env["FRONTIER_SHARED"].flatMap { $0.isEmpty ? nil : $0 }
        let sharedRoot = URL(fileURLWithPath: sharedGiven ?? "../shared").standardizedFileURL
        if !deliverOnly, let problem = Self.sharedFolderProblem(sharedRoot) {
            if sharedGiven != nil {
                logNote("Error: \(problem) (--shared or FRONTIER_SHARED): every trial that reads a model or data "
                    + "file would fail; nothing was taken from the coordinator. Point it at the folder with models/ and data/.")
                throw ExitCode.validationFailure
            }
            logNote("warning: \(problem) (the default ../shared): trials that read ${FRONTIER_SHARED} paths will fail; "
                + "pass --shared DIR or set FRONTIER_SHARED")
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "agent"
        let id = agentId ?? "\(host)-\(getpid())"
        let device = AgentDevice.fingerprint(threads: threads ?? 1, settings: EnergySettings(), deviceClass: deviceClass)
        let agentKeys: AgentKeys?
        do {
            agentKeys = try keys.map { try AgentKeys.load(URL(fileURLWithPath: $0)) }
        } catch {
            logNote("Error: \(error)")
            throw ExitCode.validationFailure
        }
        if agentKeys == nil, !SweepEndpoint.isLoopback(endpoint) {
            logNote("Error: \(endpoint) is not a loopback address: pass --keys DIR (CURVE) to connect to a remote coordinator")
            throw ExitCode.validationFailure
        }
        let spoolDir = spool.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/frontier/spool/\(id)")
        var options = SweepAgent.Options(endpoint: endpoint, agentId: id, deviceClass: device.deviceClass,
                                         fingerprint: WireDeviceFingerprint(device),
                                         threads: threads ?? 1, keys: agentKeys, spool: spoolDir,
                                         capabilities: AgentCapabilities.current(device: device))
        options.exitWhenFinished = !stay
        options.deliverOnly = deliverOnly
        let log: @Sendable (String) -> Void = { logNote("agent \(id): \($0)") }
        var runner = MeasuredTrialRunner(device: device, sharedRoot: sharedRoot, threads: threads, agentId: id,
                                         progress: { logNote("agent \(id): " + $0) })
        runner.stageCheckpointEvery = max(1, stageCheckpointEvery)
        runner.work = work.map { URL(fileURLWithPath: $0).standardizedFileURL }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/frontier/work/\(id)")
        let stop = StopSignal()
        stop.installSignalHandlers()
        log("device class \(device.deviceClass); spool \(spoolDir.path); shared \(sharedRoot.path)")
        do {
            let transfers = ArtifactTransferLink()
            let cacheBudget = Int64(cacheMb) << 20
            let cache = try ArtifactCache(root: (runner.work ?? spoolDir).appendingPathComponent("artifact-cache"), budgetBytes: cacheBudget)
            runner.artifacts.transport = LinkArtifactTransport(link: transfers, cache: cache, bytesPerSecond: artifactRateMb.map { $0 * 1e6 },
                                                               log: log)
            let agent = try SweepAgent(options: options, runner: runner, transfers: transfers, log: log)
            switch try agent.run(stop: stop) {
            case .finished: log("sweep finished after \(agent.completed) trials here")
            case let .stopped(why): log("stopped (\(why)) after \(agent.completed) trials")
            }
        } catch let error as SweepAgentError {
            logNote("Error: \(error)")
            if case .refused = error { throw ExitCode(2) }
            throw ExitCode(1)
        }
    }

    /// Why `folder` cannot be the shared folder (`${FRONTIER_SHARED}` of the grid's paths), or
    /// nil: it must be an existing folder. (Which files the grid needs there is the
    /// coordinator's preflight, `frontier serve --check-files`.)
    static func sharedFolderProblem(_ folder: URL) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            return "the shared folder \(folder.path) does not exist"
        }
        return isDirectory.boolValue ? nil : "the shared folder \(folder.path) is not a folder"
    }
}
