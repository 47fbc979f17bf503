import Foundation
import FrontierArtifacts
import FrontierMeasurement
import FrontierSupport
import FrontierWire

/// Uploads one artifact (a training stage's packed checkpoint) to the coordinator over the
/// agent's connection, from the runner's thread.
///
/// The protocol is the coordinator's (`ArtifactExchange`): an ArtifactOffer is answered with
/// the offset to send from (or `stored`); chunks go out in order, up to `windowChunks` of them
/// unacknowledged, each ChunkAck saying where the coordinator's file stands. The coordinator's
/// offset is the only truth: a lost chunk shows as an ack that does not advance, and the uploader
/// resends from the offset it names (once per offset: the acks of the chunks already in flight
/// behind the lost one all name it too); a silence of `replyTimeout` — a lost reply, a reconnect,
/// a coordinator restart — is answered by offering again, which resumes from whatever the
/// coordinator kept. The file is read chunk by chunk, at the offset asked for.
///
/// Ends: `stored` (in a Resume or an Ack) returns. ARTIFACT_HASH_MISMATCH starts again from 0
/// up to `hashMismatchRetries` times. A Reject the coordinator means as "not now" (REASON_UNSPECIFIED
/// for its own disk trouble, NOT_WELCOMED after its restart, until the agent said Hello again)
/// waits a `replyTimeout` and offers again. Any other Reject (ARTIFACT_TOO_LARGE,
/// NOT_LEASE_HOLDER, LEASE_EXPIRED, …), a cancellation, or `progressDeadline` seconds in which
/// the coordinator's offset did not advance, throw an `ArtifactTransferError`.
public struct ArtifactUploader: Sendable {
    public typealias Settings = ArtifactTransferSettings

    public var settings: Settings
    public var log: @Sendable (String) -> Void

    public init(settings: Settings = .uploads, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.log = log
    }

    /// Uploads `file` (`size` bytes hashing to `sha256`) as the output of `trialId`'s `attempt`;
    /// returns once the coordinator says the artifact is stored (verified and durable).
    public func upload(file: URL, sha256: ArtifactHash, size: Int64, trialId: String, attempt: UInt32,
                       via link: ArtifactTransferLink, cancellation: TrialCancellation) throws {
        let hex = sha256.hex
        let source = try TransferFile.openForReading(file.path)
        let actualSize = try source.size()
        guard actualSize == size else {
            throw ArtifactTransferError.localFile(path: file.path, detail: "is \(actualSize) bytes, but the upload was asked for \(size)")
        }
        var pace = TransferPace(bytesPerSecond: settings.maxBytesPerSecond)
        let chunkBytes = pace.chunkBytes(max(1, min(settings.chunkBytes, WireProtocol.maxArtifactChunkBytes)))
        let window = Int64(max(1, settings.windowChunks)) * Int64(chunkBytes)
        link.discardInbox(about: hex)
        // What arrives for this artifact after it ended is nobody's.
        defer { link.discardInbox(about: hex) }

        /// Where the coordinator's file stands, as last heard.
        var acknowledged: Int64 = 0
        /// The next byte to send; nil while waiting for the answer to an offer.
        var next: Int64?
        /// The offset last resent from after an ack that did not advance.
        var resentFrom: Int64?
        var mismatches = 0
        var lastHeard = MonotonicClock.now()
        var lastProgress = lastHeard
        var lastProblem: String?

        func offer() {
            var message = WireArtifactOffer()
            message.trialID = trialId
            message.attempt = attempt
            message.sha256 = hex
            message.size = UInt64(size)
            link.send(.artifactOffer(message))
            next = nil
            resentFrom = nil
            lastHeard = MonotonicClock.now()
        }

        func advance(to offset: Int64) {
            if offset > acknowledged { lastProgress = MonotonicClock.now() }
            acknowledged = offset
        }

        offer()
        while true {
            if let reason = cancellation.reason { throw ArtifactTransferError.cancelled(sha256: hex, reason: reason) }
            let now = MonotonicClock.now()
            if now - lastProgress > settings.progressDeadline {
                throw ArtifactTransferError.noProgress(sha256: hex, seconds: now - lastProgress, offset: acknowledged, size: size,
                                                       lastProblem: lastProblem)
            }
            if var sending = next {
                while sending < size, sending - acknowledged < window, pace.mayGoOn() {
                    let data = try source.read(at: sending, count: Int(min(Int64(chunkBytes), size - sending)))
                    guard !data.isEmpty else {
                        throw ArtifactTransferError.localFile(path: file.path, detail: "ended at byte \(sending) of \(size) while uploading")
                    }
                    var chunk = WireArtifactChunk()
                    chunk.trialID = trialId
                    chunk.attempt = attempt
                    chunk.sha256 = hex
                    chunk.offset = UInt64(sending)
                    chunk.size = UInt64(size)
                    chunk.data = data
                    link.send(.artifactChunk(chunk))
                    pace.sent(data.count)
                    sending += Int64(data.count)
                }
                next = sending
            }
            guard let body = link.receive(about: hex, timeout: pace.bytesPerSecond == nil ? settings.pollInterval : 0.01) else {
                // Held back by the pace with nothing in flight: no answer is due.
                if let sent = next, sent == acknowledged, sent < size, !pace.mayGoOn() { lastHeard = MonotonicClock.now() }
                if MonotonicClock.now() - lastHeard >= settings.replyTimeout {
                    log("artifact \(hex) for \(trialId): no answer for \(settings.replyTimeout) s at byte \(acknowledged) of \(size); offering again")
                    offer()
                }
                continue
            }
            lastHeard = MonotonicClock.now()
            switch body {
            case let .artifactResume(resume) where resume.trialID == trialId:
                if resume.stored { return }
                let offset = Int64(clamping: resume.offset)
                guard offset <= size else {
                    throw ArtifactTransferError.inconsistent(sha256: hex, detail: "the coordinator resumes at \(offset), past the size \(size)")
                }
                if offset > 0, offset < size {
                    log("artifact \(hex) for \(trialId): the coordinator holds \(offset) of \(size) bytes; resuming there")
                }
                advance(to: offset)
                next = offset
                resentFrom = nil
            case let .artifactChunkAck(ack) where ack.trialID == trialId:
                if ack.stored { return }
                // An ack that arrives while an offer is unanswered belongs to chunks sent before it.
                guard let sending = next else { continue }
                let offset = Int64(clamping: ack.nextOffset)
                if offset > acknowledged {
                    advance(to: offset)
                    next = max(sending, offset)
                } else if offset < sending, resentFrom != offset {
                    // A chunk was lost (or the coordinator restarted and kept less): resend from
                    // where it stands, once; the acks of chunks still in flight name it again.
                    advance(to: offset)
                    next = offset
                    resentFrom = offset
                }
            case let .reject(reject) where reject.trialID.isEmpty || reject.trialID == trialId:
                switch reject.reason {
                case .artifactHashMismatch:
                    mismatches += 1
                    guard mismatches <= settings.hashMismatchRetries else {
                        throw ArtifactTransferError.hashMismatch(sha256: hex, attempts: mismatches, detail: reject.detail)
                    }
                    log("artifact \(hex) for \(trialId): \(reject.detail); uploading again from 0")
                    acknowledged = 0
                    lastProgress = MonotonicClock.now()
                    offer()
                case .unspecified, .notWelcomed:
                    // Not now: wait out a reply timeout, then offer again.
                    lastProblem = reject.detail
                    log("artifact \(hex) for \(trialId): \(reject.detail); offering again in \(settings.replyTimeout) s")
                    next = nil
                default:
                    throw ArtifactTransferError.refused(sha256: hex, reason: reject.reason, detail: reject.detail)
                }
            default:
                continue
            }
        }
    }
}
