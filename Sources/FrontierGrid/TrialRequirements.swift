import Foundation
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierTechniques

/// What an agent must be able to do to run a trial, derived once from its spec: the task,
/// the techniques, the kernels a technique cannot run without, and the memory the spec
/// allows the worker. The scheduler compares it with each agent's `Capabilities` and hands
/// a trial only to an agent that has all of it.
public struct TrialRequirements: Sendable, Hashable, Codable {
    /// Lower case, as `Capabilities.tasks` spells it.
    public var task: String
    public var techniques: [String]
    public var kernels: [String]
    public var memoryBytes: UInt64?
    /// Protocol features (`Capabilities.features`): `training` for a training stage,
    /// `artifacts` for a measurement of a trained model.
    public var features: [String]

    public init(task: String, techniques: [String] = [], kernels: [String] = [], memoryBytes: UInt64? = nil,
                features: [String] = []) {
        self.task = task.lowercased()
        self.techniques = Array(Set(techniques)).sorted()
        self.kernels = Array(Set(kernels)).sorted()
        self.memoryBytes = memoryBytes
        self.features = Array(Set(features)).sorted()
    }

    public init(spec: TrialSpec) {
        var kernels: [String] = []
        for t in spec.techniques {
            if t.name == .quantization, let mode = t.mode { kernels.append(mode.rawValue) }
            // `auto` falls back to dense where sparse is not faster; only `always` insists.
            if t.name == .magnitudePruning, t.kernel == .always { kernels.append("sparse") }
        }
        let task = Self.listedTask(spec.task)
        self.init(task: task, techniques: spec.techniques.map(\.name.rawValue),
                  kernels: kernels, memoryBytes: spec.memoryBytesLimit)
    }

    /// The task as agents list it: GLUE's folder name (`sst2` and `SST-2` are one task).
    public static func listedTask(_ task: String) -> String {
        ["squad", "squad1.1", "squad-v1.1"].contains(task.lowercased()) ? "squad" : (GlueTask(name: task)?.folderName ?? task)
    }

    /// From a stored spec; a spec that does not decode needs only its task (the agent's own
    /// check then fails the trial with the reason, as before).
    public init(specJSON: Data, task: String) {
        if let spec = try? JSONCoding.decoder.decode(TrialSpec.self, from: specJSON) {
            self.init(spec: spec)
        } else {
            self.init(task: task)
        }
    }

    /// A stable text form: the key the scheduler groups trials by, and what the store keeps.
    /// Four parts, or five with features (stores written before features had four).
    public var signature: String {
        let base = "\(task)|\(techniques.joined(separator: ","))|\(kernels.joined(separator: ","))|\(memoryBytes.map(String.init) ?? "")"
        return features.isEmpty ? base : base + "|" + features.joined(separator: ",")
    }

    public init?(signature: String) {
        let parts = signature.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 || parts.count == 5, !parts[0].isEmpty else { return nil }
        func list(_ s: String) -> [String] { s.split(separator: ",").map(String.init) }
        self.init(task: parts[0], techniques: list(parts[1]), kernels: list(parts[2]), memoryBytes: UInt64(parts[3]),
                  features: parts.count == 5 ? list(parts[4]) : [])
    }
}

extension TrialSpec {
    var memoryBytesLimit: UInt64? {
        guard let mb = measurement.memoryLimitMb, mb.isFinite, mb > 0 else { return nil }
        return UInt64(mb * 1_048_576)
    }
}
