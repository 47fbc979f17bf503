import Foundation
import FrontierEngine
import FrontierSupport

/// The training state of an output folder, `<out>/.training-state/`: `state.json` (the
/// manifest) and `vectors.safetensors` (parameters and AdamW moments as flat F32 tensors).
///
/// Saving never touches the last good state until a complete new one is on disk: the new one
/// is written to `.training-state.next/` (every file flushed, then the folder), the old one is
/// renamed aside to `.training-state.prev/`, the new one renamed into place, and only then is
/// the old one removed. A crash at any point leaves either the old or the new state readable:
/// between the two renames, `load` takes `.prev` back; a `.next` left over is incomplete by
/// construction and is discarded.
public struct TrainingStateStore: Sendable {
    public static let folderName = ".training-state"
    static let manifestFile = "state.json"
    static let vectorsFile = "vectors.safetensors"
    static let vectorsFormat = "frontier-training-state"

    public let output: URL
    public var folder: URL { output.appendingPathComponent(Self.folderName) }
    var next: URL { output.appendingPathComponent(Self.folderName + ".next") }
    var previous: URL { output.appendingPathComponent(Self.folderName + ".prev") }

    public init(output: URL) {
        self.output = output
    }

    /// Whether a state (or one a crash left aside) is there.
    public var exists: Bool {
        let manager = FileManager.default
        return manager.fileExists(atPath: folder.path) || manager.fileExists(atPath: previous.path)
    }

    /// Only the manifest (settings, step, progress), without reading the vectors.
    public func loadManifest() throws -> TrainingState.Manifest? {
        try recoverAside()
        let url = folder.appendingPathComponent(Self.manifestFile)
        guard FileManager.default.fileExists(atPath: folder.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError.checkpoint(path: url.path, detail: "the training state has no readable manifest; remove \(folder.path) (or run with --restart) to start over")
        }
        let manifest: TrainingState.Manifest
        do {
            manifest = try JSONCoding.decoder.decode(TrainingState.Manifest.self, from: data)
        } catch let error as DecodingError {
            throw TrainingError.checkpoint(path: url.path, detail: "not a training state this version reads: \(JSONErrorText.describe(error))")
        }
        guard manifest.format == TrainingState.Manifest.currentFormat else {
            throw TrainingError.checkpoint(path: url.path, detail: "training state format \(manifest.format); this frontier reads format \(TrainingState.Manifest.currentFormat)")
        }
        return manifest
    }

    /// The saved state, or nil when there is none.
    public func load() throws -> TrainingState? {
        guard let manifest = try loadManifest() else { return nil }
        let url = folder.appendingPathComponent(Self.vectorsFile)
        let file = try SafetensorsFile(url: url)
        guard file.metadata["format"] == Self.vectorsFormat, file.metadata["step"] == String(manifest.step) else {
            throw TrainingError.checkpoint(path: url.path, detail: "the vectors are for step \(file.metadata["step"] ?? "?") but the manifest says \(manifest.step)")
        }
        func vector(_ name: String) throws -> [Float] {
            guard let info = file.info(name), info.dtype == .f32, info.shape == [manifest.parameterCount] else {
                throw TrainingError.checkpoint(path: url.path, detail: "'\(name)' is missing or not \(manifest.parameterCount) F32 values")
            }
            return try file.floats(name)
        }
        return TrainingState(manifest: manifest, parameters: try vector("parameters"), firstMoment: try vector("adam_first_moment"),
                             secondMoment: try vector("adam_second_moment"))
    }

    /// Replaces the saved state with `state`, atomically (see the type's comment).
    public func save(_ state: TrainingState) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: next.path) { try manager.removeItem(at: next) }
        try manager.createDirectory(at: next, withIntermediateDirectories: true)
        let n = state.manifest.parameterCount
        precondition(state.parameters.count == n && state.firstMoment.count == n && state.secondMoment.count == n,
                     "TrainingStateStore: vectors of \(state.parameters.count), \(state.firstMoment.count), \(state.secondMoment.count) for \(n) parameters")
        try SafetensorsWriter.write([
            .init(name: "parameters", dtype: .f32, shape: [n], values: state.parameters),
            .init(name: "adam_first_moment", dtype: .f32, shape: [n], values: state.firstMoment),
            .init(name: "adam_second_moment", dtype: .f32, shape: [n], values: state.secondMoment),
        ], metadata: ["format": Self.vectorsFormat, "step": String(state.manifest.step)], to: next.appendingPathComponent(Self.vectorsFile))
        try DurableFiles.write(try JSONCoding.encoder.encode(state.manifest) + Data("\n".utf8), to: next.appendingPathComponent(Self.manifestFile))
        try DurableFiles.syncFolder(next)

        if manager.fileExists(atPath: previous.path) { try manager.removeItem(at: previous) }
        let hadState = manager.fileExists(atPath: folder.path)
        if hadState { try DurableFiles.rename(folder, to: previous) }
        try DurableFiles.rename(next, to: folder)
        try DurableFiles.syncFolder(output)
        if hadState { try manager.removeItem(at: previous) }
    }

    /// Removes the state (after the finished checkpoint is written, or for --restart).
    public func remove() throws {
        let manager = FileManager.default
        for url in [folder, previous, next] where manager.fileExists(atPath: url.path) { try manager.removeItem(at: url) }
        if manager.fileExists(atPath: output.path) { try DurableFiles.syncFolder(output) }
    }

    /// A crash between "old state aside" and "new state in place" leaves only `.prev`: that is
    /// the last good state, so it goes back.
    private func recoverAside() throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: folder.path), manager.fileExists(atPath: previous.path) {
            try DurableFiles.rename(previous, to: folder)
            try DurableFiles.syncFolder(output)
        } else if manager.fileExists(atPath: folder.path), manager.fileExists(atPath: previous.path) {
            try manager.removeItem(at: previous)
        }
    }
}
