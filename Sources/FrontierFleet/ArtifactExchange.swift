import Foundation
import FrontierArtifacts
import FrontierSweep
import FrontierWire

/// The coordinator's half of artifact transfers: turns one agent message (ArtifactOffer,
/// ArtifactChunk, ArtifactFetch) into the replies for that agent, calling `ArtifactStore` for the
/// bytes. It holds no state of its own between messages — where an upload stands is the store's
/// partial file — so a reconnect, a coordinator restart or a lost reply only ever costs a resend.
///
/// Permission is asked of the caller before every message (the scheduler knows the leases): a
/// lease lost in the middle of an upload or a download stops it at the next chunk. A completed
/// upload is reported in `Outcome.stored` only after `ArtifactStore.complete` returned, i.e. once
/// the file is verified and durable; the caller records it (the SQLite row) before it sends the
/// replies, so an agent told `stored` can rely on it.
///
/// Memory: one chunk at a time (at most `WireProtocol.maxArtifactChunkBytes` in either
/// direction); a file is never read whole. Every refusal is a Reject carrying the trial id, the
/// hash and a detail a person can act on.
///
/// `Sendable`: nothing here changes after `init`; the store serialises its own calls per hash.
public final class ArtifactExchange: Sendable {
    /// An upload that completed and was verified (or an offer of an artifact already stored,
    /// which is reported again so that a crash between `complete` and the caller's record of it
    /// cannot leave a stored file that nothing refers to: recording must be idempotent).
    public struct Stored: Sendable, Equatable {
        public var sha256: String
        public var size: Int64
        public var trialId: String
        public var agentId: String

        public init(sha256: String, size: Int64, trialId: String, agentId: String) {
            self.sha256 = sha256
            self.size = size
            self.trialId = trialId
            self.agentId = agentId
        }
    }

    /// What to do after one message: send `replies` to the peer that sent it (in order), record
    /// `stored` first when there is one, and log `log`.
    public struct Outcome: Sendable {
        public var replies: [WireEnvelope] = []
        public var stored: Stored?
        public var log: [String] = []

        public init(replies: [WireEnvelope] = [], stored: Stored? = nil, log: [String] = []) {
            self.replies = replies
            self.stored = stored
            self.log = log
        }
    }

    public typealias UploadPermission = (_ peer: Data, _ trialId: String, _ attempt: UInt32) -> ArtifactPermission
    public typealias FetchPermission = (_ peer: Data, _ trialId: String, _ attempt: UInt32, _ sha256: String) -> ArtifactPermission

    public let store: ArtifactStore
    /// The largest artifact accepted (an offer or chunk declaring more is refused with
    /// ARTIFACT_TOO_LARGE, naming this limit).
    public let maximumArtifactBytes: Int64

    public init(store: ArtifactStore, maximumArtifactBytes: Int64) {
        self.store = store
        self.maximumArtifactBytes = maximumArtifactBytes
    }

    /// Opens (making if needed) the store under `root`, with the same limit as the exchange.
    public convenience init(root: URL, maximumArtifactBytes: Int64) throws {
        var settings = ArtifactStore.Settings()
        settings.maximumArtifactSize = maximumArtifactBytes
        self.init(store: try ArtifactStore(root: root, settings: settings), maximumArtifactBytes: maximumArtifactBytes)
    }

    /// Whether `body` is one the exchange answers (the coordinator hands these here, not to the
    /// scheduler).
    public static func handles(_ body: WireEnvelope.OneOf_Body?) -> Bool {
        switch body {
        case .artifactOffer, .artifactChunk, .artifactFetch: return true
        default: return false
        }
    }

    /// Answers one artifact message from `peer`. A body the exchange does not handle is answered
    /// with nothing (the caller routes by `handles`).
    public func handle(peer: Data, body: WireEnvelope.OneOf_Body, mayUpload: UploadPermission,
                       mayFetch: FetchPermission) -> Outcome {
        switch body {
        case let .artifactOffer(offer): return handleOffer(offer, peer: peer, mayUpload: mayUpload)
        case let .artifactChunk(chunk): return handleChunk(chunk, peer: peer, mayUpload: mayUpload)
        case let .artifactFetch(fetch): return handleFetch(fetch, peer: peer, mayFetch: mayFetch)
        default: return Outcome()
        }
    }

    // MARK: Uploads

    private func handleOffer(_ offer: WireArtifactOffer, peer: Data, mayUpload: UploadPermission) -> Outcome {
        let trialId = offer.trialID
        let refuse = { (reason: WireReject.Reason, detail: String) in
            Self.refusal(reason, detail, trialId: trialId, sha256: offer.sha256)
        }
        guard let hash = try? ArtifactHash(hex: offer.sha256) else {
            return refuse(.unknownArtifact, Self.invalidHashDetail(offer.sha256, what: "offer"))
        }
        let agentId: String
        switch mayUpload(peer, trialId, offer.attempt) {
        case let .allowed(id): agentId = id
        case let .refused(reason, detail): return refuse(reason, "upload of artifact \(hash) for \(trialId) refused: \(detail)")
        }
        let size = Int64(clamping: offer.size)
        if let tooLarge = tooLarge(size, hash: hash, trialId: trialId) { return refuse(.artifactTooLarge, tooLarge) }

        do {
            if store.contains(hash) {
                let storedSize = try store.size(of: hash)
                guard storedSize == size else {
                    return refuse(.artifactHashMismatch,
                                  "artifact \(hash) is stored with \(storedSize) bytes, but the offer for \(trialId) says \(size): "
                                  + "the file offered cannot have this hash")
                }
                return Outcome(replies: [Self.resume(trialId: trialId, hash: hash, offset: UInt64(size), stored: true)],
                               stored: Stored(sha256: hash.hex, size: size, trialId: trialId, agentId: agentId),
                               log: ["artifact \(hash) (\(size) bytes) for \(trialId) from \(agentId): already stored"])
            }
            let offset = try store.resumeOffset(for: hash)
            if offset > size {
                // A partial left by an upload that declared a larger size cannot be this file.
                try store.discardPartial(hash)
                return Outcome(replies: [Self.resume(trialId: trialId, hash: hash, offset: 0, stored: false)],
                               log: ["artifact \(hash) for \(trialId): discarded a partial of \(offset) bytes, longer than the offered \(size)"])
            }
            if offset == size {
                // Every byte is here but the upload never completed (the completing chunk's reply
                // was lost to a restart, or the file is empty): complete it now.
                return complete(hash, size: size, trialId: trialId, agentId: agentId, reply: { stored in
                    Self.resume(trialId: trialId, hash: hash, offset: UInt64(size), stored: stored)
                })
            }
            var outcome = Outcome(replies: [Self.resume(trialId: trialId, hash: hash, offset: UInt64(offset), stored: false)])
            outcome.log.append(offset == 0
                ? "artifact \(hash) (\(size) bytes) for \(trialId) from \(agentId): upload starts"
                : "artifact \(hash) (\(size) bytes) for \(trialId) from \(agentId): upload resumes at \(offset)")
            return outcome
        } catch {
            return failure(error, doing: "answering the offer of artifact \(hash) for \(trialId)", trialId: trialId, hash: hash)
        }
    }

    private func handleChunk(_ chunk: WireArtifactChunk, peer: Data, mayUpload: UploadPermission) -> Outcome {
        let trialId = chunk.trialID
        let refuse = { (reason: WireReject.Reason, detail: String) in
            Self.refusal(reason, detail, trialId: trialId, sha256: chunk.sha256)
        }
        guard let hash = try? ArtifactHash(hex: chunk.sha256) else {
            return refuse(.unknownArtifact, Self.invalidHashDetail(chunk.sha256, what: "chunk"))
        }
        let agentId: String
        switch mayUpload(peer, trialId, chunk.attempt) {
        case let .allowed(id): agentId = id
        case let .refused(reason, detail): return refuse(reason, "upload of artifact \(hash) for \(trialId) stopped: \(detail)")
        }
        let size = Int64(clamping: chunk.size)
        if let tooLarge = tooLarge(size, hash: hash, trialId: trialId) { return refuse(.artifactTooLarge, tooLarge) }
        guard chunk.data.count <= WireProtocol.maxArtifactChunkBytes else {
            return refuse(.frameTooLarge, "a chunk of artifact \(hash) carries \(chunk.data.count) bytes; "
                          + "the most one chunk may carry is \(WireProtocol.maxArtifactChunkBytes)")
        }
        let offset = Int64(clamping: chunk.offset)
        do {
            if store.contains(hash) {
                // A chunk arriving after the upload completed (a resend whose ack crossed it).
                return Outcome(replies: [Self.chunkAck(trialId: trialId, hash: hash, next: UInt64(size), stored: true)])
            }
            let end: Int64
            do {
                end = try store.append(hash, offset: offset, bytes: chunk.data, declaredSize: size)
            } catch let ArtifactError.offsetMismatch(_, expected, _) {
                // Nothing written: the agent resends from where the file stands.
                return Outcome(replies: [Self.chunkAck(trialId: trialId, hash: hash, next: UInt64(expected), stored: false)])
            } catch let error as ArtifactError {
                if case .exceedsDeclaredSize = error {
                    return refuse(.malformed, "\(error) (trial \(trialId)); offer it again")
                }
                if case .exceedsMaximumSize = error { return refuse(.artifactTooLarge, "\(error)") }
                throw error
            }
            guard end == size else {
                return Outcome(replies: [Self.chunkAck(trialId: trialId, hash: hash, next: UInt64(end), stored: false)])
            }
            return complete(hash, size: size, trialId: trialId, agentId: agentId, reply: { stored in
                Self.chunkAck(trialId: trialId, hash: hash, next: UInt64(size), stored: stored)
            })
        } catch {
            return failure(error, doing: "writing a chunk of artifact \(hash) for \(trialId) at offset \(offset)",
                           trialId: trialId, hash: hash)
        }
    }

    /// Verifies and keeps the whole upload; `reply(true)` is the answer that tells the agent so.
    private func complete(_ hash: ArtifactHash, size: Int64, trialId: String, agentId: String,
                          reply: (Bool) -> WireEnvelope) -> Outcome {
        do {
            try store.complete(hash, declaredSize: size)
        } catch let error as ArtifactError {
            switch error {
            case .hashMismatch, .sizeMismatch:
                // The store deleted the partial: the agent starts again from 0.
                var outcome = Self.refusal(.artifactHashMismatch, "upload of artifact \(hash) for \(trialId): \(error)",
                                           trialId: trialId, sha256: hash.hex)
                outcome.log.append("artifact \(hash) for \(trialId) from \(agentId): \(error)")
                return outcome
            default:
                return failure(error, doing: "completing artifact \(hash) for \(trialId)", trialId: trialId, hash: hash)
            }
        } catch {
            return failure(error, doing: "completing artifact \(hash) for \(trialId)", trialId: trialId, hash: hash)
        }
        return Outcome(replies: [reply(true)], stored: Stored(sha256: hash.hex, size: size, trialId: trialId, agentId: agentId),
                       log: ["artifact \(hash) (\(size) bytes) for \(trialId) from \(agentId): stored"])
    }

    // MARK: Downloads

    private func handleFetch(_ fetch: WireArtifactFetch, peer: Data, mayFetch: FetchPermission) -> Outcome {
        let trialId = fetch.trialID
        let refuse = { (reason: WireReject.Reason, detail: String) in
            Self.refusal(reason, detail, trialId: trialId, sha256: fetch.sha256)
        }
        guard let hash = try? ArtifactHash(hex: fetch.sha256) else {
            return refuse(.unknownArtifact, Self.invalidHashDetail(fetch.sha256, what: "fetch"))
        }
        // Permission before existence, so that a peer without a lease learns nothing of the store.
        if case let .refused(reason, detail) = mayFetch(peer, trialId, fetch.attempt, hash.hex) {
            return refuse(reason, "fetch of artifact \(hash) for \(trialId) refused: \(detail)")
        }
        guard store.contains(hash) else {
            return refuse(.unknownArtifact, "artifact \(hash) is not stored on this coordinator (fetch for \(trialId))")
        }
        let offset = Int64(clamping: fetch.offset)
        let wanted = fetch.maxBytes == 0 ? WireProtocol.maxArtifactChunkBytes
                                         : min(Int(fetch.maxBytes), WireProtocol.maxArtifactChunkBytes)
        do {
            let size = try store.size(of: hash)
            guard offset <= size else {
                return refuse(.malformed, "fetch of artifact \(hash) for \(trialId) at offset \(offset), past its end (\(size) bytes)")
            }
            var data = WireArtifactData()
            data.trialID = trialId
            data.sha256 = hash.hex
            data.offset = UInt64(offset)
            data.size = UInt64(size)
            data.data = try store.readChunk(hash, offset: offset, maxBytes: wanted)
            return Outcome(replies: [WireEnvelope(.artifactData(data))])
        } catch ArtifactError.notFound {
            return refuse(.unknownArtifact, "artifact \(hash) is not stored on this coordinator (fetch for \(trialId))")
        } catch {
            return failure(error, doing: "reading artifact \(hash) for \(trialId) at offset \(offset)", trialId: trialId, hash: hash)
        }
    }

    // MARK: Replies

    private func tooLarge(_ size: Int64, hash: ArtifactHash, trialId: String) -> String? {
        guard size > maximumArtifactBytes else { return nil }
        return "artifact \(hash) for \(trialId) is \(size) bytes; this coordinator accepts artifacts up to "
            + "\(maximumArtifactBytes) bytes (frontier serve's artifact limit)"
    }

    /// A failure of this side (a disk error): logged, and told to the agent as REASON_UNSPECIFIED,
    /// which it treats as "try again later" (the upload's bytes so far are kept).
    private func failure(_ error: Error, doing what: String, trialId: String, hash: ArtifactHash) -> Outcome {
        var outcome = Self.refusal(.unspecified, "the coordinator failed \(what): \(error); try again later",
                                   trialId: trialId, sha256: hash.hex)
        outcome.log.append("artifacts: failed \(what): \(error)")
        return outcome
    }

    static func refusal(_ reason: WireReject.Reason, _ detail: String, trialId: String, sha256: String) -> Outcome {
        var reject = WireReject()
        reject.reason = reason
        reject.detail = detail
        reject.trialID = trialId
        // Echoed (cut short) even when it is not a valid hash: the agent routes a Reject with a
        // hash to its transfer, not to its trial.
        reject.sha256 = sha256.isEmpty ? "-" : String(sha256.prefix(80))
        return Outcome(replies: [WireEnvelope(.reject(reject))])
    }

    private static func invalidHashDetail(_ text: String, what: String) -> String {
        "artifact \(what) names \"\(text.prefix(80))\", which is not an artifact hash (64 lowercase hex digits of SHA-256)"
    }

    static func resume(trialId: String, hash: ArtifactHash, offset: UInt64, stored: Bool) -> WireEnvelope {
        var resume = WireArtifactResume()
        resume.trialID = trialId
        resume.sha256 = hash.hex
        resume.offset = offset
        resume.stored = stored
        return WireEnvelope(.artifactResume(resume))
    }

    static func chunkAck(trialId: String, hash: ArtifactHash, next: UInt64, stored: Bool) -> WireEnvelope {
        var ack = WireArtifactChunkAck()
        ack.trialID = trialId
        ack.sha256 = hash.hex
        ack.nextOffset = next
        ack.stored = stored
        return WireEnvelope(.artifactChunkAck(ack))
    }
}
