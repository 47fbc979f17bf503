import Foundation
import FrontierEngine
import FrontierSupport
import FrontierTasks
import FrontierTechniques

extension GemmBackend: Codable {}

/// One trial: a model on a task's dev data with compute and measurement settings. The JSON form
/// (snake_case keys) is what `frontier-agent run` reads and what the coordinator will send.
public struct TrialSpec: Codable, Sendable, Equatable {
    /// The coordinator's id for the grid point; free text for a hand-run trial.
    public var trialId: String?
    /// A Hugging Face checkpoint folder.
    public var model: String
    /// A GLUE folder name or `squad`.
    public var task: String
    /// GLUE: the folder holding the task folders; squad: the folder holding dev-v1.1.json.
    public var data: String
    /// First N examples per split (questions for squad).
    public var limit: Int?
    public var batch: Int
    public var threads: Int
    /// Tokens per input, specials included (GLUE default 128; squad windows default 384).
    public var maxSeqLen: Int?
    public var gemm: GemmBackend
    /// Overrides the automatic device class of the fingerprint.
    public var deviceClass: String?
    /// Efficiency techniques, applied in order after the model is loaded.
    public var techniques: [TechniqueSpec]
    public var measurement: MeasurementSettings
    /// The grid's baseline for this trial's task and model, which the agent measures (again,
    /// when its last measurement is stale) so this trial's ratios are paired with one taken on
    /// the same machine close in time. Set by the coordinator; nil for a hand-run trial.
    public var pairedBaseline: PairedBaselinePlan?
    /// Only the timed scenarios, no accuracy pass: a paired baseline re-measurement, whose
    /// metric the baseline trial already reports.
    public var timingOnly: Bool

    public init(trialId: String? = nil, model: String, task: String, data: String, limit: Int? = nil, batch: Int = 32,
                threads: Int = 1, maxSeqLen: Int? = nil, gemm: GemmBackend = .packed, deviceClass: String? = nil,
                techniques: [TechniqueSpec] = [], measurement: MeasurementSettings = MeasurementSettings(),
                pairedBaseline: PairedBaselinePlan? = nil, timingOnly: Bool = false) {
        self.techniques = techniques
        self.trialId = trialId
        self.model = model
        self.task = task
        self.data = data
        self.limit = limit
        self.batch = batch
        self.threads = threads
        self.maxSeqLen = maxSeqLen
        self.gemm = gemm
        self.deviceClass = deviceClass
        self.measurement = measurement
        self.pairedBaseline = pairedBaseline
        self.timingOnly = timingOnly
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case trialId, model, task, data, limit, batch, threads, maxSeqLen, gemm, deviceClass, techniques, measurement,
             pairedBaseline, timingOnly
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trialId = try c.decodeIfPresent(String.self, forKey: .trialId)
        model = try c.decode(String.self, forKey: .model)
        task = try c.decode(String.self, forKey: .task)
        data = try c.decode(String.self, forKey: .data)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? 32
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? 1
        maxSeqLen = try c.decodeIfPresent(Int.self, forKey: .maxSeqLen)
        gemm = try c.decodeIfPresent(GemmBackend.self, forKey: .gemm) ?? .packed
        deviceClass = try c.decodeIfPresent(String.self, forKey: .deviceClass)
        techniques = try c.decodeIfPresent([TechniqueSpec].self, forKey: .techniques) ?? []
        measurement = try c.decodeIfPresent(MeasurementSettings.self, forKey: .measurement) ?? MeasurementSettings()
        pairedBaseline = try c.decodeIfPresent(PairedBaselinePlan.self, forKey: .pairedBaseline)
        timingOnly = try c.decodeIfPresent(Bool.self, forKey: .timingOnly) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(trialId, forKey: .trialId)
        try c.encode(model, forKey: .model)
        try c.encode(task, forKey: .task)
        try c.encode(data, forKey: .data)
        try c.encodeIfPresent(limit, forKey: .limit)
        try c.encode(batch, forKey: .batch)
        try c.encode(threads, forKey: .threads)
        try c.encodeIfPresent(maxSeqLen, forKey: .maxSeqLen)
        try c.encode(gemm, forKey: .gemm)
        try c.encodeIfPresent(deviceClass, forKey: .deviceClass)
        try c.encode(techniques, forKey: .techniques)
        try c.encode(measurement, forKey: .measurement)
        try c.encodeIfPresent(pairedBaseline, forKey: .pairedBaseline)
        // Written only when set, so an ordinary spec reads as it did before the flag existed.
        if timingOnly { try c.encode(timingOnly, forKey: .timingOnly) }
    }

    public var isSquad: Bool { ["squad", "squad1.1", "squad-v1.1"].contains(task.lowercased()) }

    public func validate() throws {
        if let limit, limit < 1 { throw TrialSpecError.invalid("limit must be ≥ 1; got \(limit)") }
        guard batch >= 1 else { throw TrialSpecError.invalid("batch must be ≥ 1; got \(batch)") }
        guard threads >= 1 else { throw TrialSpecError.invalid("threads must be ≥ 1; got \(threads)") }
        if let maxSeqLen, maxSeqLen < 3 { throw TrialSpecError.invalid("max_seq_len must be ≥ 3 ([CLS], a token, [SEP]); got \(maxSeqLen)") }
        if !isSquad, GlueTask(name: task) == nil {
            throw TrialSpecError.invalid("unknown task '\(task)' (supported: \(TaskRegistry.benchmarkTasks.joined(separator: ", ")), squad)")
        }
        try measurement.validate()
        if let pairedBaseline {
            guard pairedBaseline.spec.pairedBaseline == nil else { throw TrialSpecError.invalid("paired_baseline.spec must not itself name a paired baseline") }
            guard pairedBaseline.spec.model == model, pairedBaseline.spec.task == task else {
                throw TrialSpecError.invalid("paired_baseline.spec must run the same model and task (\(model), \(task)); got \(pairedBaseline.spec.model), \(pairedBaseline.spec.task)")
            }
            do { try pairedBaseline.spec.validate() } catch { throw TrialSpecError.invalid("paired_baseline.spec: \(error)") }
        }
        do { try TechniquePipeline.validate(techniques) } catch { throw TrialSpecError.invalid("techniques: \(error)") }
    }

    /// `max_seq_len`, or the cap a `max-seq-len` technique sets.
    public var effectiveMaxSeqLen: Int? {
        techniques.first { $0.name == .maxSeqLen }?.tokens ?? maxSeqLen
    }

    /// Parses a spec, naming the file and the offending key: unknown keys are errors (a typo
    /// such as `min_duraton_s` would otherwise silently measure with the default).
    public static func decode(_ data: Data, source: String) throws -> TrialSpec {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TrialSpecError.malformed(source: source, detail: JSONErrorText.describe(error, in: data))
        }
        guard let top = object as? [String: Any] else { throw TrialSpecError.malformed(source: source, detail: "the top level must be a JSON object") }
        try rejectUnknown(top, known: CodingKeys.allCases.map(\.rawValue), at: "", source: source)
        if let techniques = top["techniques"] as? [Any] {
            for (index, entry) in techniques.enumerated() {
                guard let object = entry as? [String: Any] else { throw TrialSpecError.malformed(source: source, detail: "techniques[\(index)] must be an object") }
                try rejectUnknown(object, known: TechniqueSpec.CodingKeys.allCases.map(\.rawValue), at: "techniques[\(index)].", source: source)
            }
        }
        if let measurement = top["measurement"] as? [String: Any] {
            try rejectUnknown(measurement, known: MeasurementSettings.CodingKeys.allCases.map(\.rawValue), at: "measurement.", source: source)
            if let energy = measurement["energy"] as? [String: Any] {
                try rejectUnknown(energy, known: EnergySettings.CodingKeys.allCases.map(\.rawValue), at: "measurement.energy.", source: source)
            }
            if let interference = measurement["interference"] as? [String: Any] {
                try rejectUnknown(interference, known: InterferenceSettings.CodingKeys.allCases.map(\.rawValue),
                                  at: "measurement.interference.", source: source)
            }
            if let paired = measurement["paired_baseline"] as? [String: Any] {
                try rejectUnknown(paired, known: PairedBaselineSettings.CodingKeys.allCases.map(\.rawValue),
                                  at: "measurement.paired_baseline.", source: source)
            }
        }
        let spec: TrialSpec
        do { spec = try JSONCoding.decoder.decode(TrialSpec.self, from: data) } catch let error as DecodingError {
            throw TrialSpecError.malformed(source: source, detail: JSONErrorText.describe(error))
        }
        do { try spec.validate() } catch let TrialSpecError.invalid(detail) {
            throw TrialSpecError.malformed(source: source, detail: detail)
        }
        return spec
    }

    private static func rejectUnknown(_ object: [String: Any], known camelKeys: [String], at prefix: String, source: String) throws {
        let known = Set(camelKeys.map(JSONCoding.snakeCase))
        for key in object.keys.sorted() where !known.contains(key) {
            throw TrialSpecError.malformed(source: source, detail: "unknown key '\(prefix)\(key)' (known: \(known.sorted().joined(separator: ", ")))")
        }
    }
}

public enum TrialSpecError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case malformed(source: String, detail: String)

    public var description: String {
        switch self {
        case let .invalid(detail): return detail
        case let .malformed(source, detail): return "\(source): \(detail)"
        }
    }
}
