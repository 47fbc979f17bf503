import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTechniques

/// The expected shape of the parts of a grid that become a `TrialSpec` (a technique, the
/// measurement settings), checked on the positioned YAML tree before anything is decoded, so a
/// wrong type or an unknown key is reported at its line and column with the key path. What
/// passes is converted to the JSON form `TrialSpec` decodes, and decoded by the same `Codable`
/// code as a spec file: the defaults live in one place.
indirect enum GridSchema: Sendable {
    case string
    case integer
    case number
    case bool
    case oneOf([String])
    /// The value, or null for "the default".
    case optional(GridSchema)
    case list(GridSchema)
    /// A mapping with free keys (head-pruning's `heads`: layer → head indices).
    case dictionary(GridSchema)
    /// A mapping with these keys only, each optional.
    case record([String: GridSchema])

    var phrase: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .number: return "a number"
        case .bool: return "true or false"
        case let .oneOf(values): return "one of \(values.joined(separator: ", "))"
        case let .optional(inner): return "\(inner.phrase) or null"
        case let .list(inner): return "a list of \(inner.phrase.replacingOccurrences(of: "^an? ", with: "", options: .regularExpression))s"
        case .dictionary, .record: return "a mapping"
        }
    }

    // MARK: The schemas

    /// One entry of a variant's `techniques` (the keys of `TechniqueSpec`, snake_case).
    static let technique: [String: GridSchema] = [
        "name": .oneOf(TechniqueSpec.Name.allCases.map(\.rawValue)),
        "sparsity": .number,
        "scope": .oneOf(MagnitudePruning.Scope.allCases.map(\.rawValue)),
        "mask": .string,
        "save_mask": .string,
        "kernel": .oneOf(TechniqueSpec.SparseKernel.allCases.map(\.rawValue)),
        "per_layer": .integer,
        "heads": .dictionary(.list(.integer)),
        "calibration_examples": .integer,
        "fraction": .number,
        "blocks": .list(.integer),
        "keep": .integer,
        "strategy": .oneOf(LayerDropping.Strategy.allCases.map(\.rawValue)),
        "entropy": .number,
        "train_examples": .integer,
        "keep_fraction": .number,
        "from_layer": .integer,
        "mode": .oneOf(TechniqueSpec.QuantizationMode.allCases.map(\.rawValue)),
        "tokens": .integer,
    ]

    /// `TrialSpec` fields a grid sets in its `measurement` block beside `MeasurementSettings`.
    static let trialKeys: Set<String> = ["batch", "threads", "limit", "max_seq_len", "gemm"]

    /// A grid's (or a variant's) `measurement` block.
    static let measurement: [String: GridSchema] = [
        "batch": .integer,
        "threads": .integer,
        "limit": .optional(.integer),
        "max_seq_len": .optional(.integer),
        "gemm": .oneOf(GemmBackend.allCases.map(\.rawValue)),
        "scenarios": .list(.oneOf(MeasurementSettings.Scenario.allCases.map(\.rawValue))),
        "min_duration_s": .number,
        "min_queries": .integer,
        "single_stream_min_queries": .integer,
        "warmup_queries": .integer,
        "max_duration_s": .number,
        "idle_baseline_s": .number,
        "timeout_s": .number,
        "memory_limit_mb": .optional(.number),
        "energy": .record([
            "meter": .oneOf(EnergyMeterChoice.allCases.map(\.rawValue)),
            "sysfs_root": .string,
            "nvml_library": .string,
            "poll_interval_s": .number,
            "estimate": .record(["watts_per_core": .number, "idle_watts": .number]),
        ]),
        "interference": .record([
            "max_other_cpu_cores": .number,
            "max_steal_fraction": .number,
            "max_remeasures": .integer,
            "remeasure_delay_s": .number,
        ]),
        "paired_baseline": .record(["enabled": .bool, "every_trials": .integer, "every_minutes": .number]),
    ]

    /// A variant's `train` block: fine-tune (and, with `imp`, prune iteratively) before the
    /// variant's points are measured on the result (`TrainingStage`).
    static let train: [String: GridSchema] = [
        "regime": .string,
        "epochs": .integer,
        "lr": .number,
        "batch": .integer,
        "max_seq_len": .integer,
        "warmup_ratio": .number,
        "weight_decay": .number,
        "seed": .integer,
        "threads": .integer,
        "limit": .optional(.integer),
        "dropout": .optional(.number),
        "train_on": .string,
        "imp": .record([
            "sparsity": .number,
            "per_round": .number,
            "of": .oneOf(TrainingRecipe.Imp.Basis.allCases.map(\.rawValue)),
            "rewind_step": .integer,
            "pooler": .oneOf(TrainingRecipe.Imp.Pooler.allCases.map(\.rawValue)),
        ]),
        "prune": .record([
            "ffn": .number,
            "keep_layers": .integer,
            "layer_strategy": .oneOf(["bottom", "top", "alternate"]),
            "sparsity": .number,
        ]),
        "from": .string,
        "mask_from": .string,
        "mask_task": .string,
    ]

    /// Keys whose values are paths: a `${NAME}` in them that is not an axis is an environment
    /// variable, left for the agent to expand.
    static let pathKeys: Set<String> = ["mask", "save_mask", "sysfs_root", "nvml_library"]
}

/// Checks a positioned YAML value against a schema and converts it to the JSON value
/// (`Int`, `Double`, `String`, `Bool`, `NSNull`, arrays, dictionaries) `JSONCoding.decoder` reads.
struct GridConverter {
    let source: String
    /// Before axis values are substituted: a string holding `${…}` stands for any value.
    var tolerantOfPlaceholders = false

    func error(_ kind: GridError.Kind, _ node: GridNode, _ path: String, _ message: String) -> GridError {
        GridError(kind, source: source, mark: node.mark, path: path, message)
    }

    func wrongType(_ node: GridNode, _ path: String, expected: String) -> GridError {
        var got = node.quoted
        if case let .string(text) = node.scalar, Double(text) != nil || ["true", "false"].contains(text) { got += " (quoted, so a string)" }
        return error(.wrongType, node, path, "expected \(expected), got \(got)")
    }

    func json(_ node: GridNode, _ schema: GridSchema, path: String) throws -> Any {
        if tolerantOfPlaceholders, case let .string(text) = node.scalar, text.contains("${") { return NSNull() }
        switch schema {
        case .string:
            guard let text = node.text else { throw wrongType(node, path, expected: schema.phrase) }
            return text
        case .integer:
            guard case let .integer(int) = node.scalar else { throw wrongType(node, path, expected: schema.phrase) }
            return int
        case .number:
            switch node.scalar {
            case let .integer(int): return Double(int)
            case let .number(double):
                guard double.isFinite else { throw error(.badValue, node, path, "expected a finite number, got \(node.quoted)") }
                return double
            default: throw wrongType(node, path, expected: schema.phrase)
            }
        case .bool:
            guard case let .bool(bool) = node.scalar else { throw wrongType(node, path, expected: schema.phrase) }
            return bool
        case let .oneOf(values):
            guard let text = node.text else { throw wrongType(node, path, expected: schema.phrase) }
            guard values.contains(text) else {
                var message = "expected one of \(values.joined(separator: ", ")); got \(node.quoted)"
                if let near = GridSuggestion.nearest(text, in: values) { message += " (did you mean '\(near)'?)" }
                throw error(.badValue, node, path, message)
            }
            return text
        case let .optional(inner):
            if case .null = node.scalar { return NSNull() }
            return try json(node, inner, path: path)
        case let .list(inner):
            guard let items = node.items else { throw wrongType(node, path, expected: schema.phrase) }
            return try items.enumerated().map { try json($1, inner, path: "\(path)[\($0)]") }
        case let .dictionary(inner):
            guard let entries = node.entries else { throw wrongType(node, path, expected: schema.phrase) }
            var out: [String: Any] = [:]
            for entry in entries { out[entry.key] = try json(entry.value, inner, path: GridKeyPath.join(path, entry.key)) }
            return out
        case let .record(fields):
            return try record(node, fields, path: path)
        }
    }

    func record(_ node: GridNode, _ fields: [String: GridSchema], path: String) throws -> [String: Any] {
        guard let entries = node.entries else { throw wrongType(node, path, expected: "a mapping") }
        var out: [String: Any] = [:]
        for entry in entries {
            guard let schema = fields[entry.key] else { throw unknownKey(entry, known: fields.keys, path: path) }
            out[entry.key] = try json(entry.value, schema, path: GridKeyPath.join(path, entry.key))
        }
        return out
    }

    func unknownKey(_ entry: GridNode.Entry, known: some Collection<String>, path: String) -> GridError {
        let sorted = known.sorted()
        var message = "unknown key '\(entry.key)'"
        if let near = GridSuggestion.nearest(entry.key, in: sorted) { message += " (did you mean '\(near)'?)" }
        message += "; known keys: \(sorted.joined(separator: ", "))"
        return GridError(.unknownKey, source: source, mark: entry.keyMark, path: path, message)
    }

    // MARK: Into TrialSpec parts

    /// A technique entry's keys and types, and that its technique takes each key given.
    @discardableResult
    func checkTechnique(_ node: GridNode, path: String) throws -> [String: Any] {
        let object = try record(node, GridSchema.technique, path: path)
        guard let nameNode = node["name"] else {
            throw error(.missingKey, node, path, "missing key 'name' (one of \(TechniqueSpec.Name.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let name = nameNode.text.flatMap(TechniqueSpec.Name.init(rawValue:)) else { return object }  // a placeholder
        let allowed = Set((TechniqueSpec.keys[name] ?? []).map { JSONCoding.snakeCase($0.rawValue) })
        for entry in node.entries ?? [] where entry.key != "name" && !allowed.contains(entry.key) {
            throw GridError(.unknownKey, source: source, mark: entry.keyMark, path: GridKeyPath.join(path, entry.key),
                            "\(name.rawValue) does not take '\(entry.key)' (it takes \(allowed.sorted().joined(separator: ", ")))")
        }
        return object
    }

    /// A technique entry, decoded and checked on its own (`TechniqueSpec.validate`), its
    /// message placed at the key it names.
    func technique(_ node: GridNode, path: String) throws -> TechniqueSpec {
        let object = try checkTechnique(node, path: path)
        let spec: TechniqueSpec
        do {
            spec = try JSONCoding.decoder.decode(TechniqueSpec.self, from: JSONSerialization.data(withJSONObject: object))
        } catch {
            throw self.error(.wrongType, node, path, "\(error)")
        }
        do { try spec.validate() } catch {
            throw located(.badValue, "\(error)", in: node, path: path)
        }
        return spec
    }

    /// The trial-level settings a `measurement` block gives.
    struct Settings: Equatable {
        var batch = 32
        var threads = 1
        var limit: Int?
        var maxSeqLen: Int?
        var gemm = GemmBackend.packed
        var measurement = MeasurementSettings()
    }

    /// The settings of `measurement` blocks laid over each other, later ones winning key by
    /// key (`energy` and `energy.estimate` merged key by key too).
    func settings(_ layers: [(node: GridNode, path: String)]) throws -> Settings {
        var object: [String: Any] = [:]
        for layer in layers { object = Self.merge(object, try record(layer.node, GridSchema.measurement, path: layer.path)) }
        var settings = Settings()
        if let batch = object.removeValue(forKey: "batch") as? Int { settings.batch = batch }
        if let threads = object.removeValue(forKey: "threads") as? Int { settings.threads = threads }
        settings.limit = object.removeValue(forKey: "limit") as? Int
        settings.maxSeqLen = object.removeValue(forKey: "max_seq_len") as? Int
        if let gemm = (object.removeValue(forKey: "gemm") as? String).flatMap(GemmBackend.init(rawValue:)) { settings.gemm = gemm }
        object = object.filter { !($0.value is NSNull) }
        do {
            settings.measurement = try JSONCoding.decoder.decode(MeasurementSettings.self, from: JSONSerialization.data(withJSONObject: object))
        } catch {
            let last = layers.last
            throw GridError(.wrongType, source: source, mark: last?.node.mark, path: last?.path ?? "measurement", "\(error)")
        }
        return settings
    }

    static func merge(_ base: [String: Any], _ top: [String: Any]) -> [String: Any] {
        var out = base
        for (key, value) in top {
            if let inner = value as? [String: Any], let under = out[key] as? [String: Any] {
                out[key] = merge(under, inner)
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// An error from a validation message, placed at the key of `node` (or of a mapping inside
    /// it) that the message names first, else at `node` itself.
    func located(_ kind: GridError.Kind, _ message: String, in node: GridNode, path: String) -> GridError {
        locate(kind, message, in: node, path: path) ?? GridError(kind, source: source, mark: node.mark, path: path, message)
    }

    /// The error at the key of `node` that `message` names first (the longer key on a tie),
    /// or nil when it names none.
    func locate(_ kind: GridError.Kind, _ message: String, in node: GridNode, path: String) -> GridError? {
        var best: (offset: Int, length: Int, mark: GridMark, path: String)?
        func visit(_ node: GridNode, _ path: String) {
            for entry in node.entries ?? [] {
                let entryPath = GridKeyPath.join(path, entry.key)
                if let offset = GridSuggestion.wordOffset(of: entry.key, in: message) {
                    if best == nil || offset < best!.offset || (offset == best!.offset && entry.key.count > best!.length) {
                        best = (offset, entry.key.count, entry.value.mark, entryPath)
                    }
                }
                visit(entry.value, entryPath)
            }
        }
        visit(node, path)
        return best.map { GridError(kind, source: source, mark: $0.mark, path: $0.path, message) }
    }
}

/// Key paths as errors print them: `variants[1].techniques[0].sparsity`.
enum GridKeyPath {
    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }
}

/// "Did you mean" for misspelt keys and choices, and finding a key named in a message.
enum GridSuggestion {
    /// The closest candidate within an edit distance of a third of the word (at least 1),
    /// case ignored.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let limit = max(1, word.count / 3)
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }.filter { $0.1 <= limit }
        return scored.min { $0.1 < $1.1 }?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Where `word` first occurs in `text` as a whole word (neighbours not letters, digits or `_`).
    static func wordOffset(of word: String, in text: String) -> Int? {
        func isWordCharacter(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        var searchStart = text.startIndex
        while let range = text.range(of: word, range: searchStart..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !(before.map(isWordCharacter) ?? false), !(after.map(isWordCharacter) ?? false) {
                return text.distance(from: text.startIndex, to: range.lowerBound)
            }
            searchStart = range.upperBound
        }
        return nil
    }
}
