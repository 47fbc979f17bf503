import Foundation
import Testing
import FrontierMeasurement
import FrontierSupport
@testable import FrontierArtifacts
@testable import FrontierFleet
@testable import FrontierSweep
@testable import FrontierWire

/// The agent's uploader and fetcher against a real `ArtifactExchange`, through an
/// `ArtifactTransferLink` that a test thread pumps the way the agent's loop does — and that
/// drops or spoils chosen messages, as a broken connection would.
@Suite struct ArtifactTransferTests {
    static let mib = 1 << 20

    /// Plays the agent's loop and the coordinator: takes what the transfer sent, hands it to the
    /// exchange (unless `dropSent` says it was lost), and delivers the replies (unless `dropReply`
    /// says so). The filters get the message and its index among those of its kind so far.
    ///
    /// `@unchecked Sendable`: the filters and `exchange` are immutable; `stopped` and `counts`
    /// are read and written only under `lock`.
    final class Pump: @unchecked Sendable {
        typealias Filter = @Sendable (inout WireEnvelope.OneOf_Body, Int) -> Bool
        let link = ArtifactTransferLink()
        let exchange: ArtifactExchange
        let permissions: ArtifactPermissions
        let dropSent: Filter
        let dropReply: Filter
        private let lock = NSLock()
        private var stopped = false
        private var counts: [String: Int] = [:]
        private var thread: Thread?
        private let finished = DispatchSemaphore(value: 0)

        init(_ exchange: ArtifactExchange, permissions: ArtifactPermissions = .allowAll(),
             dropSent: @escaping Filter = { _, _ in false }, dropReply: @escaping Filter = { _, _ in false }) {
            self.exchange = exchange
            self.permissions = permissions
            self.dropSent = dropSent
            self.dropReply = dropReply
            let thread = Thread { [self] in
                defer { finished.signal() }
                while !lock.withLock({ stopped }) {
                    for var body in link.takeOutgoing(waitingUpTo: 0.02) {
                        let kind = WireEnvelope(body).kind
                        if dropSent(&body, count(kind)) { continue }
                        let outcome = exchange.handle(peer: Data("agent".utf8), body: body, mayUpload: permissions.mayUpload,
                                                      mayFetch: permissions.mayFetch)
                        if let stored = outcome.stored { permissions.stored(stored) }
                        for reply in outcome.replies {
                            guard var replyBody = reply.body else { continue }
                            if dropReply(&replyBody, count(reply.kind)) { continue }
                            if ArtifactTransferLink.isTransferReply(replyBody) { link.deliver(replyBody) }
                        }
                    }
                }
            }
            self.thread = thread
            thread.start()
        }

        /// How many messages of `kind` passed so far (counting this one).
        private func count(_ kind: String) -> Int {
            lock.withLock {
                counts[kind, default: 0] += 1
                return counts[kind]! - 1
            }
        }

        func sent(_ kind: String) -> Int { lock.withLock { counts[kind, default: 0] } }

        func stop() {
            lock.withLock { stopped = true }
            finished.wait()
        }
    }

    /// What `stored` was called with, from the pump's thread.
    final class StoredLog: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var list: [ArtifactExchange.Stored] = []
        func record(_ s: ArtifactExchange.Stored) { lock.withLock { list.append(s) } }
        var all: [ArtifactExchange.Stored] { lock.withLock { list } }
    }

    /// Short timeouts so that recovering from a loss takes a fraction of a second. Tests that
    /// count messages exactly use `patient`, so that a loaded machine's pause is not a loss.
    static var fastUploader: ArtifactUploader { uploader(replyTimeout: 0.3) }
    static var patientUploader: ArtifactUploader { uploader(replyTimeout: 20) }
    static var fastFetcher: ArtifactFetcher { fetcher(replyTimeout: 0.3) }
    static var patientFetcher: ArtifactFetcher { fetcher(replyTimeout: 20) }

    static func uploader(replyTimeout: Double) -> ArtifactUploader {
        var settings = ArtifactUploader.Settings.uploads
        settings.replyTimeout = replyTimeout
        settings.windowChunks = 4
        settings.pollInterval = 0.02
        return ArtifactUploader(settings: settings)
    }

    static func fetcher(replyTimeout: Double) -> ArtifactFetcher {
        var settings = ArtifactFetcher.Settings.fetches
        settings.replyTimeout = replyTimeout
        settings.windowChunks = 4
        settings.pollInterval = 0.02
        return ArtifactFetcher(settings: settings)
    }

    struct Upload {
        let folder: ArtifactTestFolder
        let exchange: ArtifactExchange
        let file: URL
        let bytes: [UInt8]
        let hash: ArtifactHash

        init(size: Int, seed: UInt64) throws {
            folder = try ArtifactTestFolder("transfer")
            exchange = try ArtifactExchange(root: folder("coordinator/artifacts"), maximumArtifactBytes: 64 << 20)
            bytes = ArtifactFixtures.bytes(size, seed: seed)
            hash = ArtifactFixtures.hash(bytes)
            file = folder("checkpoint.tar")
            try Data(bytes).write(to: file)
        }

        func run(_ uploader: ArtifactUploader, _ pump: Pump, cancellation: TrialCancellation = TrialCancellation()) throws {
            try uploader.upload(file: file, sha256: hash, size: Int64(bytes.count), trialId: "stage-a@train", attempt: 1,
                                via: pump.link, cancellation: cancellation)
        }

        /// Puts the bytes straight into the coordinator's store (for fetches).
        func storeDirectly() throws {
            try exchange.store.append(hash, offset: 0, bytes: bytes, declaredSize: Int64(bytes.count))
            try exchange.store.complete(hash, declaredSize: Int64(bytes.count))
        }

        var ref: WireArtifactRef {
            var ref = WireArtifactRef()
            ref.role = "checkpoint"
            ref.sha256 = hash.hex
            ref.size = UInt64(bytes.count)
            ref.stageKey = "a"
            return ref
        }

        func cache() throws -> ArtifactCache { try ArtifactCache(root: folder("agent-cache"), budgetBytes: 64 << 20) }
    }

    // MARK: Uploads

    @Test func anUploadEndsWithTheFileStoredAndRecorded() throws {
        let u = try Upload(size: 3 * Self.mib + 5, seed: 11)
        defer { u.folder.remove() }
        let stored = StoredLog()
        let pump = Pump(u.exchange, permissions: .allowAll(agentId: "agent-a", stored: stored.record))
        defer { pump.stop() }
        try u.run(Self.patientUploader, pump)
        #expect(u.exchange.store.contains(u.hash))
        #expect(stored.all == [.init(sha256: u.hash.hex, size: Int64(u.bytes.count), trialId: "stage-a@train", agentId: "agent-a")])
        #expect(pump.sent("artifact_offer") == 1 && pump.sent("artifact_chunk") == 4)
        // Uploading it again costs one offer.
        try u.run(Self.patientUploader, pump)
        #expect(pump.sent("artifact_offer") == 2 && pump.sent("artifact_chunk") == 4)
    }

    @Test func lostChunksAndRepliesResumeFromTheCoordinatorsOffset() throws {
        let u = try Upload(size: 6 * Self.mib + 100, seed: 12)
        defer { u.folder.remove() }
        // The first offer's answer, the third chunk (once), and the fifth ack are lost.
        let pump = Pump(u.exchange, dropSent: { body, index in
            if case .artifactChunk = body { return index == 2 }
            return false
        }, dropReply: { body, index in
            switch body {
            case .artifactResume: return index == 0
            case .artifactChunkAck: return index == 4
            default: return false
            }
        })
        defer { pump.stop() }
        try u.run(Self.fastUploader, pump)
        #expect(u.exchange.store.contains(u.hash))
        #expect(try Data(contentsOf: u.exchange.store.url(of: u.hash)!) == Data(u.bytes))
        // The lost resume cost a second offer; the lost chunk a resend of the window behind it
        // (4 chunks), not a restart — with room for a pause of the machine counted as a loss.
        #expect(pump.sent("artifact_offer") >= 2)
        #expect(pump.sent("artifact_chunk") < 3 * 7)
    }

    @Test func aConnectionThatDropsEverythingForAWhileIsWaitedOut() throws {
        let u = try Upload(size: 2 * Self.mib, seed: 13)
        defer { u.folder.remove() }
        // Every chunk from the 2nd to the 4th vanishes (a reconnect).
        let pump = Pump(u.exchange, dropSent: { body, index in
            if case .artifactChunk = body { return (1...3).contains(index) }
            return false
        })
        defer { pump.stop() }
        try u.run(Self.fastUploader, pump)
        #expect(u.exchange.store.contains(u.hash))
    }

    @Test func aHashMismatchStartsAgainFromZeroThenGivesUp() throws {
        let u = try Upload(size: 2 * Self.mib + 3, seed: 14)
        defer { u.folder.remove() }
        // The first chunk arrives spoiled once: the coordinator discards the upload, the agent
        // sends it all again.
        let once = Pump(u.exchange, dropSent: { body, index in
            if case var .artifactChunk(chunk) = body, index == 0 {
                chunk.data[5] ^= 0xff
                body = .artifactChunk(chunk)
            }
            return false
        })
        try u.run(Self.patientUploader, once)
        once.stop()
        #expect(u.exchange.store.contains(u.hash))
        #expect(once.sent("artifact_offer") == 2)

        let v = try Upload(size: Self.mib, seed: 15)
        defer { v.folder.remove() }
        let always = Pump(v.exchange, dropSent: { body, _ in
            if case var .artifactChunk(chunk) = body {
                chunk.data[0] ^= 1
                body = .artifactChunk(chunk)
            }
            return false
        })
        defer { always.stop() }
        #expect {
            try v.run(Self.patientUploader, always)
        } throws: { error in
            guard case let .hashMismatch(sha, attempts, _)? = error as? ArtifactTransferError else { return false }
            return sha == v.hash.hex && attempts == 3
        }
    }

    @Test(arguments: [WireReject.Reason.notLeaseHolder, .leaseExpired])
    func aRefusedUploadThrowsTheCoordinatorsReason(reason: WireReject.Reason) throws {
        let u = try Upload(size: 1000, seed: 16)
        defer { u.folder.remove() }
        let pump = Pump(u.exchange, permissions: ArtifactPermissions(mayUpload: { _, _, _ in .refused(reason, "the lease is gone") },
                                                                     mayFetch: { _, _, _, _ in .allowed(agentId: "x") }, stored: { _ in }))
        defer { pump.stop() }
        #expect(throws: ArtifactTransferError.refused(sha256: u.hash.hex, reason: reason,
                                                      detail: "upload of artifact \(u.hash) for stage-a@train refused: the lease is gone")) {
            try u.run(Self.fastUploader, pump)
        }
    }

    @Test func aTooLargeUploadThrowsWithTheLimit() throws {
        let folder = try ArtifactTestFolder("transfer")
        defer { folder.remove() }
        let exchange = try ArtifactExchange(root: folder("artifacts"), maximumArtifactBytes: 100)
        let bytes = ArtifactFixtures.bytes(101, seed: 17)
        try Data(bytes).write(to: folder("file"))
        let pump = Pump(exchange)
        defer { pump.stop() }
        #expect {
            try Self.fastUploader.upload(file: folder("file"), sha256: ArtifactFixtures.hash(bytes), size: 101, trialId: "t", attempt: 1,
                                         via: pump.link, cancellation: TrialCancellation())
        } throws: { error in
            guard case let .refused(_, reason, detail)? = error as? ArtifactTransferError else { return false }
            return reason == .artifactTooLarge && detail.contains("up to 100 bytes")
        }
    }

    @Test func aCancelledUploadStopsPromptly() throws {
        let u = try Upload(size: 2 * Self.mib, seed: 18)
        defer { u.folder.remove() }
        // A coordinator that never answers.
        let pump = Pump(u.exchange, dropSent: { _, _ in true })
        defer { pump.stop() }
        let cancellation = TrialCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel("the lease is gone") }
        let started = Date()
        #expect(throws: ArtifactTransferError.cancelled(sha256: u.hash.hex, reason: "the lease is gone")) {
            try u.run(Self.fastUploader, pump, cancellation: cancellation)
        }
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func anUploadWithoutProgressGivesUpAtItsDeadline() throws {
        let u = try Upload(size: 1000, seed: 19)
        defer { u.folder.remove() }
        let pump = Pump(u.exchange, dropSent: { _, _ in true })
        defer { pump.stop() }
        var uploader = Self.fastUploader
        uploader.settings.progressDeadline = 0.8
        #expect {
            try u.run(uploader, pump)
        } throws: { error in
            guard case .noProgress? = error as? ArtifactTransferError else { return false }
            return true
        }
        // It kept offering while it waited.
        #expect(pump.sent("artifact_offer") >= 2)
    }

    /// `connect --artifact-rate-mb`: a capped upload and fetch take at least size ÷ rate, in
    /// chunks of a tenth of a second's bytes, and still arrive whole.
    @Test func aRateCapPacesUploadsAndFetchesInSmallChunks() throws {
        let u = try Upload(size: 400_000, seed: 17)
        defer { u.folder.remove() }
        let pump = Pump(u.exchange)
        defer { pump.stop() }
        var uploads = ArtifactTransferSettings.uploads, fetches = ArtifactTransferSettings.fetches
        uploads.maxBytesPerSecond = 1_000_000
        fetches.maxBytesPerSecond = 1_000_000
        var started = MonotonicClock.now()
        try u.run(ArtifactUploader(settings: uploads), pump)
        // Paced: the last 100 kB chunk may leave at 0.3 s, no earlier.
        #expect(MonotonicClock.now() - started >= 0.29)
        #expect(pump.sent("artifact_chunk") == 4)
        #expect(try Data(contentsOf: u.exchange.store.url(of: u.hash)!) == Data(u.bytes))
        started = MonotonicClock.now()
        let url = try ArtifactFetcher(settings: fetches).fetch(u.ref, trialId: "measure-b", attempt: 1, into: try u.cache(), via: pump.link,
                                                               cancellation: TrialCancellation())
        #expect(MonotonicClock.now() - started >= 0.29)
        #expect(pump.sent("artifact_fetch") == 4)
        #expect(try Data(contentsOf: url) == Data(u.bytes))
    }

    // MARK: Fetches

    @Test func aFetchFillsTheCacheAndPinsTheArtifact() throws {
        let u = try Upload(size: 3 * Self.mib + 77, seed: 21)
        defer { u.folder.remove() }
        try u.storeDirectly()
        let cache = try u.cache()
        let pump = Pump(u.exchange)
        defer { pump.stop() }
        let url = try Self.patientFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: cache, via: pump.link,
                                             cancellation: TrialCancellation())
        #expect(try Data(contentsOf: url) == Data(u.bytes))
        #expect(cache.entries.map(\.pins) == [1])
        #expect(pump.sent("artifact_fetch") == 4)
        #expect(!FileManager.default.fileExists(atPath: cache.incomingURL(for: u.hash).path))

        // Cached: no message, one more pin.
        let again = try Self.patientFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: cache, via: pump.link,
                                               cancellation: TrialCancellation())
        #expect(again == url && cache.entries.map(\.pins) == [2])
        #expect(pump.sent("artifact_fetch") == 4)
    }

    @Test func lostRequestsAndDataAreAskedForAgain() throws {
        let u = try Upload(size: 7 * Self.mib + 1, seed: 22)
        defer { u.folder.remove() }
        try u.storeDirectly()
        let cache = try u.cache()
        // The second request and the fifth answer are lost; later, everything for a while.
        let pump = Pump(u.exchange, dropSent: { body, index in
            if case .artifactFetch = body { return index == 1 || (12...15).contains(index) }
            return false
        }, dropReply: { body, index in
            if case .artifactData = body { return index == 4 }
            return false
        })
        defer { pump.stop() }
        let url = try Self.fastFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: cache, via: pump.link,
                                             cancellation: TrialCancellation())
        #expect(try Data(contentsOf: url) == Data(u.bytes))
    }

    @Test func aDownloadLeftByAnEarlierRunIsContinued() throws {
        let u = try Upload(size: 3 * Self.mib, seed: 23)
        defer { u.folder.remove() }
        try u.storeDirectly()
        let cache = try u.cache()
        try Data(u.bytes[0..<(Self.mib + 10)]).write(to: cache.incomingURL(for: u.hash))
        let pump = Pump(u.exchange)
        defer { pump.stop() }
        let url = try Self.patientFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: cache, via: pump.link,
                                             cancellation: TrialCancellation())
        #expect(try Data(contentsOf: url) == Data(u.bytes))
        #expect(pump.sent("artifact_fetch") == 2)
    }

    @Test func spoiledDataIsFetchedOnceMoreThenRefused() throws {
        let u = try Upload(size: 2 * Self.mib, seed: 24)
        defer { u.folder.remove() }
        try u.storeDirectly()
        let cache = try u.cache()
        let once = Pump(u.exchange, dropReply: { body, index in
            if case var .artifactData(data) = body, index == 1 {
                data.data[9] ^= 0x80
                body = .artifactData(data)
            }
            return false
        })
        let url = try Self.patientFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: cache, via: once.link,
                                             cancellation: TrialCancellation())
        once.stop()
        #expect(try Data(contentsOf: url) == Data(u.bytes))
        #expect(once.sent("artifact_fetch") == 4)

        let v = try Upload(size: Self.mib / 2, seed: 25)
        defer { v.folder.remove() }
        try v.storeDirectly()
        let always = Pump(v.exchange, dropReply: { body, _ in
            if case var .artifactData(data) = body, !data.data.isEmpty {
                data.data[0] ^= 1
                body = .artifactData(data)
            }
            return false
        })
        defer { always.stop() }
        let spoiledCache = try v.cache()
        #expect {
            try Self.patientFetcher.fetch(v.ref, trialId: "measure-b", attempt: 2, into: spoiledCache, via: always.link,
                                       cancellation: TrialCancellation())
        } throws: { error in
            guard case let .hashMismatch(_, attempts, _)? = error as? ArtifactTransferError else { return false }
            return attempts == 2
        }
        #expect(!FileManager.default.fileExists(atPath: spoiledCache.incomingURL(for: v.hash).path))
        #expect(spoiledCache.entries.isEmpty)
    }

    @Test func aFetchOfAnUnknownArtifactThrows() throws {
        let u = try Upload(size: 1000, seed: 26)
        defer { u.folder.remove() }
        let pump = Pump(u.exchange)
        defer { pump.stop() }
        #expect {
            try Self.fastFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: try u.cache(), via: pump.link,
                                       cancellation: TrialCancellation())
        } throws: { error in
            guard case let .refused(sha, reason, _)? = error as? ArtifactTransferError else { return false }
            return sha == u.hash.hex && reason == .unknownArtifact
        }
    }

    @Test func aCancelledFetchStopsPromptly() throws {
        let u = try Upload(size: 2 * Self.mib, seed: 27)
        defer { u.folder.remove() }
        try u.storeDirectly()
        let pump = Pump(u.exchange, dropSent: { _, _ in true })
        defer { pump.stop() }
        let cancellation = TrialCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel("stopping") }
        #expect(throws: ArtifactTransferError.cancelled(sha256: u.hash.hex, reason: "stopping")) {
            try Self.fastFetcher.fetch(u.ref, trialId: "measure-b", attempt: 2, into: try u.cache(), via: pump.link,
                                       cancellation: cancellation)
        }
    }

    // MARK: The link

    @Test func theLinkRoutesRepliesByArtifactAndWakesItsLoop() throws {
        let link = ArtifactTransferLink()
        let woken = StoredLog()
        link.attach(wakeUp: { woken.record(.init(sha256: "", size: 0, trialId: "", agentId: "")) })
        link.send(.heartbeat(.init()))
        #expect(woken.all.count == 1)
        #expect(link.takeOutgoing().count == 1 && link.takeOutgoing().isEmpty)

        var a = WireArtifactChunkAck(); a.sha256 = "a"
        var b = WireArtifactData(); b.sha256 = "b"
        var reject = WireReject(); reject.sha256 = "a"
        #expect(ArtifactTransferLink.isTransferReply(.artifactChunkAck(a)) && ArtifactTransferLink.isTransferReply(.reject(reject)))
        #expect(!ArtifactTransferLink.isTransferReply(.reject(WireReject())) && !ArtifactTransferLink.isTransferReply(.heartbeat(.init())))
        link.deliver(.artifactChunkAck(a))
        link.deliver(.artifactData(b))
        link.deliver(.reject(reject))
        #expect(link.receive(about: "b", timeout: 0) == .artifactData(b))
        #expect(link.receive(about: "b", timeout: 0.05) == nil)
        link.discardInbox(about: "a")
        #expect(link.receive(timeout: 0) == nil)
    }
}
