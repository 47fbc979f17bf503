import Foundation

/// One grid point as the coordinator needs it: an identity that survives restarts, what to
/// show, and the spec to send. The spec is held as encoded JSON because the coordinator never
/// looks inside it and 10⁵ of them must stay small.
public struct SweepPoint: Sendable, Equatable {
    public var key: String
    /// The configuration without the repeat index: repeats of one configuration share it.
    public var configKey: String
    public var label: String
    public var variant: String
    public var task: String
    public var model: String
    public var isBaseline: Bool
    public var repeatIndex: Int
    public var parameters: [String: String]
    public var specJSON: Data
    /// What an agent needs to run it (kept beside the point, so the coordinator never parses
    /// 10⁵ specs to schedule them).
    public var requirements: TrialRequirements
    /// Set on a training stage's point (key `stage-KEY`): the stage key. Its spec is the
    /// `TrainingStage` as JSON, and its one trial runs on the class `trainOn` names.
    public var stageKey: String?
    /// A training stage's `train_on`: `any` or a device class.
    public var trainOn: String?
    /// The stages whose checkpoints this point's trial needs, by role: a measurement of a trained
    /// model needs its stage's (`checkpoint`); a stage, the one it starts from (`start`) and the
    /// one whose mask it trains under (`mask`). The trial waits until every one is done.
    public var inputs: [SweepStageInput] = []

    public var isTrainingStage: Bool { stageKey != nil }

    public init(key: String, configKey: String, label: String, variant: String, task: String, model: String,
                isBaseline: Bool, repeatIndex: Int = 0, parameters: [String: String] = [:], specJSON: Data,
                requirements: TrialRequirements? = nil, stageKey: String? = nil, trainOn: String? = nil,
                inputs: [SweepStageInput] = []) {
        self.stageKey = stageKey
        self.trainOn = trainOn
        self.inputs = inputs
        self.key = key
        self.configKey = configKey
        self.label = label
        self.variant = variant
        self.task = task
        self.model = model
        self.isBaseline = isBaseline
        self.repeatIndex = repeatIndex
        self.parameters = parameters
        self.specJSON = specJSON
        self.requirements = requirements ?? TrialRequirements(task: task)
    }

    /// The trial id of this point on one device class. Stable, readable, and unique because
    /// point keys and device class names never contain `@`.
    public func trialId(deviceClass: String) -> String { "\(key)@\(deviceClass)" }

    /// The point key of training stage `stage`.
    public static func stagePointKey(_ stage: String) -> String { "stage-\(stage)" }
}

/// A stage whose checkpoint a trial needs, and what the trial does with it.
public struct SweepStageInput: Sendable, Equatable, Codable {
    /// `checkpoint` (measure it), `start` (train from it), `mask` (train under its mask).
    public var role: String
    public var stage: String
    public init(role: String, stage: String) {
        self.role = role
        self.stage = stage
    }
}

/// Where a grid point is measured.
public enum SweepPlacement: String, Codable, Sendable, CaseIterable {
    /// Once on each device class that joins: the point of comparing hardware.
    case everyDeviceClass = "every-device-class"
    /// Once, on whichever agent is free first.
    case any

    /// The device class name under which `any` trials are kept.
    public static let anyClass = "any"

    /// The class a training stage's trial is kept under: `train` for `train_on: any`, else
    /// `train:CLASS`. Agents may not take these names as their device class.
    public static func trainingClass(trainOn: String) -> String { trainOn == anyClass ? "train" : "train:\(trainOn)" }

    public static func isTrainingClass(_ name: String) -> Bool { name == "train" || name.hasPrefix("train:") }
}
