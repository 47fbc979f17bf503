import Foundation
import FrontierArtifacts
import FrontierMeasurement
import FrontierWire

/// The agent's artifact transport: uploads and fetches on its own connection, through the
/// mailbox its socket loop serves (`ArtifactTransferLink`), with fetched archives kept in a
/// size-limited LRU cache (`ArtifactCache`) so an agent measuring many variants of one trained
/// model fetches it once.
public struct LinkArtifactTransport: ArtifactTransport {
    public let link: ArtifactTransferLink
    public let cache: ArtifactCache
    public var uploader: ArtifactUploader
    public var fetcher: ArtifactFetcher

    public init(link: ArtifactTransferLink, cache: ArtifactCache, bytesPerSecond: Double? = nil,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.link = link
        self.cache = cache
        var uploads = ArtifactTransferSettings.uploads, fetches = ArtifactTransferSettings.fetches
        uploads.maxBytesPerSecond = bytesPerSecond
        fetches.maxBytesPerSecond = bytesPerSecond
        uploader = ArtifactUploader(settings: uploads, log: log)
        fetcher = ArtifactFetcher(settings: fetches, log: log)
    }

    public func upload(file: URL, hash: ArtifactHash, size: Int64, trialId: String, attempt: UInt32,
                       cancellation: TrialCancellation) throws {
        try uploader.upload(file: file, sha256: hash, size: size, trialId: trialId, attempt: attempt, via: link,
                            cancellation: cancellation)
    }

    public func fetch(_ ref: WireArtifactRef, trialId: String, attempt: UInt32, cancellation: TrialCancellation) throws -> URL {
        try fetcher.fetch(ref, trialId: trialId, attempt: attempt, into: cache, via: link, cancellation: cancellation)
    }

    public func release(_ ref: WireArtifactRef) {
        if let hash = try? ArtifactHash(hex: ref.sha256) { cache.unpin(hash) }
    }
}
