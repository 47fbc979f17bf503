import Foundation

/// A grid file as the coordinator takes it: the store's identity of the grid and its points.
public struct SweepGrid: Sendable {
    public var file: GridFile
    public var info: SweepGridInfo
    public var points: [SweepPoint]

    public static func load(path: String) throws -> SweepGrid {
        var grid = try SweepGrid(file: GridFile.load(path: path))
        // The report's appendix shows the grid as written.
        if let text = try? String(contentsOfFile: path, encoding: .utf8) { grid.info.source = text }
        return grid
    }

    public init(file: GridFile) throws {
        self.file = file
        let expansion = try GridExpansion(file)
        if let trained = file.variants.first(where: { $0.train != nil }) {
            // Measuring these points on the untrained model would be a wrong answer, not a slow one.
            throw GridError(.invalidCombination, source: file.source, mark: trained.train?.mark, path: GridKeyPath.join(trained.path, "train"),
                            "variant '\(trained.name)' has a train block: the grid expands to \(expansion.stages.count) training stage(s), but this coordinator does not schedule training stages yet (train with `frontier-agent finetune` / `imp` and list the checkpoints as models instead)")
        }
        points = try expansion.sweepPoints()
        info = expansion.gridInfo
    }
}
