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

    public init(key: String, configKey: String, label: String, variant: String, task: String, model: String,
                isBaseline: Bool, repeatIndex: Int = 0, parameters: [String: String] = [:], specJSON: Data,
                requirements: TrialRequirements? = nil) {
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
}

/// Where a grid point is measured.
public enum SweepPlacement: String, Codable, Sendable, CaseIterable {
    /// Once on each device class that joins: the point of comparing hardware.
    case everyDeviceClass = "every-device-class"
    /// Once, on whichever agent is free first.
    case any

    /// The device class name under which `any` trials are kept.
    public static let anyClass = "any"
}
