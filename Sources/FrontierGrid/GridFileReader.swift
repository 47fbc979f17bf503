import Foundation
import FrontierTasks

/// Walks the positioned YAML tree of a grid file into a `GridFile`, checking each key where
/// it is written. Every error names the file, the line and column, and the key path.
struct GridFileReader {
    let source: String
    /// For technique and measurement templates, checked again once axis values are in.
    var converter: GridConverter { GridConverter(source: source, tolerantOfPlaceholders: true) }
    /// For everything else: a `${…}` there is just text.
    var strict: GridConverter { GridConverter(source: source, tolerantOfPlaceholders: false) }

    static let topKeys = ["name", "description", "data_root", "tasks", "models", "repeats", "placement", "measurement",
                          "variants", "include", "exclude"]
    static let variantKeys = ["name", "description", "baseline", "techniques", "axes", "zip", "measurement", "train", "repeats"]
    /// Rule keys that are not axes; no axis may be called so.
    static let reservedAxisNames: Set<String> = ["variant", "task", "model", "repeat"]
    static let squadNames: Set<String> = ["squad", "squad1.1", "squad-v1.1"]

    func error(_ kind: GridError.Kind, _ mark: GridMark?, _ path: String, _ message: String) -> GridError {
        GridError(kind, source: source, mark: mark, path: path, message)
    }

    func read(_ text: String) throws -> GridFile {
        guard let root = try GridNode.compose(text, source: source) else {
            throw error(.emptyGrid, nil, "", "the grid file is empty")
        }
        let top = try mapping(root, "", known: Self.topKeys)

        let name = try top["name"].map { try string($0, "name") } ?? Self.defaultName(source)
        let description = try top["description"].map { try string($0, "description") }
        let dataRoot = try top["data_root"].map { try pathString($0, "data_root") }
        let tasks = try readTasks(required(top, "tasks", in: root), dataRoot: dataRoot, dataRootGiven: top["data_root"] != nil)
        let models = try readModels(required(top, "models", in: root))
        let repeats = try top["repeats"].map { try positiveInteger($0, "repeats") } ?? 1
        var placement = GridFile.Placement.everyDeviceClass
        if let node = top["placement"] {
            let value = try strict.json(node, .oneOf(GridFile.Placement.allCases.map(\.rawValue)), path: "placement")
            placement = GridFile.Placement(rawValue: value as! String)!
        }
        let measurement = top["measurement"]
        if let measurement { _ = try converter.record(measurement, GridSchema.measurement, path: "measurement") }

        let variantsNode = try required(top, "variants", in: root)
        guard let variantItems = variantsNode.items else {
            throw error(.wrongType, variantsNode.mark, "variants", "expected a list of variants, got \(variantsNode.quoted)")
        }
        guard !variantItems.isEmpty else {
            throw error(.emptyGrid, variantsNode.mark, "variants", "no variants: list at least the baseline (`- name: dense` with `techniques: []`)")
        }
        var variants: [GridFile.Variant] = []
        var flagged: [(index: Int, mark: GridMark)] = []
        var declined: Set<Int> = []
        for (index, item) in variantItems.enumerated() {
            let path = GridKeyPath.index("variants", index)
            let (variant, baselineFlag) = try readVariant(item, path: path, gridRepeats: repeats, gridMeasurement: measurement)
            if let previous = variants.first(where: { $0.name == variant.name }) {
                throw error(.duplicate, item["name"]?.mark, GridKeyPath.join(path, "name"),
                            "variant name '\(variant.name)' is also used at \(previous.mark); names must be unique")
            }
            if let flag = baselineFlag {
                if flag.value { flagged.append((index, flag.mark)) } else { declined.insert(index) }
            }
            variants.append(variant)
        }
        try markBaseline(&variants, flagged: flagged, declined: declined, at: variantsNode.mark)
        try checkTrainReferences(variants)

        var grid = GridFile(source: source, name: name, description: description, tasks: tasks, models: models, repeats: repeats,
                            placement: placement, measurement: measurement, variants: variants, include: [], exclude: [])
        if let node = top["include"] {
            grid.include = try list(node, "include").enumerated().map { try readInclude($1, path: GridKeyPath.index("include", $0), grid: grid) }
        }
        if let node = top["exclude"] {
            grid.exclude = try list(node, "exclude").enumerated().map { try readExclude($1, path: GridKeyPath.index("exclude", $0), grid: grid) }
        }
        return grid
    }

    static func defaultName(_ source: String) -> String {
        let base = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        return base.isEmpty ? "grid" : base
    }

    // MARK: - Tasks and models

    func readTasks(_ node: GridNode, dataRoot: String?, dataRootGiven: Bool) throws -> [GridFile.Task] {
        let items = try list(node, "tasks")
        guard !items.isEmpty else { throw error(.emptyGrid, node.mark, "tasks", "no tasks: list at least one (SST-2, …, squad)") }
        var tasks: [GridFile.Task] = []
        for (index, item) in items.enumerated() {
            let path = GridKeyPath.index("tasks", index)
            let nameNode: GridNode
            var data = dataRoot
            if item.entries != nil {
                let entries = try mapping(item, path, known: ["name", "data"])
                nameNode = try required(entries, "name", in: item, path: path)
                if let dataNode = entries["data"] { data = try pathString(dataNode, GridKeyPath.join(path, "data")) }
            } else {
                nameNode = item
            }
            let namePath = item.entries != nil ? GridKeyPath.join(path, "name") : path
            let written = try string(nameNode, namePath)
            let name = try canonicalTask(written, nameNode, namePath)
            guard let data else {
                throw error(.missingKey, item.mark, path,
                            "no data folder for \(name): set data_root, or write the task as {name: \(written), data: FOLDER}")
            }
            if let previous = tasks.first(where: { $0.name == name }) {
                throw error(.duplicate, nameNode.mark, namePath, "task \(name) is also listed at \(previous.mark)")
            }
            tasks.append(GridFile.Task(name: name, data: data, mark: nameNode.mark))
        }
        return tasks
    }

    func canonicalTask(_ written: String, _ node: GridNode, _ path: String) throws -> String {
        if let task = GlueTask(name: written) { return task.folderName }
        if Self.squadNames.contains(written.lowercased()) { return "squad" }
        let known = TaskRegistry.benchmarkTasks + ["squad"]
        var message = "unknown task '\(written)' (supported: \(known.joined(separator: ", ")))"
        if let near = GridSuggestion.nearest(written, in: known) { message += "; did you mean '\(near)'?" }
        throw error(.badValue, node.mark, path, message)
    }

    func readModels(_ node: GridNode) throws -> [GridFile.Model] {
        let items = try list(node, "models")
        guard !items.isEmpty else { throw error(.emptyGrid, node.mark, "models", "no models: list at least one checkpoint folder") }
        var models: [GridFile.Model] = []
        for (index, item) in items.enumerated() {
            let path = GridKeyPath.index("models", index)
            let modelPath: String
            var name: String?
            var nameNode = item
            if item.entries != nil {
                let entries = try mapping(item, path, known: ["path", "name"])
                modelPath = try pathString(required(entries, "path", in: item, path: path), GridKeyPath.join(path, "path"))
                if let node = entries["name"] {
                    name = try string(node, GridKeyPath.join(path, "name"))
                    nameNode = node
                }
            } else {
                modelPath = try pathString(item, path)
            }
            let label = name ?? Self.baseName(modelPath)
            guard !label.isEmpty, !label.contains("${") else {
                throw error(.missingKey, item.mark, path, "give this model a name (`name:`): its path has no plain folder name")
            }
            if let previous = models.first(where: { $0.name == label }) {
                throw error(.duplicate, nameNode.mark, path,
                            "model name '\(label)' is also used at \(previous.mark); give one of them a different `name:`")
            }
            models.append(GridFile.Model(path: modelPath, name: label, mark: item.mark))
        }
        return models
    }

    static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
    }

    // MARK: - Variants

    func readVariant(_ node: GridNode, path: String, gridRepeats: Int,
                     gridMeasurement: GridNode?) throws -> (GridFile.Variant, baseline: (value: Bool, mark: GridMark)?) {
        let entries = try mapping(node, path, known: Self.variantKeys)
        let name = try string(required(entries, "name", in: node, path: path), GridKeyPath.join(path, "name"))
        let description = try entries["description"].map { try string($0, GridKeyPath.join(path, "description")) }
        var baseline: (value: Bool, mark: GridMark)?
        if let flag = entries["baseline"] {
            baseline = (try strict.json(flag, .bool, path: GridKeyPath.join(path, "baseline")) as! Bool, flag.mark)
        }
        let repeats = try entries["repeats"].map { try positiveInteger($0, GridKeyPath.join(path, "repeats")) } ?? gridRepeats

        var techniques: [GridNode] = []
        if let node = entries["techniques"] {
            let techniquesPath = GridKeyPath.join(path, "techniques")
            guard let items = node.items else {
                throw error(.wrongType, node.mark, techniquesPath, "expected a list of techniques ([] for none), got \(node.quoted)")
            }
            for (index, item) in items.enumerated() {
                try converter.checkTechnique(item, path: GridKeyPath.index(techniquesPath, index))
            }
            techniques = items
        }

        var axes: [GridFile.Axis] = []
        if let node = entries["axes"] {
            let axesPath = GridKeyPath.join(path, "axes")
            guard let axisEntries = node.entries else {
                throw error(.wrongType, node.mark, axesPath, "expected a mapping of axis name to values, got \(node.quoted)")
            }
            for entry in axisEntries {
                axes.append(try readAxis(entry, path: GridKeyPath.join(axesPath, entry.key)))
            }
        }

        let measurement = entries["measurement"]
        if let measurement {
            _ = try converter.record(measurement, GridSchema.measurement, path: GridKeyPath.join(path, "measurement"))
        }

        let train = entries["train"]
        if let train { try checkTrain(train, path: GridKeyPath.join(path, "train")) }

        var variant = GridFile.Variant(name: name, description: description, isBaseline: false, techniques: techniques, axes: axes,
                                       zip: [], measurement: measurement, train: train, repeats: repeats, mark: node.mark, path: path)
        if let node = entries["zip"] { variant.zip = try readZip(node, path: GridKeyPath.join(path, "zip"), variant: variant) }
        try checkPlaceholders(variant, gridMeasurement: gridMeasurement)
        return (variant, baseline)
    }

    func readAxis(_ entry: GridNode.Entry, path: String) throws -> GridFile.Axis {
        guard GridPath.isName(Substring(entry.key)) else {
            throw error(.badValue, entry.keyMark, path, "axis names are letters, digits and _, not starting with a digit (they are written ${\(entry.key)})")
        }
        guard !Self.reservedAxisNames.contains(entry.key) else {
            throw error(.badValue, entry.keyMark, path, "'\(entry.key)' is reserved for include/exclude rules; name the axis otherwise")
        }
        let values = try list(entry.value, path)
        guard !values.isEmpty else { throw error(.emptyGrid, entry.value.mark, path, "an axis needs at least one value") }
        for (index, value) in values.enumerated() {
            guard value.scalar != nil else {
                throw error(.wrongType, value.mark, GridKeyPath.index(path, index), "axis values must be scalars (numbers, strings, booleans), got \(value.quoted)")
            }
            if let first = values[..<index].first(where: { $0.matches(value) }) {
                throw error(.duplicate, value.mark, GridKeyPath.index(path, index), "\(value.quoted) is already a value of this axis (at \(first.mark))")
            }
        }
        return GridFile.Axis(name: entry.key, values: values, mark: entry.keyMark)
    }

    func readZip(_ node: GridNode, path: String, variant: GridFile.Variant) throws -> [[String]] {
        let items = try list(node, path)
        // `zip: [a, b]` is one group; `zip: [[a, b], [c, d]]` several.
        let groups: [(node: GridNode, path: String)] = items.allSatisfy({ $0.scalar != nil })
            ? [(node, path)] : items.enumerated().map { ($1, GridKeyPath.index(path, $0)) }
        var seen: [String: String] = [:]
        var out: [[String]] = []
        for (groupNode, groupPath) in groups {
            let members = try list(groupNode, groupPath)
            guard members.count >= 2 else {
                throw error(.invalidCombination, groupNode.mark, groupPath, "a zip group lists at least two axes that advance together")
            }
            var names: [String] = []
            for (index, member) in members.enumerated() {
                let memberPath = GridKeyPath.index(groupPath, index)
                let name = try string(member, memberPath)
                guard variant.axis(name) != nil else {
                    throw error(.badValue, member.mark, memberPath,
                                "'\(name)' is not an axis of variant '\(variant.name)' (axes: \(variant.axes.map(\.name).joined(separator: ", ")))")
                }
                guard seen[name] == nil, !names.contains(name) else {
                    throw error(.duplicate, member.mark, memberPath, "axis '\(name)' is already in a zip group")
                }
                names.append(name)
            }
            let lengths = names.map { variant.axis($0)!.values.count }
            if Set(lengths).count > 1 {
                let detail = zip(names, lengths).map { "\($0) has \($1)" }.joined(separator: ", ")
                throw error(.invalidCombination, groupNode.mark, groupPath, "zipped axes need the same number of values: \(detail)")
            }
            for name in names { seen[name] = groupPath }
            out.append(names)
        }
        return out
    }

    /// Every `${name}` in a variant's techniques and measurement is one of its axes (or, in a
    /// path, an environment variable), and every axis is used.
    func checkPlaceholders(_ variant: GridFile.Variant, gridMeasurement: GridNode?) throws {
        var used: Set<String> = []
        let axisNames = Set(variant.axes.map(\.name))
        func visit(_ node: GridNode, _ path: String, key: String?) throws {
            switch node.content {
            case let .scalar(.string(text), _) where text.contains("${"):
                let references: [GridPath.Reference]
                do { references = try GridPath.references(in: text) } catch {
                    throw self.error(.badValue, node.mark, path, "\(error)")
                }
                for reference in references {
                    if axisNames.contains(reference.name) {
                        used.insert(reference.name)
                    } else if !(key.map(GridSchema.pathKeys.contains) ?? false) {
                        let axes = variant.axes.isEmpty ? "it has no axes" : "its axes: \(variant.axes.map(\.name).joined(separator: ", "))"
                        throw self.error(.badValue, node.mark, path, "${\(reference.name)} is not an axis of variant '\(variant.name)' (\(axes))")
                    }
                }
            case .scalar: break
            case let .sequence(items):
                for (index, item) in items.enumerated() { try visit(item, GridKeyPath.index(path, index), key: key) }
            case let .mapping(entries):
                for entry in entries { try visit(entry.value, GridKeyPath.join(path, entry.key), key: entry.key) }
            }
        }
        for (index, technique) in variant.techniques.enumerated() {
            try visit(technique, GridKeyPath.index(GridKeyPath.join(variant.path, "techniques"), index), key: nil)
        }
        if let measurement = variant.measurement { try visit(measurement, GridKeyPath.join(variant.path, "measurement"), key: nil) }
        if let train = variant.train { try visit(train, GridKeyPath.join(variant.path, "train"), key: nil) }
        if let gridMeasurement {
            // Keys the variant overrides do not come from the grid's block.
            let overridden = Set(variant.measurement?.entries?.map(\.key) ?? [])
            for entry in gridMeasurement.entries ?? [] where !overridden.contains(entry.key) {
                try visit(entry.value, GridKeyPath.join("measurement", entry.key), key: entry.key)
            }
        }
        for axis in variant.axes where !used.contains(axis.name) {
            throw error(.invalidCombination, axis.mark, GridKeyPath.join(GridKeyPath.join(variant.path, "axes"), axis.name),
                        "axis '\(axis.name)' is not used: write ${\(axis.name)} in a technique parameter, a measurement setting or the train block of variant '\(variant.name)'")
        }
    }

    /// Exactly one baseline: the variant marked `baseline: true`, else the one variant with no
    /// techniques and no train block (not marked `baseline: false`).
    func markBaseline(_ variants: inout [GridFile.Variant], flagged: [(index: Int, mark: GridMark)], declined: Set<Int>, at mark: GridMark) throws {
        if flagged.count > 1 {
            throw error(.duplicate, flagged[1].mark, GridKeyPath.join(variants[flagged[1].index].path, "baseline"),
                        "variant '\(variants[flagged[0].index].name)' is already the baseline; only one variant can be")
        }
        if let only = flagged.first {
            variants[only.index].isBaseline = true
            return
        }
        // A variant that trains is not the model as it is, even without techniques.
        let plain = variants.indices.filter { variants[$0].techniques.isEmpty && variants[$0].train == nil && !declined.contains($0) }
        guard plain.count == 1 else {
            if plain.isEmpty {
                throw error(.missingKey, mark, "variants",
                            "no baseline: add a variant without techniques (`- name: dense` with `techniques: []`) or mark one `baseline: true`")
            }
            let names = plain.map { "'\(variants[$0].name)'" }.joined(separator: ", ")
            throw error(.invalidCombination, variants[plain[1]].mark, variants[plain[1]].path,
                        "variants \(names) have no techniques: mark the baseline with `baseline: true`")
        }
        variants[plain[0]].isBaseline = true
    }

    // MARK: - Rules

    func readInclude(_ node: GridNode, path: String, grid: GridFile) throws -> GridFile.Include {
        guard node.entries != nil else { throw error(.wrongType, node.mark, path, "expected a mapping such as {variant: NAME, AXIS: VALUE}, got \(node.quoted)") }
        let variantNode = try required(node.entries!, "variant", in: node, path: path)
        let variant = try existingVariant(variantNode, GridKeyPath.join(path, "variant"), grid)
        let known = ["variant", "task", "model"] + variant.axes.map(\.name)
        let entries = try mapping(node, path, known: known)
        var values: [String: GridNode] = [:]
        for axis in variant.axes {
            guard let value = entries[axis.name] else {
                throw error(.missingKey, node.mark, path, "missing key '\(axis.name)': an include gives a value for every axis of variant '\(variant.name)'")
            }
            guard value.scalar != nil else {
                throw error(.wrongType, value.mark, GridKeyPath.join(path, axis.name), "expected one value (a scalar), got \(value.quoted)")
            }
            values[axis.name] = value
        }
        return GridFile.Include(variant: variant.name, tasks: try entries["task"].map { try ruleTasks($0, GridKeyPath.join(path, "task"), grid) },
                                models: try entries["model"].map { try ruleModels($0, GridKeyPath.join(path, "model"), grid) },
                                values: values, mark: node.mark, path: path)
    }

    func readExclude(_ node: GridNode, path: String, grid: GridFile) throws -> GridFile.Exclude {
        guard let entries = node.entries else { throw error(.wrongType, node.mark, path, "expected a mapping such as {variant: NAME, AXIS: VALUE}, got \(node.quoted)") }
        guard !entries.isEmpty else { throw error(.badValue, node.mark, path, "an empty rule would exclude every point") }
        var rule = GridFile.Exclude(variants: nil, tasks: nil, models: nil, axes: [], mark: node.mark, path: path)
        if let variantNode = entries["variant"] {
            let variantPath = GridKeyPath.join(path, "variant")
            rule.variants = try list(variantNode, variantPath).enumerated().map {
                try existingVariant($1, GridKeyPath.index(variantPath, $0), grid).name
            }
        }
        let candidates = rule.variants.map { names in grid.variants.filter { names.contains($0.name) } } ?? grid.variants
        let axisNames = candidates.flatMap { $0.axes.map(\.name) }
        for entry in entries {
            let entryPath = GridKeyPath.join(path, entry.key)
            switch entry.key {
            case "variant": continue
            case "task": rule.tasks = try ruleTasks(entry.value, entryPath, grid)
            case "model": rule.models = try ruleModels(entry.value, entryPath, grid)
            default:
                guard axisNames.contains(entry.key) else {
                    var known = ["variant", "task", "model"]
                    for name in axisNames where !known.contains(name) { known.append(name) }
                    throw converter.unknownKey(entry, known: known, path: path)
                }
                let values = try list(entry.value, entryPath)
                for (index, value) in values.enumerated() where value.scalar == nil {
                    throw error(.wrongType, value.mark, GridKeyPath.index(entryPath, index), "expected a scalar axis value, got \(value.quoted)")
                }
                rule.axes.append(.init(axis: entry.key, values: values))
            }
        }
        return rule
    }

    func existingVariant(_ node: GridNode, _ path: String, _ grid: GridFile) throws -> GridFile.Variant {
        let name = try string(node, path)
        guard let variant = grid.variant(name) else {
            let names = grid.variants.map(\.name)
            var message = "no variant named '\(name)' (variants: \(names.joined(separator: ", ")))"
            if let near = GridSuggestion.nearest(name, in: names) { message += "; did you mean '\(near)'?" }
            throw error(.badValue, node.mark, path, message)
        }
        return variant
    }

    func ruleTasks(_ node: GridNode, _ path: String, _ grid: GridFile) throws -> [String] {
        try list(node, path).enumerated().map { index, item in
            let itemPath = node.items == nil ? path : GridKeyPath.index(path, index)
            let name = try canonicalTask(string(item, itemPath), item, itemPath)
            guard grid.tasks.contains(where: { $0.name == name }) else {
                throw error(.badValue, item.mark, itemPath, "task \(name) is not in this grid's tasks (\(grid.tasks.map(\.name).joined(separator: ", ")))")
            }
            return name
        }
    }

    func ruleModels(_ node: GridNode, _ path: String, _ grid: GridFile) throws -> [String] {
        try list(node, path).enumerated().map { index, item in
            let itemPath = node.items == nil ? path : GridKeyPath.index(path, index)
            let name = try string(item, itemPath)
            guard grid.models.contains(where: { $0.name == name }) else {
                throw error(.badValue, item.mark, itemPath, "no model named '\(name)' (models: \(grid.models.map(\.name).joined(separator: ", ")))")
            }
            return name
        }
    }

    // MARK: - Small readers

    func mapping(_ node: GridNode, _ path: String, known: [String]) throws -> [GridNode.Entry] {
        guard let entries = node.entries else {
            throw error(.wrongType, node.mark, path, "expected a mapping, got \(node.quoted)")
        }
        for entry in entries where !known.contains(entry.key) {
            throw converter.unknownKey(entry, known: known, path: path)
        }
        return entries
    }

    func required(_ entries: [GridNode.Entry], _ key: String, in node: GridNode, path: String = "") throws -> GridNode {
        guard let value = entries[key] else { throw error(.missingKey, node.mark, path, "missing key '\(key)'") }
        return value
    }

    /// A list; a single scalar stands for a list of one.
    func list(_ node: GridNode, _ path: String) throws -> [GridNode] {
        switch node.content {
        case let .sequence(items): return items
        case .scalar(.null, _): throw error(.wrongType, node.mark, path, "expected a list, got null")
        case .scalar: return [node]
        case .mapping: throw error(.wrongType, node.mark, path, "expected a list, got a mapping")
        }
    }

    func string(_ node: GridNode, _ path: String) throws -> String {
        guard let text = node.text else { throw error(.wrongType, node.mark, path, "expected a string, got \(node.quoted)") }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw error(.badValue, node.mark, path, "must not be empty") }
        return text
    }

    /// A path as written, its `${…}` references checked for syntax.
    func pathString(_ node: GridNode, _ path: String) throws -> String {
        let text = try string(node, path)
        do { _ = try GridPath.references(in: text) } catch { throw self.error(.badValue, node.mark, path, "\(error)") }
        return text
    }

    func positiveInteger(_ node: GridNode, _ path: String) throws -> Int {
        let value = try strict.json(node, .integer, path: path) as! Int
        guard value >= 1 else { throw error(.badValue, node.mark, path, "must be ≥ 1; got \(value)") }
        return value
    }
}

extension Array where Element == GridNode.Entry {
    subscript(key: String) -> GridNode? { first { $0.key == key }?.value }
}
