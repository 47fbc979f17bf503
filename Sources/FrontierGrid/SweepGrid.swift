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
        points = try expansion.sweepPoints()
        info = expansion.gridInfo
    }
}
