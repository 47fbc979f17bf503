import Foundation
import FrontierMeasurement
import FrontierSupport
import FrontierTechniques

/// A grid expanded into its points, in a deterministic order:
///
///     for repeat in 0..<max(repeats):            // a whole pass before any repeat
///       for task in tasks:                       // as listed
///         for model in models:                   // as listed
///           for variant in variants:             // as listed (variants with fewer repeats drop out)
///             product of the variant's axis groups, first group outermost, values as listed,
///             minus the points an exclude rule matches,
///             then the variant's includes, as listed
///
/// Each configuration becomes a `TrialSpec` and is checked as one (`TechniqueSpec.validate`,
/// `TechniquePipeline.validate`, `TrialSpec.validate`) with errors at the grid line its value
/// came from; only points that survive the exclude rules are checked, so a rule can remove a
/// combination the pipeline refuses.
public struct GridExpansion: Sendable {
    public let name: String
    public let source: String
    public let placement: SweepPlacement
    public let points: [GridPoint]
    /// The training stages the points need, dependencies first (empty without `train` blocks).
    public let stages: [TrainingStage]
    /// Changes when anything a trial would run changes (any point's key or spec, the
    /// placement), not when comments, key order or spellings do: what the coordinator stores
    /// to refuse resuming a sweep with a different grid.
    public let fingerprint: String

    public init(_ grid: GridFile) throws {
        var builder = Builder(grid: grid)
        var expanded = try builder.expand()
        var planner = TrainingStagePlanner(grid: grid)
        try planner.plan(&expanded.points, recipes: expanded.recipes)
        points = BaselinePairing.pair(expanded.points)
        stages = planner.order.map { planner.stages[$0]! }
        name = grid.name
        source = grid.source
        placement = grid.placement
        var digest = GridPoint.FNV1a64()
        digest.add("\(GridPoint.keyScheme)\nplacement=\(grid.placement.rawValue)\n".utf8)
        for point in points {
            digest.add("\(point.key) ".utf8)
            digest.add(try point.specJSON())
            if let stage = point.trainingStage { digest.add(" trained-by \(stage)".utf8) }
            digest.add([0x0A])
        }
        fingerprint = digest.hex
    }

    /// The points as the coordinator's scheduler and store take them.
    public func sweepPoints() throws -> [SweepPoint] { try points.map { try $0.sweepPoint() } }

    public var gridInfo: SweepGridInfo {
        SweepGridInfo(name: name, source: source, placement: placement, fingerprint: fingerprint)
    }
}

extension GridExpansion {
    /// An axis bound to one value for one configuration.
    struct Binding {
        var name: String
        var value: GridNode
    }

    /// One configuration of a variant, decoded and checked.
    struct Configuration {
        var techniques: [TechniqueSpec]
        var settings: GridConverter.Settings
        /// The decoded `train` block; nil without one.
        var training: TrainingRecipe?
    }

    struct Builder {
        let grid: GridFile
        var converter: GridConverter { GridConverter(source: grid.source) }
        /// variant index → configuration index → configuration (product first, then includes).
        var cache: [Int: [Int: Configuration]] = [:]

        init(grid: GridFile) { self.grid = grid }

        mutating func expand() throws -> (points: [GridPoint], recipes: [TrainingRecipe?]) {
            let products = grid.variants.map(Self.product)
            let includes = grid.variants.map { variant in grid.include.filter { $0.variant == variant.name } }
            var matched = Array(repeating: false, count: grid.exclude.count)
            var points: [GridPoint] = []
            var recipes: [TrainingRecipe?] = []
            var seen: [String: Int] = [:]

            func emit(_ point: GridPoint, include: GridFile.Include?, recipe: TrainingRecipe?) throws {
                if let index = seen[point.key] {
                    let other = points[index]
                    if let include {
                        throw GridError(.duplicate, source: grid.source, mark: include.mark, path: include.path,
                                        "this include is already a point of the grid (\(other.label) on \(other.task) with \(other.model.label))")
                    }
                    throw GridError(.duplicate, source: grid.source, mark: nil, path: "",
                                    "points '\(other.label)' and '\(point.label)' have the same key \(point.key); rename one variant")
                }
                seen[point.key] = points.count
                points.append(point)
                recipes.append(recipe)
            }

            let rounds = grid.variants.map(\.repeats).max() ?? 1
            for repeatIndex in 0..<rounds {
                for task in grid.tasks {
                    for model in grid.models {
                        for (v, variant) in grid.variants.enumerated() where repeatIndex < variant.repeats {
                            for (c, bindings) in products[v].enumerated() {
                                var excluded = false
                                for (r, rule) in grid.exclude.enumerated() where Self.matches(rule, task: task, model: model, variant: variant, bindings) {
                                    matched[r] = true
                                    excluded = true
                                }
                                if excluded { continue }
                                let configuration = try self.configuration(variant: v, index: c, bindings)
                                try emit(point(task, model, variant, bindings, configuration, repeatIndex, included: false), include: nil,
                                         recipe: configuration.training)
                            }
                            for (i, include) in includes[v].enumerated() {
                                if let tasks = include.tasks, !tasks.contains(task.name) { continue }
                                if let models = include.models, !models.contains(model.name) { continue }
                                let bindings = variant.axes.map { Binding(name: $0.name, value: include.values[$0.name]!) }
                                let configuration = try self.configuration(variant: v, index: products[v].count + i, bindings)
                                try emit(point(task, model, variant, bindings, configuration, repeatIndex, included: true), include: include,
                                         recipe: configuration.training)
                            }
                        }
                    }
                }
            }
            if let unmatched = matched.firstIndex(of: false) {
                let rule = grid.exclude[unmatched]
                throw GridError(.invalidCombination, source: grid.source, mark: rule.mark, path: rule.path,
                                "this rule matches no point of the grid; check its values against the axes (or remove it)")
            }
            guard !points.isEmpty else {
                throw GridError(.emptyGrid, source: grid.source, mark: grid.exclude.first?.mark, path: grid.exclude.isEmpty ? "" : "exclude",
                                "every point of the grid is excluded")
            }
            return (points, recipes)
        }

        func point(_ task: GridFile.Task, _ model: GridFile.Model, _ variant: GridFile.Variant, _ bindings: [Binding],
                   _ configuration: Configuration, _ repeatIndex: Int, included: Bool) -> GridPoint {
            let axes = bindings.map { GridPoint.AxisValue(name: $0.name, value: $0.value.canonical) }
            let s = configuration.settings
            let spec = TrialSpec(trialId: nil, model: model.path, task: task.name, data: task.data, limit: s.limit, batch: s.batch,
                                 threads: s.threads, maxSeqLen: s.maxSeqLen, gemm: s.gemm, deviceClass: nil,
                                 techniques: configuration.techniques, measurement: s.measurement)
            let label = ([variant.name] + axes.map { "\($0.name)=\($0.value)" }).joined(separator: " ")
            return GridPoint(key: GridPoint.key(task: task.name, model: model.name, variant: variant.name, axes: axes, repeatIndex: repeatIndex),
                             configKey: GridPoint.configKey(task: task.name, model: model.name, variant: variant.name, axes: axes),
                             task: task.name, model: GridPoint.Model(path: model.path, label: model.name), variant: variant.name,
                             axisValues: axes, repeatIndex: repeatIndex, isBaseline: variant.isBaseline, isIncluded: included,
                             label: label, spec: spec)
        }

        /// The variant's axis product: groups (zip groups advance together) in declaration
        /// order, the first outermost; each configuration's bindings in axis declaration order.
        static func product(_ variant: GridFile.Variant) -> [[Binding]] {
            var result: [[Binding]] = [[]]
            for group in variant.groups {
                let count = variant.axis(group[0])!.values.count
                result = result.flatMap { prefix in
                    (0..<count).map { i in prefix + group.map { Binding(name: $0, value: variant.axis($0)!.values[i]) } }
                }
            }
            let order = variant.axes.map(\.name)
            return result.map { bindings in order.compactMap { name in bindings.first { $0.name == name } } }
        }

        static func matches(_ rule: GridFile.Exclude, task: GridFile.Task, model: GridFile.Model, variant: GridFile.Variant,
                            _ bindings: [Binding]) -> Bool {
            if let variants = rule.variants, !variants.contains(variant.name) { return false }
            if let tasks = rule.tasks, !tasks.contains(task.name) { return false }
            if let models = rule.models, !models.contains(model.name) { return false }
            for condition in rule.axes {
                guard let bound = bindings.first(where: { $0.name == condition.axis }) else { return false }
                guard condition.values.contains(where: { $0.matches(bound.value) }) else { return false }
            }
            return true
        }

        mutating func configuration(variant v: Int, index: Int, _ bindings: [Binding]) throws -> Configuration {
            if let cached = cache[v]?[index] { return cached }
            let variant = grid.variants[v]
            do {
                let configuration = try build(variant, bindings)
                cache[v, default: [:]][index] = configuration
                return configuration
            } catch var error as GridError {
                if !bindings.isEmpty {
                    error.message += " (variant '\(variant.name)' with \(bindings.map { "\($0.name)=\($0.value.canonical)" }.joined(separator: ", ")))"
                }
                throw error
            }
        }

        func build(_ variant: GridFile.Variant, _ bindings: [Binding]) throws -> Configuration {
            let values = Dictionary(uniqueKeysWithValues: bindings.map { ($0.name, $0.value) })
            let techniquesPath = GridKeyPath.join(variant.path, "techniques")
            let nodes = variant.techniques.map { Self.substitute($0, values) }
            let techniques = try nodes.enumerated().map { try converter.technique($1, path: GridKeyPath.index(techniquesPath, $0)) }
            do { try TechniquePipeline.validate(techniques) } catch {
                // The pipeline names techniques, not keys: point at the entry it names last
                // (the one listed twice, or listed out of order), else at the list.
                let named = nodes.indices.last { i in
                    techniques[i].name.rawValue != "" && "\(error)".contains(techniques[i].name.rawValue)
                }
                let mark = named.map { nodes[$0].mark } ?? variant.techniques.first?.mark ?? variant.mark
                throw GridError(.invalidCombination, source: grid.source, mark: mark,
                                path: named.map { GridKeyPath.index(techniquesPath, $0) } ?? techniquesPath, "\(error)")
            }
            var layers: [(node: GridNode, path: String)] = []
            if let measurement = grid.measurement { layers.append((Self.substitute(measurement, values), "measurement")) }
            if let measurement = variant.measurement {
                layers.append((Self.substitute(measurement, values), GridKeyPath.join(variant.path, "measurement")))
            }
            let settings = try converter.settings(layers)
            let probe = TrialSpec(model: "-", task: grid.tasks[0].name, data: "-", limit: settings.limit, batch: settings.batch,
                                  threads: settings.threads, maxSeqLen: settings.maxSeqLen, gemm: settings.gemm,
                                  techniques: techniques, measurement: settings.measurement)
            do { try probe.validate() } catch {
                for layer in layers.reversed() {
                    if let located = converter.locate(.badValue, "\(error)", in: layer.node, path: layer.path) { throw located }
                }
                throw GridError(.badValue, source: grid.source, mark: layers.last?.node.mark ?? variant.mark,
                                path: layers.last?.path ?? variant.path, "\(error)")
            }
            return Configuration(techniques: techniques, settings: settings, training: try training(variant, values))
        }

        /// The variant's `train` block with this configuration's axis values, decoded and checked.
        func training(_ variant: GridFile.Variant, _ values: [String: GridNode]) throws -> TrainingRecipe? {
            guard let train = variant.train else { return nil }
            let node = Self.substitute(train, values)
            let path = GridKeyPath.join(variant.path, "train")
            let object = try converter.record(node, GridSchema.train, path: path)
            let recipe: TrainingRecipe
            do {
                recipe = try JSONCoding.decoder.decode(TrainingRecipe.self, from: JSONSerialization.data(withJSONObject: object))
            } catch {
                throw GridError(.wrongType, source: grid.source, mark: node.mark, path: path, "\(error)")
            }
            if let problem = recipe.problem() { throw converter.located(.badValue, problem, in: node, path: path) }
            return recipe
        }

        /// `${axis}` replaced: a scalar that is only the placeholder becomes the axis value
        /// itself (typed, and placed where the value is written, so an error points there);
        /// a placeholder inside other text is replaced by the value's canonical text. Other
        /// `${NAME}` (environment variables in paths) stay.
        static func substitute(_ node: GridNode, _ values: [String: GridNode]) -> GridNode {
            switch node.content {
            case let .scalar(.string(text), _) where text.contains("${"):
                guard let references = try? GridPath.references(in: text) else { return node }
                if references.count == 1, references[0].range == text.startIndex..<text.endIndex, let value = values[references[0].name] {
                    return value
                }
                var out = ""
                var index = text.startIndex
                for reference in references {
                    out += text[index..<reference.range.lowerBound]
                    out += values[reference.name]?.canonical ?? String(text[reference.range])
                    index = reference.range.upperBound
                }
                out += text[index...]
                return GridNode(.scalar(.string(out), text: out), mark: node.mark)
            case .scalar:
                return node
            case let .sequence(items):
                return GridNode(.sequence(items.map { substitute($0, values) }), mark: node.mark)
            case let .mapping(entries):
                return GridNode(.mapping(entries.map { GridNode.Entry(key: $0.key, keyMark: $0.keyMark, value: substitute($0.value, values)) }),
                                mark: node.mark)
            }
        }
    }
}
