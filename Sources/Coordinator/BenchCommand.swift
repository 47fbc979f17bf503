import ArgumentParser
import Foundation
import FrontierFleet
import FrontierMeasurement
import FrontierSweep
import FrontierTransport
import FrontierWire
import FrontierGrid
import FrontierStore
import FrontierSupport
import FrontierTechniques

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the coordinator: simulated agents with a no-op engine against a large grid.",
        discussion: """
            Builds a grid of --trials points (each with a real, ~0.4 KB trial spec), starts the real \
            coordinator (scheduler, SQLite store in a temporary folder, ROUTER socket on loopback) and \
            --agents simulated agents: DEALER sockets that speak the real protocol (Hello, work \
            request, assignment, result, ack) and answer each assignment at once, spread over \
            --agent-threads threads. Reports trials/s from the first assignment to the last ack, and \
            the coordinator's resident memory per pending trial (RSS after the coordinator has stored \
            and loaded the grid, minus before, divided by the trials; the SQLite page cache included). Results as JSON on stdout; repeat with --rounds for a median.
            """
    )

    @Option(help: "Simulated agents.")
    var agents: Int = 64

    @Option(help: "Grid points, each one trial.")
    var trials: Int = 100_000

    @Option(name: .customLong("agent-threads"), help: "Threads the simulated agents share.")
    var agentThreads: Int = 2

    @Option(help: "Runs; the median is reported.")
    var rounds: Int = 3

    struct Round: Codable {
        var trials: Int
        var seconds: Double
        var trialsPerS: Double
        var rssBeforeKb: Int
        var rssLoadedKb: Int
        var bytesPerPendingTrial: Double
        var storeBytes: Int
    }

    struct Output: Codable {
        var agents: Int
        var trials: Int
        var agentThreads: Int
        var rounds: [Round]
        var medianTrialsPerS: Double
        var medianBytesPerPendingTrial: Double
        var machine: String
    }

    func run() throws {
        var results: [Round] = []
        for round in 1...max(1, rounds) {
            let r = try runOnce()
            note(String(format: "bench round %d: %d trials in %.2f s = %.0f trials/s; %.0f B per pending trial",
                        round, r.trials, r.seconds, r.trialsPerS, r.bytesPerPendingTrial))
            results.append(r)
        }
        func median(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let out = Output(agents: agents, trials: trials, agentThreads: agentThreads, rounds: results,
                         medianTrialsPerS: median(results.map(\.trialsPerS)),
                         medianBytesPerPendingTrial: median(results.map(\.bytesPerPendingTrial)),
                         machine: "\(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        print(String(decoding: try JSONCoding.encoder.encode(out), as: UTF8.self))
    }

    func runOnce() throws -> Round {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var spec = TrialSpec(model: "${FRONTIER_SHARED}/models/minilm-l6-sst2", task: "SST-2",
                             data: "${FRONTIER_SHARED}/data/glue", limit: 256, batch: 32, threads: 1)
        spec.techniques = [TechniqueSpec(name: .magnitudePruning)]
        let encoder = JSONCoding.encoder
        encoder.outputFormatting = [.sortedKeys]
        var points: [SweepPoint] = []
        points.reserveCapacity(trials)
        for i in 0..<trials {
            spec.techniques[0].sparsity = Double(i % 1000) / 1000
            let key = String(format: "%016llx", UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
            points.append(SweepPoint(key: key, configKey: key, label: "magnitude sparsity=\(spec.techniques[0].sparsity!)",
                                     variant: "magnitude", task: "SST-2", model: "minilm-l6-sst2", isBaseline: i == 0,
                                     specJSON: try encoder.encode(spec)))
        }
        // The grid as the caller holds it is not the coordinator's memory: measure from here.
        let rssBefore = ProcessMemory.residentKB() ?? 0
        let store = try SweepStore(folder: dir)
        let grid = SweepStore.GridInfo(name: "bench", source: "", placement: .any, fingerprint: "bench-\(trials)")
        var options = SweepCoordinator.Options(bind: "tcp://127.0.0.1:*")
        options.settings = .init(leaseSeconds: 60, heartbeatSeconds: 5, maxAttempts: 3, gridName: "bench")
        options.exitWhenDone = true
        let coordinator = try SweepCoordinator(store: store, grid: grid, points: points, options: options)
        let rssLoaded = ProcessMemory.residentKB() ?? 0
        points = []

        let stop = StopSignal()
        let bound = DispatchSemaphore(value: 0)
        let endpoint = LockedValue("")
        let loop = Thread {
            do {
                try coordinator.run(stop: stop) { endpoint.set($0); bound.signal() }
            } catch {
                note("Error: \(error)")
                bound.signal()
            }
        }
        loop.stackSize = 8 << 20
        loop.start()
        bound.wait()
        let context = try ZmqContext()
        let perThread = (agents + agentThreads - 1) / agentThreads
        let started = LockedValue<Double?>(nil)
        let finishedAgents = DispatchGroup()
        for t in 0..<agentThreads {
            let ids = Array((t * perThread)..<min(agents, (t + 1) * perThread))
            guard !ids.isEmpty else { continue }
            finishedAgents.enter()
            let thread = Thread {
                defer { finishedAgents.leave() }
                do {
                    try Self.simulate(ids: ids, endpoint: endpoint.value, context: context, started: started)
                } catch {
                    note("simulated agents: \(error)")
                }
            }
            thread.start()
        }
        finishedAgents.wait()
        let end = Date().timeIntervalSince1970
        while loop.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        stop.raise("done")
        context.shutdown()
        let counts = try store.counts()
        guard counts.done == trials else {
            throw ValidationError("benchmark incomplete: \(counts.done) of \(trials) trials done")
        }
        let seconds = end - (started.value ?? end)
        let size = (try? FileManager.default.attributesOfItem(atPath: store.databasePath)[.size] as? Int) ?? 0
        return Round(trials: trials, seconds: seconds, trialsPerS: Double(trials) / seconds, rssBeforeKb: rssBefore,
                     rssLoadedKb: rssLoaded, bytesPerPendingTrial: Double(rssLoaded - rssBefore) * 1024 / Double(trials),
                     storeBytes: size)
    }

    /// A full result as a real agent sends it (every section filled), so that the benchmark
    /// pays for validating and storing what the coordinator really receives.
    static let template: WireTrialResult = {
        var r = WireTrialResult()
        r.status = .ok
        var spec = TrialSpec(model: "/shared/models/minilm-l6-sst2", task: "SST-2", data: "/shared/data/glue", batch: 32, threads: 2)
        var pruning = TechniqueSpec(name: .magnitudePruning)
        pruning.sparsity = 0.5
        spec.techniques = [pruning]
        r.configuration = WireTrialConfiguration(spec)
        r.task = "SST-2"
        r.model = spec.model
        r.examples = 872
        r.metrics = ["accuracy": 0.9048]
        var energy = WireEnergyReport()
        energy.source = "rapl"
        energy.seconds = 2.5
        energy.grossJ = 61.2
        energy.netJ = 40.1
        energy.packageJ = 61.2
        var domain = WireEnergyReport.Domain()
        domain.name = "package-0"
        domain.source = .rapl
        domain.kind = .package
        domain.countsTowardTotal = true
        domain.grossJ = 61.2
        domain.netJ = 40.1
        domain.idleW = 8.4
        energy.domains = [domain]
        energy.pollIntervalS = 0.05
        energy.samples = 50
        r.energy = energy
        r.energySource = "rapl"
        r.energyJPerExample = 0.046
        r.energyBasis.accounting = "net"
        r.energyBasis.scenario = "offline"
        r.latencyP50Ms = 4.61
        r.latencyP90Ms = 4.9
        r.latencyP99Ms = 5.8
        r.throughputExamplesPerS = 492
        r.throughputTokensPerS = 12_400
        r.peakRssMb = 212
        r.parameterCount = 22_713_216
        r.nonZeroParameterCount = 13_000_000
        r.flopsPerExample = 1.9e9
        var offline = WireOfflineResult()
        offline.batch = 32
        offline.passes = 2
        offline.queries = 1744
        offline.examples = 1744
        offline.tokens = 43_900
        offline.seconds = 3.54
        offline.examplesPerS = 492
        offline.tokensPerS = 12_400
        offline.energy = energy
        r.offline = offline
        var device = WireDeviceFingerprint()
        device.hostname = "bench-host"
        device.cpuVendor = "GenuineIntel"
        device.cpuModel = "Intel(R) Xeon(R) Platinum"
        device.cpuFlags = ["avx2", "avx512f", "avx512_vnni", "fma"]
        device.logicalCpus = 2
        device.threadsUsed = 2
        device.kernel = "6.1.0"
        device.openblasConfig = "OpenBLAS 0.3.21 SKYLAKEX"
        device.openblasThreads = 2
        device.engineVersion = FrontierVersion.string
        device.deviceClass = "sim"
        device.deviceClassSource = "override"
        r.device = device
        r.startedAt = "2026-12-06T08:00:00.000Z"
        r.finishedAt = "2026-12-06T08:00:09.000Z"
        r.engineVersion = FrontierVersion.string
        return r
    }()

    /// `template`, encoded once: the simulated agents share two cores with the coordinator, and
    /// encoding a full result per trial would measure them, not it.
    static let templateBytes: [UInt8] = Array((try? template.serializedData()) ?? Data())

    /// An Envelope holding a Result for `trialId`, built by concatenation: protobuf merges
    /// concatenated encodings, so the Result is the small per-trial part followed by field 13
    /// (the template's bytes), and the Envelope is its version followed by field 8 (the Result).
    static func resultFrame(trialId: String, attempt: UInt32) -> Data {
        func varint(_ value: Int, into bytes: inout [UInt8]) {
            var v = UInt64(value)
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7f) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        var head = WireResult()
        head.trialID = trialId
        head.attempt = attempt
        var result = Array((try? head.serializedData()) ?? Data())
        result.append(13 << 3 | 2)
        varint(templateBytes.count, into: &result)
        result += templateBytes
        var envelope = WireEnvelope()
        envelope.protocolVersion = WireProtocol.version
        var frame = Array(envelope.encoded())
        frame.append(8 << 3 | 2)
        varint(result.count, into: &frame)
        frame += result
        return Data(frame)
    }

    /// Agents that do nothing but the protocol: each assignment is answered at once.
    static func simulate(ids: [Int], endpoint: String, context: ZmqContext, started: LockedValue<Double?>) throws {
        var sockets: [ZmqSocket] = []
        for id in ids {
            let s = try context.socket(.dealer)
            try s.setLinger(ms: 0)
            try s.connect(endpoint)
            var hello = WireHello()
            hello.agentID = "sim-\(id)"
            hello.deviceClass = "sim"
            hello.threads = 1
            hello.capabilities.tasks = ["sst-2"]
            hello.capabilities.techniques = ["magnitude-pruning"]
            hello.capabilities.kernels = ["dense", "sparse"]
            hello.fingerprint = template.device
            try s.send([WireEnvelope(.hello(hello)).encoded()])
            sockets.append(s)
        }
        let request = WireEnvelope(.workRequest(.init())).encoded()
        var active = Array(repeating: true, count: sockets.count)
        while active.contains(true) {
            let ready = try ZmqSocket.poll(sockets, timeoutMs: 1000)
            for (i, socket) in sockets.enumerated() where ready[i] && active[i] {
                while let frames = try socket.receive(timeoutMs: 0) {
                    guard let frame = frames.first, let envelope = try? WireEnvelope.decode(frame) else { continue }
                    switch envelope.body {
                    case .welcome:
                        try socket.send([request])
                    case let .assignment(a):
                        if started.value == nil { started.set(Date().timeIntervalSince1970) }
                        try socket.send([Self.resultFrame(trialId: a.trialID, attempt: a.attempt)])
                        try socket.send([request])
                    case let .noWork(n):
                        if n.sweepFinished { active[i] = false } else { try socket.send([request]) }
                    case .shutdown:
                        active[i] = false
                    default:
                        break
                    }
                }
            }
        }
        for s in sockets { s.close() }
    }
}
