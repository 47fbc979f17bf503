import Foundation
import Testing
@testable import FrontierArtifacts
@testable import FrontierFleet
@testable import FrontierSweep
@testable import FrontierWire

/// The coordinator's artifact protocol, one message at a time against a real `ArtifactStore`
/// in a temporary folder: uploads (happy, resumed, at a wrong offset, not hashing to their name,
/// too large, refused), and fetches (unknown, refused, streamed).
@Suite struct ArtifactExchangeTests {
    static let peer = Data("agent-a/1:1".utf8)
    static let mib = 1 << 20

    /// An exchange over a fresh store, and what its upload permission recorded.
    struct Fixture {
        let folder: ArtifactTestFolder
        let exchange: ArtifactExchange

        init(maximum: Int64 = 64 << 20) throws {
            folder = try ArtifactTestFolder("exchange")
            exchange = try ArtifactExchange(root: folder("artifacts"), maximumArtifactBytes: maximum)
        }

        func handle(_ body: WireEnvelope.OneOf_Body, upload: ArtifactPermission = .allowed(agentId: "agent-a"),
                    fetch: ArtifactPermission = .allowed(agentId: "agent-a")) -> ArtifactExchange.Outcome {
            exchange.handle(peer: ArtifactExchangeTests.peer, body: body, mayUpload: { _, _, _ in upload },
                            mayFetch: { _, _, _, _ in fetch })
        }
    }

    static func offer(_ hash: String, size: Int, trial: String = "stage-a@train") -> WireEnvelope.OneOf_Body {
        var m = WireArtifactOffer()
        m.trialID = trial
        m.attempt = 1
        m.sha256 = hash
        m.size = UInt64(size)
        return .artifactOffer(m)
    }

    static func chunk(_ hash: String, _ bytes: [UInt8], from offset: Int, length: Int, size: Int? = nil,
                      trial: String = "stage-a@train") -> WireEnvelope.OneOf_Body {
        var m = WireArtifactChunk()
        m.trialID = trial
        m.attempt = 1
        m.sha256 = hash
        m.offset = UInt64(offset)
        m.size = UInt64(size ?? bytes.count)
        m.data = Data(bytes[offset..<min(bytes.count, offset + length)])
        return .artifactChunk(m)
    }

    static func fetch(_ hash: String, offset: Int, maxBytes: Int, trial: String = "measure-b") -> WireEnvelope.OneOf_Body {
        var m = WireArtifactFetch()
        m.trialID = trial
        m.attempt = 2
        m.sha256 = hash
        m.offset = UInt64(offset)
        m.maxBytes = UInt32(maxBytes)
        return .artifactFetch(m)
    }

    /// The one reply of `outcome`, or a failure naming what came instead.
    static func reply(_ outcome: ArtifactExchange.Outcome, sourceLocation: SourceLocation = #_sourceLocation) -> WireEnvelope.OneOf_Body? {
        #expect(outcome.replies.count == 1, "replies: \(outcome.replies.map(\.kind))", sourceLocation: sourceLocation)
        return outcome.replies.first?.body
    }

    static func resume(_ outcome: ArtifactExchange.Outcome, sourceLocation: SourceLocation = #_sourceLocation) -> WireArtifactResume? {
        guard case let .artifactResume(m)? = reply(outcome, sourceLocation: sourceLocation) else {
            Issue.record("expected an artifact_resume, got \(outcome.replies.map(\.kind))", sourceLocation: sourceLocation)
            return nil
        }
        return m
    }

    static func ack(_ outcome: ArtifactExchange.Outcome, sourceLocation: SourceLocation = #_sourceLocation) -> WireArtifactChunkAck? {
        guard case let .artifactChunkAck(m)? = reply(outcome, sourceLocation: sourceLocation) else {
            Issue.record("expected an artifact_chunk_ack, got \(outcome.replies.map(\.kind))", sourceLocation: sourceLocation)
            return nil
        }
        return m
    }

    static func reject(_ outcome: ArtifactExchange.Outcome, sourceLocation: SourceLocation = #_sourceLocation) -> WireReject? {
        guard case let .reject(m)? = reply(outcome, sourceLocation: sourceLocation) else {
            Issue.record("expected a reject, got \(outcome.replies.map(\.kind))", sourceLocation: sourceLocation)
            return nil
        }
        return m
    }

    /// Sends `bytes` in 1 MiB chunks from `start`, expecting an ack for each; returns the last outcome.
    static func send(_ bytes: [UInt8], as hash: String, from start: Int = 0, to fixture: Fixture) -> ArtifactExchange.Outcome {
        var offset = start
        var last = ArtifactExchange.Outcome()
        while offset < bytes.count {
            last = fixture.handle(chunk(hash, bytes, from: offset, length: mib))
            offset = min(bytes.count, offset + mib)
            if offset < bytes.count { #expect(ack(last)?.nextOffset == UInt64(offset)) }
        }
        return last
    }

    // MARK: Uploads

    @Test func anUploadIsOfferedSentInChunksAndStored() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(3 * Self.mib + 12_345, seed: 1)
        let hash = ArtifactFixtures.hash(bytes)
        let offered = f.handle(Self.offer(hash.hex, size: bytes.count))
        #expect(Self.resume(offered) == {
            var m = WireArtifactResume(); m.trialID = "stage-a@train"; m.sha256 = hash.hex; m.offset = 0; return m
        }())
        #expect(offered.stored == nil)

        let last = Self.send(bytes, as: hash.hex, to: f)
        let ack = Self.ack(last)
        #expect(ack?.stored == true && ack?.nextOffset == UInt64(bytes.count))
        #expect(last.stored == ArtifactExchange.Stored(sha256: hash.hex, size: Int64(bytes.count), trialId: "stage-a@train", agentId: "agent-a"))
        #expect(f.exchange.store.contains(hash))
        #expect(try Data(contentsOf: f.exchange.store.url(of: hash)!) == Data(bytes))

        // Offered again (another attempt, or after a lost ack): stored at once, and reported
        // again so that the caller's record cannot be missing.
        let again = f.handle(Self.offer(hash.hex, size: bytes.count, trial: "stage-a@train"))
        #expect(Self.resume(again)?.stored == true)
        #expect(again.stored?.sha256 == hash.hex)
    }

    @Test func aLostChunkIsResentFromTheOffsetTheCoordinatorNames() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(3 * Self.mib, seed: 2)
        let hash = ArtifactFixtures.hash(bytes).hex
        _ = f.handle(Self.offer(hash, size: bytes.count))
        #expect(Self.ack(f.handle(Self.chunk(hash, bytes, from: 0, length: Self.mib)))?.nextOffset == UInt64(Self.mib))
        // The second chunk is lost; the third is not written, and its ack names the gap.
        let third = Self.ack(f.handle(Self.chunk(hash, bytes, from: 2 * Self.mib, length: Self.mib)))
        #expect(third?.nextOffset == UInt64(Self.mib) && third?.stored == false)
        // After a reconnect the offer says the same.
        #expect(Self.resume(f.handle(Self.offer(hash, size: bytes.count)))?.offset == UInt64(Self.mib))
        let last = Self.send(bytes, as: hash, from: Self.mib, to: f)
        #expect(Self.ack(last)?.stored == true)
        #expect(last.stored != nil)
    }

    @Test func aChunkAtAWrongOffsetWritesNothing() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(2 * Self.mib, seed: 3)
        let hash = ArtifactFixtures.hash(bytes)
        _ = f.handle(Self.chunk(hash.hex, bytes, from: 0, length: 1000))
        for wrong in [0, 999, 1001, Self.mib] {
            let ack = Self.ack(f.handle(Self.chunk(hash.hex, bytes, from: wrong, length: 500)))
            #expect(ack?.nextOffset == 1000 && ack?.stored == false)
        }
        #expect(try f.exchange.store.resumeOffset(for: hash) == 1000)
    }

    @Test func bytesThatDoNotHashToTheOfferAreDiscardedAndRefused() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(Self.mib + 7, seed: 4)
        let claimed = ArtifactFixtures.hash(ArtifactFixtures.bytes(Self.mib + 7, seed: 5))
        _ = f.handle(Self.offer(claimed.hex, size: bytes.count))
        let last = Self.send(bytes, as: claimed.hex, to: f)
        let reject = Self.reject(last)
        #expect(reject?.reason == .artifactHashMismatch)
        #expect(reject?.sha256 == claimed.hex && reject?.trialID == "stage-a@train")
        #expect(reject?.detail.contains("send again from 0") == true)
        #expect(last.stored == nil)
        #expect(!f.exchange.store.contains(claimed))
        #expect(Self.resume(f.handle(Self.offer(claimed.hex, size: bytes.count)))?.offset == 0)
    }

    @Test func anArtifactOverTheLimitIsRefusedNamingTheLimit() throws {
        let f = try Fixture(maximum: 1000)
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(1001, seed: 6)
        let hash = ArtifactFixtures.hash(bytes).hex
        for outcome in [f.handle(Self.offer(hash, size: 1001)), f.handle(Self.chunk(hash, bytes, from: 0, length: 10))] {
            let reject = Self.reject(outcome)
            #expect(reject?.reason == .artifactTooLarge)
            #expect(reject?.detail.contains("up to 1000 bytes") == true)
            #expect(reject?.sha256 == hash && reject?.trialID == "stage-a@train")
        }
        #expect(try f.exchange.store.partialUploads().isEmpty)

        // A chunk carrying more than the protocol allows is refused, whatever the artifact's size.
        let big = try Fixture()
        defer { big.folder.remove() }
        let large = ArtifactFixtures.bytes(Self.mib + 1, seed: 7)
        let reject = Self.reject(big.handle(Self.chunk(hash, large, from: 0, length: Self.mib + 1, size: 2 * Self.mib)))
        #expect(reject?.reason == .frameTooLarge)
        #expect(try big.exchange.store.partialUploads().isEmpty)
    }

    @Test func aRefusedPermissionStopsAnUploadAtTheNextMessage() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(2 * Self.mib, seed: 8)
        let hash = ArtifactFixtures.hash(bytes)
        let refused = Self.reject(f.handle(Self.offer(hash.hex, size: bytes.count), upload: .refused(.notLeaseHolder, "trial x is leased to agent-b")))
        #expect(refused?.reason == .notLeaseHolder && refused?.sha256 == hash.hex && refused?.trialID == "stage-a@train")
        #expect(refused?.detail.contains("trial x is leased to agent-b") == true)

        #expect(Self.ack(f.handle(Self.chunk(hash.hex, bytes, from: 0, length: Self.mib)))?.nextOffset == UInt64(Self.mib))
        // The lease expires mid-upload: the next chunk is refused and not written.
        let expired = Self.reject(f.handle(Self.chunk(hash.hex, bytes, from: Self.mib, length: Self.mib),
                                           upload: .refused(.leaseExpired, "the lease expired")))
        #expect(expired?.reason == .leaseExpired)
        #expect(try f.exchange.store.resumeOffset(for: hash) == Int64(Self.mib))
    }

    @Test func aMessageWithoutAValidHashIsRefused() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        for bad in ["", "../../etc/passwd", String(repeating: "A", count: 64)] {
            for body in [Self.offer(bad, size: 10), Self.fetch(bad, offset: 0, maxBytes: 10)] {
                let reject = Self.reject(f.handle(body))
                #expect(reject?.reason == .unknownArtifact)
                #expect(reject?.detail.contains("not an artifact hash") == true)
                #expect(reject?.sha256.isEmpty == false)
            }
        }
    }

    // MARK: Fetches

    @Test func aFetchOfAnUnknownArtifactIsRefused() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let hash = ArtifactFixtures.hash([1, 2, 3]).hex
        let reject = Self.reject(f.handle(Self.fetch(hash, offset: 0, maxBytes: Self.mib)))
        #expect(reject?.reason == .unknownArtifact && reject?.sha256 == hash && reject?.trialID == "measure-b")
        // Without permission the answer is the refusal, not whether the store has it.
        let refused = Self.reject(f.handle(Self.fetch(hash, offset: 0, maxBytes: Self.mib), fetch: .refused(.notLeaseHolder, "no lease")))
        #expect(refused?.reason == .notLeaseHolder)
    }

    @Test func aFetchStreamsTheStoredFileInChunksOfAtMostOneMiB() throws {
        let f = try Fixture()
        defer { f.folder.remove() }
        let bytes = ArtifactFixtures.bytes(2 * Self.mib + 100, seed: 9)
        let hash = ArtifactFixtures.hash(bytes).hex
        _ = Self.send(bytes, as: hash, to: f)
        var received = Data()
        while received.count < bytes.count {
            // Asking for more than 1 MiB gets 1 MiB.
            guard case let .artifactData(data)? = Self.reply(f.handle(Self.fetch(hash, offset: received.count, maxBytes: 4 * Self.mib))) else {
                Issue.record("no artifact_data at \(received.count)")
                return
            }
            #expect(data.offset == UInt64(received.count) && data.size == UInt64(bytes.count))
            #expect(data.sha256 == hash && data.trialID == "measure-b")
            #expect(data.data.count == min(Self.mib, bytes.count - received.count))
            received += data.data
        }
        #expect(received == Data(bytes))
        guard case let .artifactData(end)? = Self.reply(f.handle(Self.fetch(hash, offset: bytes.count, maxBytes: 10))) else {
            Issue.record("no artifact_data at the end")
            return
        }
        #expect(end.data.isEmpty)
        #expect(Self.reject(f.handle(Self.fetch(hash, offset: bytes.count + 1, maxBytes: 10)))?.reason == .malformed)
    }
}
