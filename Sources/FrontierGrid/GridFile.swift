import Foundation

/// A sweep grid as decoded from its YAML file (`examples/README.md` documents every key):
/// tasks × models × variants, where a variant is a technique pipeline whose parameters are
/// axes (a cartesian product, with `zip` groups that advance together), minus `exclude`
/// rules, plus `include`d points, times `repeats`.
///
/// `parse` checks everything that can be checked without expanding: unknown keys, types,
/// choices, axis names and their use, zip lengths, rule keys, the baseline. `points()` expands
/// and checks each combination as the trial it becomes (`TechniqueSpec` and `TrialSpec`
/// validation), so a combination the pipeline refuses is reported at its line too.
///
/// Paths stay as written (`${FRONTIER_SHARED}/models/…`): each agent expands them with
/// `GridPath.expand` / `TrialSpec.expandingPaths` in its own environment.
public struct GridFile: Sendable, Equatable {
    public typealias Placement = SweepPlacement

    public struct Task: Sendable, Equatable {
        /// The canonical name: the GLUE folder name (`SST-2`, whatever spelling the file used)
        /// or `squad`.
        public var name: String
        /// The data folder for the trial spec, as written.
        public var data: String
        public var mark: GridMark
    }

    public struct Model: Sendable, Equatable {
        /// A checkpoint folder, as written.
        public var path: String
        /// The label in keys, rules, tables: `name:`, else the folder's base name.
        public var name: String
        public var mark: GridMark
    }

    /// One parameter a variant sweeps: `sparsity: [0.5, 0.7, 0.9]`.
    public struct Axis: Sendable, Equatable {
        public var name: String
        /// Scalars, in the order written.
        public var values: [GridNode]
        public var mark: GridMark
    }

    public struct Variant: Sendable, Equatable {
        public var name: String
        public var description: String?
        public var isBaseline: Bool
        /// Technique entries with `${axis}` placeholders, substituted per point.
        public var techniques: [GridNode]
        public var axes: [Axis]
        /// Axes that advance together (equal lengths); every other axis is a group of its own.
        public var zip: [[String]]
        /// The variant's own `measurement` block, laid over the grid's key by key.
        public var measurement: GridNode?
        /// The variant's `train` block (`${axis}` placeholders substituted per point): its points
        /// are measured on the checkpoint a training stage makes (`TrainingStage`).
        public var train: GridNode?
        public var repeats: Int
        public var mark: GridMark
        /// `variants[2]`, for error paths.
        public var path: String

        /// The variants this one's `train` block names (`from`, `mask_from`).
        public var trainReferences: [(key: String, name: String, mark: GridMark)] {
            guard let train else { return [] }
            return ["from", "mask_from"].compactMap { key in
                guard let node = train[key], let name = node.text else { return nil }
                return (key, name, node.mark)
            }
        }

        public func axis(_ name: String) -> Axis? { axes.first { $0.name == name } }

        /// Axis groups in product order: by the first declared member; a zip group keeps the
        /// members' declaration order.
        public var groups: [[String]] {
            var emitted: Set<String> = []
            var out: [[String]] = []
            for axis in axes where !emitted.contains(axis.name) {
                if let group = zip.first(where: { $0.contains(axis.name) }) {
                    let ordered = axes.map(\.name).filter(group.contains)
                    out.append(ordered)
                    emitted.formUnion(ordered)
                } else {
                    out.append([axis.name])
                    emitted.insert(axis.name)
                }
            }
            return out
        }
    }

    /// An extra point: a variant with one value for each of its axes (values not in its axis
    /// lists are allowed: that is what includes are for), on the given tasks and models or
    /// on all of them. Never excluded.
    public struct Include: Sendable, Equatable {
        public var variant: String
        /// Canonical task names; nil: every task.
        public var tasks: [String]?
        /// Model names; nil: every model.
        public var models: [String]?
        /// Axis name → value, for every axis of the variant.
        public var values: [String: GridNode]
        public var mark: GridMark
        public var path: String
    }

    /// Removes the product points it matches: every condition given must hold (a list of
    /// values: any of them). Conditions on an axis match only variants that have that axis.
    public struct Exclude: Sendable, Equatable {
        public struct AxisCondition: Sendable, Equatable {
            public var axis: String
            public var values: [GridNode]
        }
        public var variants: [String]?
        public var tasks: [String]?
        public var models: [String]?
        public var axes: [AxisCondition]
        public var mark: GridMark
        public var path: String
    }

    /// The file name errors print (as given to `load` / `parse`).
    public var source: String
    public var name: String
    public var description: String?
    public var tasks: [Task]
    public var models: [Model]
    public var repeats: Int
    public var placement: Placement
    /// The grid's `measurement` block: batch, threads, limit, max_seq_len, gemm and every
    /// `MeasurementSettings` key.
    public var measurement: GridNode?
    public var variants: [Variant]
    public var include: [Include]
    public var exclude: [Exclude]

    public var baseline: Variant? { variants.first { $0.isBaseline } }

    public func variant(_ name: String) -> Variant? { variants.first { $0.name == name } }

    /// Reads and checks a grid file; errors name `path` as given.
    public static func load(path: String) throws -> GridFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GridError(.unreadable, source: path, mark: nil, path: "", "cannot read the grid file: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GridError(.unreadable, source: path, mark: nil, path: "", "the grid file is not UTF-8 text")
        }
        return try parse(text: text, source: path)
    }

    /// Checks a grid's text; `source` names it in errors (`grid.yaml:12:7: …`) and gives the
    /// default `name` (its base name without extension).
    public static func parse(text: String, source: String) throws -> GridFile {
        try GridFileReader(source: source).read(text)
    }

    /// Every point, in order (`GridExpansion`).
    public func points() throws -> [GridPoint] {
        try GridExpansion(self).points
    }
}
