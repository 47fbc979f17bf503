import Foundation
import FrontierArtifacts
import FrontierMeasurement
import FrontierSupport
import FrontierWire

/// Fetches one artifact (an input of the trial being run) from the coordinator into the agent's
/// `ArtifactCache`, over the agent's connection, from the runner's thread.
///
/// Downloads into `cache.incomingURL(for:)`, keeping `windowChunks` ArtifactFetch requests
/// outstanding and writing each ArtifactData at the end of what is already on disk, hashing as
/// it writes. The coordinator answers requests in order on one connection, so data past the end
/// means an earlier request or answer was lost: the fetcher asks again from its own end, once
/// per offset (the answers already in flight behind the lost one are past the end too). A silence
/// of `replyTimeout` (a reconnect, a restart) re-requests from the same place. A download left in
/// `incoming/` by an earlier run is continued after hashing what it holds.
///
/// At the end the SHA-256 is compared with the reference: a mismatch deletes the download and
/// starts once more from 0 (`hashMismatchRetries`), then throws. `cache.insert` takes the file in
/// (it hashes it again: the cache trusts only what it checked itself).
///
/// The returned file is pinned in the cache (`ArtifactCache.pin`), cached before or not: the
/// caller `unpin`s it when the measurement that uses it ends, so it is not evicted meanwhile.
public struct ArtifactFetcher: Sendable {
    public typealias Settings = ArtifactTransferSettings

    public var settings: Settings
    public var log: @Sendable (String) -> Void

    public init(settings: Settings = .fetches, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.log = log
    }

    /// The artifact `ref` names, from the cache or fetched for `trialId`'s `attempt` (whose
    /// lease lets this agent fetch it); pinned (see above).
    public func fetch(_ ref: WireArtifactRef, trialId: String, attempt: UInt32, into cache: ArtifactCache,
                      via link: ArtifactTransferLink, cancellation: TrialCancellation) throws -> URL {
        let hash: ArtifactHash
        do { hash = try ArtifactHash(hex: ref.sha256) } catch {
            throw ArtifactTransferError.inconsistent(sha256: ref.sha256, detail: "the reference (role \(ref.role)) names no valid hash: \(error)")
        }
        if let cached = try cache.pin(hash) { return cached }
        let size = Int64(clamping: ref.size)
        let destination = cache.incomingURL(for: hash)
        var mismatches = 0
        while true {
            let file = try TransferFile.openForWriting(destination.path)
            let actual = try download(into: file, hash: hash, size: size, trialId: trialId, attempt: attempt, via: link,
                                      cancellation: cancellation)
            if actual == hash.hex { break }
            try? FileManager.default.removeItem(at: destination)
            mismatches += 1
            let detail = "the \(size) bytes fetched hash to \(actual)"
            guard mismatches <= settings.hashMismatchRetries else {
                throw ArtifactTransferError.hashMismatch(sha256: hash.hex, attempts: mismatches, detail: detail)
            }
            log("artifact \(hash) for \(trialId): \(detail); fetching it again from 0")
        }
        // The download hashed the bytes as it wrote them and they matched.
        try cache.insert(hash, from: destination, hashedAs: hash)
        guard let pinned = try cache.pin(hash) else {
            throw ArtifactTransferError.inconsistent(sha256: hash.hex, detail: "inserted into the cache, then not found in it")
        }
        return pinned
    }

    /// Fills `file` up to `size` bytes and returns the hex SHA-256 of its contents.
    private func download(into file: TransferFile, hash: ArtifactHash, size: Int64, trialId: String, attempt: UInt32,
                          via link: ArtifactTransferLink, cancellation: TrialCancellation) throws -> String {
        let hex = hash.hex
        let hasher = BackgroundHasher()
        var written = try file.size()
        if written > size {
            try file.truncate(to: 0)
            written = 0
        }
        // A download left by an earlier run: hash what it holds and continue after it.
        let chunkBytes = max(1, min(settings.chunkBytes, WireProtocol.maxArtifactChunkBytes))
        var offset: Int64 = 0
        while offset < written {
            let data = try file.read(at: offset, count: Int(min(Int64(chunkBytes), written - offset)))
            guard !data.isEmpty else { break }
            hasher.update(data)
            offset += Int64(data.count)
        }
        if written > 0 { log("artifact \(hex) for \(trialId): continuing a download at byte \(written) of \(size)") }
        link.discardInbox(about: hex)
        // What arrives for this artifact after it ended is nobody's.
        defer { link.discardInbox(about: hex) }

        var pace = TransferPace(bytesPerSecond: settings.maxBytesPerSecond)
        let requestBytes = pace.chunkBytes(chunkBytes)
        let window = Int64(max(1, settings.windowChunks)) * Int64(requestBytes)
        /// The next offset to ask for.
        var requested = written
        /// The offset last asked for again after data arrived past the end.
        var askedAgainAt: Int64?
        var lastHeard = MonotonicClock.now()
        var lastProgress = lastHeard
        var lastProblem: String?
        var waiting = false

        while written < size {
            if let reason = cancellation.reason { throw ArtifactTransferError.cancelled(sha256: hex, reason: reason) }
            let now = MonotonicClock.now()
            if now - lastProgress > settings.progressDeadline {
                throw ArtifactTransferError.noProgress(sha256: hex, seconds: now - lastProgress, offset: written, size: size,
                                                       lastProblem: lastProblem)
            }
            while !waiting, requested < size, requested - written < window, pace.mayGoOn() {
                var request = WireArtifactFetch()
                request.trialID = trialId
                request.attempt = attempt
                request.sha256 = hex
                request.offset = UInt64(requested)
                request.maxBytes = UInt32(min(Int64(requestBytes), size - requested))
                link.send(.artifactFetch(request))
                pace.sent(Int(request.maxBytes))
                requested += Int64(request.maxBytes)
            }
            guard let body = link.receive(about: hex, timeout: pace.bytesPerSecond == nil ? settings.pollInterval : 0.01) else {
                // Held back by the pace with nothing asked for: no answer is due.
                if requested == written, requested < size, !pace.mayGoOn() { lastHeard = MonotonicClock.now() }
                if MonotonicClock.now() - lastHeard >= settings.replyTimeout {
                    log("artifact \(hex) for \(trialId): no answer for \(settings.replyTimeout) s at byte \(written) of \(size); asking again")
                    requested = written
                    askedAgainAt = nil
                    waiting = false
                    lastHeard = MonotonicClock.now()
                }
                continue
            }
            lastHeard = MonotonicClock.now()
            switch body {
            case let .artifactData(data) where data.trialID == trialId:
                waiting = false
                guard Int64(clamping: data.size) == size else {
                    throw ArtifactTransferError.inconsistent(
                        sha256: hex, detail: "the coordinator's artifact has \(data.size) bytes, the reference says \(size)")
                }
                let at = Int64(clamping: data.offset)
                if at == written {
                    guard !data.data.isEmpty else {
                        throw ArtifactTransferError.inconsistent(sha256: hex, detail: "the coordinator sent no bytes at offset \(at) of \(size)")
                    }
                    guard at + Int64(data.data.count) <= size else {
                        throw ArtifactTransferError.inconsistent(
                            sha256: hex, detail: "the coordinator sent \(data.data.count) bytes at \(at), past the size \(size)")
                    }
                    try file.write(data.data, at: at)
                    hasher.update(data.data)
                    written += Int64(data.data.count)
                    lastProgress = MonotonicClock.now()
                    requested = max(requested, written)
                } else if at > written, askedAgainAt != written {
                    // The answer for `written` was lost (or its request was): ask again, once.
                    requested = written
                    askedAgainAt = written
                }
            case let .reject(reject) where reject.trialID.isEmpty || reject.trialID == trialId:
                switch reject.reason {
                case .unspecified, .notWelcomed:
                    lastProblem = reject.detail
                    log("artifact \(hex) for \(trialId): \(reject.detail); asking again in \(settings.replyTimeout) s")
                    // Stop asking until the reply timeout asks again from `written`.
                    waiting = true
                default:
                    throw ArtifactTransferError.refused(sha256: hex, reason: reject.reason, detail: reject.detail)
                }
            default:
                continue
            }
        }
        return hasher.finalize().hex
    }
}
