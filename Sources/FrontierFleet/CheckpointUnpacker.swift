import Foundation
import FrontierArtifacts
import FrontierMeasurement
import FrontierWire

/// A trained checkpoint as a folder a trial can load: fetched by hash (the transport keeps the
/// archive in the agent's cache) and unpacked once under `WORK/checkpoints/<sha256>`. Unpacking
/// writes a temporary folder and renames it, so a folder under that name is always complete.
public struct CheckpointUnpacker: Sendable {
    public var work: URL
    public init(work: URL) { self.work = work }

    public func folder(for ref: WireArtifactRef, trialId: String, attempt: UInt32, transport: any ArtifactTransport,
                       cancellation: TrialCancellation) throws -> URL {
        let hash = try ArtifactHash(hex: ref.sha256)
        let root = work.appendingPathComponent("checkpoints")
        let folder = root.appendingPathComponent(hash.hex)
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) { return folder }
        let archive = try transport.fetch(ref, trialId: trialId, attempt: attempt, cancellation: cancellation)
        defer { transport.release(ref) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
        try ArtifactArchive.unpack(archive, into: folder)
        return folder
    }
}
