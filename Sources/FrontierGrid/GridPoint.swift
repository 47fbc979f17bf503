import Foundation
import FrontierMeasurement
import FrontierSupport

/// One point of an expanded grid: a configuration to measure (once per device class that
/// joins, or once anywhere, as the grid's placement says), with an identity that survives
/// restarts and edits of other parts of the grid.
public struct GridPoint: Sendable, Equatable {
    public struct Model: Sendable, Equatable {
        /// The checkpoint folder as the grid wrote it (`${FRONTIER_SHARED}/models/…`).
        public var path: String
        public var label: String
    }

    public struct AxisValue: Sendable, Equatable {
        public var name: String
        /// `GridNode.canonical`: `0.9`, `int8`, `4`.
        public var value: String
    }

    /// `GridPoint.key(...)` of the identity: 16 hex digits.
    public var key: String
    /// The key without the repeat index: repeats of one configuration share it.
    public var configKey: String
    /// Canonical task name (`SST-2`, `squad`).
    public var task: String
    public var model: Model
    public var variant: String
    /// In the order the variant declares its axes.
    public var axisValues: [AxisValue]
    public var repeatIndex: Int
    public var isBaseline: Bool
    /// Added by an `include` rule rather than the product.
    public var isIncluded: Bool
    /// `magnitude sparsity=0.9`; the variant name alone without axes.
    public var label: String
    /// The trial to run, paths unexpanded, `trialId` nil (the coordinator sets it).
    public var spec: TrialSpec
    /// The training stage whose checkpoint this point measures (its variant's `train` block);
    /// nil: the grid's model as it is.
    public var trainingStage: String?

    public var parameters: [String: String] { Dictionary(uniqueKeysWithValues: axisValues.map { ($0.name, $0.value) }) }

    // MARK: - Identity

    /// The version of the identity scheme below. Keys are how a restarted coordinator finds
    /// the points its store already holds, and how results of two runs are matched, so they
    /// must not change between versions lightly: any change to `identity` or `hash` re-keys
    /// every stored sweep. Bump this (and keep the old scheme readable) only with a migration.
    public static let keyScheme = "frontier-grid-point-v1"

    /// The identity of a point: what it measures, not how the grid happened to be written.
    /// Task canonical, the model's label (not its path: paths differ between machines and
    /// moves), the variant's name, the axis values (canonical, sorted by axis name, so
    /// reordering axes or variants changes nothing), and the repeat index. Each part is
    /// length-prefixed, so no value can forge a separator. Technique parameters that are not
    /// axes are not part of it: editing them is editing the grid, which the store's grid
    /// fingerprint (`GridExpansion.fingerprint`) catches.
    static func identity(task: String, model: String, variant: String, axes: [AxisValue], repeatIndex: Int?) -> String {
        var parts = [keyScheme, "task", task, "model", model, "variant", variant]
        for axis in axes.sorted(by: { $0.name < $1.name }) { parts += ["axis", axis.name, axis.value] }
        if let repeatIndex { parts += ["repeat", String(repeatIndex)] }
        return parts.map { "\($0.utf8.count):\($0)" }.joined(separator: ";")
    }

    /// FNV-1a 64 of the UTF-8 identity, as 16 lower-case hex digits. Not cryptographic: it
    /// names points; expansion checks that no two points of a grid share a key.
    static func hash(_ text: String) -> String {
        var hasher = FNV1a64()
        hasher.add(text.utf8)
        return hasher.hex
    }

    /// 64-bit FNV-1a, fed incrementally (the grid fingerprint hashes every spec without
    /// building one large string).
    struct FNV1a64 {
        private(set) var state: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            for byte in bytes { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }

        var hex: String {
            let digits = String(state, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }

    public static func key(task: String, model: String, variant: String, axes: [AxisValue], repeatIndex: Int) -> String {
        hash(identity(task: task, model: model, variant: variant, axes: axes, repeatIndex: repeatIndex))
    }

    public static func configKey(task: String, model: String, variant: String, axes: [AxisValue]) -> String {
        hash(identity(task: task, model: model, variant: variant, axes: axes, repeatIndex: nil))
    }

    // MARK: - For the coordinator

    /// The spec as the coordinator stores and sends it: compact, keys sorted (the same bytes
    /// for the same spec on every machine).
    public func specJSON() throws -> Data {
        let encoder = JSONCoding.encoder
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(spec)
    }

    public func sweepPoint() throws -> SweepPoint {
        var requirements = TrialRequirements(spec: spec)
        var inputs: [SweepStageInput] = []
        if let trainingStage {
            // Measured on a checkpoint the sweep trains: only an agent that fetches it may run it.
            requirements.features = ["artifacts"]
            inputs = [SweepStageInput(role: "checkpoint", stage: trainingStage)]
        }
        return SweepPoint(key: key, configKey: configKey, label: label, variant: variant, task: task, model: model.label,
                          isBaseline: isBaseline, repeatIndex: repeatIndex, parameters: parameters, specJSON: try specJSON(),
                          requirements: requirements, inputs: inputs)
    }
}
