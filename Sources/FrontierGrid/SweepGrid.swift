import Foundation
import FrontierSupport

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
        points = try expansion.stages.map(Self.stagePoint) + expansion.sweepPoints()
        info = expansion.gridInfo
    }

    /// A training stage as the scheduler takes it: a point of its own (key `stage-KEY`) whose
    /// spec is the stage, run once on the class its `train_on` names, after the stages it
    /// starts from.
    static func stagePoint(_ stage: TrainingStage) throws -> SweepPoint {
        var inputs: [SweepStageInput] = []
        if case let .stage(from) = stage.start { inputs.append(SweepStageInput(role: "start", stage: from)) }
        if let mask = stage.maskStage { inputs.append(SweepStageInput(role: "mask", stage: mask)) }
        let model: String
        if case let .model(label) = stage.start { model = label } else { model = "" }
        let key = SweepPoint.stagePointKey(stage.key)
        return SweepPoint(key: key, configKey: key, label: stage.label, variant: stage.variants.joined(separator: ","),
                          task: stage.task, model: model, isBaseline: false, specJSON: try JSONCoding.encoder.encode(stage),
                          requirements: TrialRequirements(task: TrialRequirements.listedTask(stage.task), features: ["training"]),
                          stageKey: stage.key, trainOn: stage.trainOn, inputs: inputs)
    }
}
