import Foundation
import Testing
import FrontierMeasurement
@testable import FrontierArtifacts
@testable import FrontierFleet
@testable import FrontierStore
@testable import FrontierSweep
@testable import FrontierWire

/// An artifact uploaded and fetched back through the real shells: a `SweepCoordinator` on
/// loopback TCP with permissive `artifactPermissions`, and a `SweepAgent` whose runner, given
/// the agent's `ArtifactTransferLink`, uploads a file and fetches it into a cache inside its
/// trial — the heartbeats keeping the lease meanwhile.
@Suite(.serialized) struct ArtifactLoopbackTests {
    typealias C = SweepCoordinatorTests

    /// What the runner measured, from its thread.
    final class Report: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var values: (upload: Double, fetch: Double, fetched: URL)?
        private var problem: String?
        func record(upload: Double, fetch: Double, fetched: URL) { lock.withLock { values = (upload, fetch, fetched) } }
        func fail(_ why: String) { lock.withLock { problem = why } }
        var result: (upload: Double, fetch: Double, fetched: URL)? { lock.withLock { values } }
        var failure: String? { lock.withLock { problem } }
    }

    /// The defaults, or windows of FRONTIER_ARTIFACT_WINDOW chunks (for trying others).
    static var window: Int? { ProcessInfo.processInfo.environment["FRONTIER_ARTIFACT_WINDOW"].flatMap { Int($0) } }

    static var uploadSettings: ArtifactUploader.Settings {
        var settings = ArtifactUploader.Settings.uploads
        if let window { settings.windowChunks = window }
        return settings
    }

    static var fetchSettings: ArtifactFetcher.Settings {
        var settings = ArtifactFetcher.Settings.fetches
        if let window { settings.windowChunks = window }
        return settings
    }

    struct TransferRunner: SweepTrialRunner {
        let link: ArtifactTransferLink
        let file: URL
        let hash: ArtifactHash
        let size: Int64
        let cache: ArtifactCache
        let report: Report

        func run(_ a: WireAssignment, cancellation: TrialCancellation) -> WireResult {
            do {
                let start = Date()
                try ArtifactUploader(settings: ArtifactLoopbackTests.uploadSettings).upload(file: file, sha256: hash, size: size, trialId: a.trialID, attempt: a.attempt,
                                              via: link, cancellation: cancellation)
                let uploaded = Date()
                var ref = WireArtifactRef()
                ref.role = "checkpoint"
                ref.sha256 = hash.hex
                ref.size = UInt64(size)
                let url = try ArtifactFetcher(settings: ArtifactLoopbackTests.fetchSettings).fetch(ref, trialId: a.trialID, attempt: a.attempt, into: cache, via: link,
                                                      cancellation: cancellation)
                report.record(upload: uploaded.timeIntervalSince(start), fetch: Date().timeIntervalSince(uploaded), fetched: url)
                return C.success(a)
            } catch {
                report.fail("\(error)")
                return C.failure(a, reason: "\(error)")
            }
        }
    }

    /// Uploads and fetches `size` bytes through one coordinator and one agent; returns the
    /// seconds each direction took. With `permissions` nil the coordinator keeps its default
    /// (refusing every transfer), and the refusal is returned instead.
    static func roundTrip(size: Int, in root: URL, permissions: Bool = true) throws -> Result<(upload: Double, fetch: Double), TransferRefused> {
        let bytes = ArtifactFixtures.bytes(size, seed: 31)
        let hash = ArtifactFixtures.hash(bytes)
        let file = root.appendingPathComponent("checkpoint.tar")
        try Data(bytes).write(to: file)

        let stored = ArtifactTransferTests.StoredLog()
        var options = SweepCoordinator.Options(bind: "tcp://127.0.0.1:*", settings: C.settings(lease: 10))
        if permissions { options.artifactPermissions = .allowAll(agentId: "a1", stored: stored.record) }
        let store = try SweepStore(folder: root.appendingPathComponent("store"))
        let coordinator = try SweepCoordinator(store: store, grid: C.grid(), points: SweepSchedulerTests.points(1), options: options)
        let coordinatorStop = StopSignal()
        let coordinatorThread = C.Background<Void>("coordinator") { try coordinator.run(stop: coordinatorStop) }
        defer {
            coordinatorStop.raise("test finished")
            _ = coordinatorThread.join(10)
        }
        try #require(C.waitUntil(5) { !coordinator.snapshot.boundEndpoint.isEmpty }, "the coordinator did not bind")

        let link = ArtifactTransferLink()
        let report = Report()
        let cache = try ArtifactCache(root: root.appendingPathComponent("cache"), budgetBytes: 1 << 30)
        let runner = TransferRunner(link: link, file: file, hash: hash, size: Int64(size), cache: cache, report: report)
        var agentOptions = SweepAgent.Options(endpoint: coordinator.snapshot.boundEndpoint, agentId: "a1", deviceClass: "cpu-a",
                                              fingerprint: WireResults.device("cpu-a"), threads: 1, keys: nil,
                                              spool: root.appendingPathComponent("spool"), capabilities: WireResults.allCapabilities)
        agentOptions.liveness = 60
        let agent = try SweepAgent(options: agentOptions, runner: runner, transfers: link)
        #expect(agent.transfers === link)
        let agentStop = StopSignal()
        let agentThread = C.Background<SweepAgent.Exit>("agent") { try agent.run(stop: agentStop) }
        defer {
            agentStop.raise("test finished")
            _ = agentThread.join(10)
        }

        try #require(C.waitUntil(60) { report.result != nil || report.failure != nil }, "the transfer did not end within 60 s")
        if let failure = report.failure {
            if !permissions { return .failure(TransferRefused(detail: failure)) }
            Issue.record("transfer failed: \(failure)")
        }
        let result = try #require(report.result)
        #expect(coordinator.artifacts.store.contains(hash))
        #expect(stored.all.map(\.sha256) == [hash.hex])
        #expect(try ArtifactHash.ofFile(at: result.fetched.path) == hash)
        #expect(C.waitUntil(5) { coordinator.snapshot.progress.done == 1 })
        return .success((result.upload, result.fetch))
    }

    struct TransferRefused: Error {
        let detail: String
    }

    @Test func anArtifactGoesUpAndComesBackThroughTheShells() throws {
        let root = try ArtifactTestFolder("loopback")
        defer { root.remove() }
        _ = try Self.roundTrip(size: 5 << 20 + 123, in: root.url).get()
    }

    /// Without test hooks the scheduler decides: the loopback trial measures, so it may not upload.
    @Test func anUploadForATrialThatIsNotATrainingStageIsRefused() throws {
        let root = try ArtifactTestFolder("loopback")
        defer { root.remove() }
        guard case let .failure(refusal) = try Self.roundTrip(size: 1000, in: root.url, permissions: false) else {
            Issue.record("the upload was accepted")
            return
        }
        #expect(refusal.detail.contains("UNKNOWN_ARTIFACT") && refusal.detail.contains("is not a training stage"),
                "\(refusal.detail)")
    }

    /// 90 MB both ways, against `cp` of the same file (with and without `sync`), printed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FRONTIER_ARTIFACT_SPEED"] != nil,
                   "a speed measurement (90 MB): set FRONTIER_ARTIFACT_SPEED=1 to run it"))
    func ninetyMegabytesMoveAtAFractionOfCopySpeed() throws {
        let root = try ArtifactTestFolder("loopback-speed")
        defer { root.remove() }
        let size = 90_000_000
        let times = try Self.roundTrip(size: size, in: root.url).get()
        func cp(sync: Bool) throws -> Double {
            let start = Date()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "cp '\(root("checkpoint.tar").path)' '\(root("copy").path)'" + (sync ? " && sync '\(root("copy").path)'" : "")]
            try process.run()
            process.waitUntilExit()
            defer { try? FileManager.default.removeItem(at: root("copy")) }
            return Date().timeIntervalSince(start)
        }
        let copy = try (0..<3).map { _ in try cp(sync: false) }.min()!
        let copySync = try (0..<3).map { _ in try cp(sync: true) }.min()!
        func rate(_ s: Double) -> String { String(format: "%.0f MB/s", Double(size) / s / 1e6) }
        print("artifact loopback, 90 MB, window \(Self.uploadSettings.windowChunks) chunks: upload \(rate(times.upload)) (durable), fetch \(rate(times.fetch)) (into the cache, flushed); "
              + "cp \(rate(copy)), cp + sync \(rate(copySync))")
    }
}
