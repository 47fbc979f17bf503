import Foundation
import FrontierTasks

/// Turns the points of variants with a `train` block into training stages: one per distinct
/// training, IMP levels chained (level k needs level k−1), `from` and `mask_from` resolved to
/// the referenced variant's stage for the same task (or `mask_task`), model and shared axis
/// values. Variants are planned after the ones they reference (the reader refused cycles).
struct TrainingStagePlanner {
    let grid: GridFile
    private(set) var stages: [String: TrainingStage] = [:]
    /// Keys in the order stages were first needed (dependencies before dependants).
    private(set) var order: [String] = []

    init(grid: GridFile) { self.grid = grid }

    /// Sets each trained point's `trainingStage`; `recipes` is aligned with `points`.
    mutating func plan(_ points: inout [GridPoint], recipes: [TrainingRecipe?]) throws {
        for variant in Self.referencesFirst(grid.variants) where variant.train != nil {
            for index in points.indices where points[index].variant == variant.name {
                guard let recipe = recipes[index] else { continue }
                points[index].trainingStage = try stage(for: points[index], recipe: recipe, variant: variant, in: points)
            }
        }
    }

    /// The variants, each after those its train block references.
    static func referencesFirst(_ variants: [GridFile.Variant]) -> [GridFile.Variant] {
        let byName = Dictionary(variants.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var done: Set<String> = [], out: [GridFile.Variant] = []
        func visit(_ variant: GridFile.Variant, depth: Int) {
            guard !done.contains(variant.name), depth <= variants.count else { return }
            for reference in variant.trainReferences { if let target = byName[reference.name] { visit(target, depth: depth + 1) } }
            if done.insert(variant.name).inserted { out.append(variant) }
        }
        for variant in variants { visit(variant, depth: 0) }
        return out
    }

    private mutating func stage(for point: GridPoint, recipe: TrainingRecipe, variant: GridFile.Variant,
                                in points: [GridPoint]) throws -> String {
        let trainPath = GridKeyPath.join(variant.path, "train")
        var start = TrainingStage.Start.model(point.model.label)
        var inputs: [String] = []
        if let from = recipe.from {
            let key = try referencedStage(from, key: "from", task: point.task, for: point, variant: variant, in: points)
            start = .stage(key)
            inputs.append(key)
        }
        var maskStage: String?
        if let maskFrom = recipe.maskFrom {
            let task = try recipe.maskTask.map { try canonicalTask($0, variant: variant) } ?? point.task
            let key = try referencedStage(maskFrom, key: "mask_from", task: task, for: point, variant: variant, in: points)
            maskStage = key
            inputs.append(key)
        }
        // The fine-tune (IMP's level 0 too: the same stage as a plain train block of the recipe).
        var previous = try add(TrainingStage(key: "", task: point.task, data: point.spec.data, modelPath: point.model.path, start: start,
                                             recipe: recipe.trainingOnly(keepingImp: false), impLevel: nil,
                                             sparsity: nil, maskStage: maskStage, dependsOn: inputs,
                                             variants: [variant.name], trainOn: recipe.trainOn),
                               modelLabel: point.model.label, variant: variant, trainPath: trainPath)
        if let imp = recipe.imp, let levels = imp.level {
            for level in stride(from: 1, through: levels, by: 1) {
                previous = try add(TrainingStage(key: "", task: point.task, data: point.spec.data, modelPath: point.model.path,
                                                 start: start, recipe: recipe.trainingOnly(keepingImp: true), impLevel: level,
                                                 sparsity: imp.sparsity(afterLevel: level), maskStage: previous,
                                                 dependsOn: inputs + [previous], variants: [variant.name], trainOn: recipe.trainOn),
                                   modelLabel: point.model.label, variant: variant, trainPath: trainPath)
            }
        }
        return previous
    }

    /// Adds a stage (or joins the equal one already planned) and returns its key.
    private mutating func add(_ candidate: TrainingStage, modelLabel: String, variant: GridFile.Variant, trainPath: String) throws -> String {
        var stage = candidate
        stage.key = TrainingStage.key(TrainingStage.identity(task: stage.task, modelLabel: modelLabel, start: stage.start,
                                                             recipe: stage.recipe, impLevel: stage.impLevel, maskStage: stage.maskStage))
        if var existing = stages[stage.key] {
            if existing.trainOn != stage.trainOn {
                let mark = variant.train?["train_on"]?.mark ?? variant.train?.mark
                throw GridError(.invalidCombination, source: grid.source, mark: mark, path: GridKeyPath.join(trainPath, "train_on"),
                                "variants '\(existing.variants.joined(separator: "', '"))' and '\(variant.name)' share the training stage \(stage.key) (\(stage.label)) but ask for train_on '\(existing.trainOn)' and '\(stage.trainOn)'")
            }
            if !existing.variants.contains(variant.name) {
                existing.variants.append(variant.name)
                stages[stage.key] = existing
            }
            return stage.key
        }
        stages[stage.key] = stage
        order.append(stage.key)
        return stage.key
    }

    /// The one stage of variant `name` for this task, model and the axis values both variants
    /// share.
    private func referencedStage(_ name: String, key: String, task: String, for point: GridPoint, variant: GridFile.Variant,
                                 in points: [GridPoint]) throws -> String {
        let shared = Set(variant.axes.map(\.name)).intersection(grid.variant(name)?.axes.map(\.name) ?? [])
        let own = Dictionary(uniqueKeysWithValues: point.axisValues.map { ($0.name, $0.value) })
        let matching = points.filter { other in
            other.variant == name && other.task == task && other.model.label == point.model.label
                && other.axisValues.allSatisfy { !shared.contains($0.name) || own[$0.name] == $0.value }
        }
        let keys = Set(matching.compactMap(\.trainingStage))
        let mark = variant.train?[key]?.mark ?? variant.train?.mark
        let path = GridKeyPath.join(GridKeyPath.join(variant.path, "train"), key)
        let sharedText = shared.isEmpty ? "" : " and \(shared.sorted().map { "\($0)=\(own[$0] ?? "?")" }.joined(separator: ", "))"
        if keys.count == 1 { return keys.first! }
        if keys.isEmpty {
            throw GridError(.invalidCombination, source: grid.source, mark: mark, path: path,
                            "\(key): variant '\(name)' has no trained point on \(task) with model \(point.model.label)\(sharedText) (is the task in the grid, or the point excluded?)")
        }
        throw GridError(.invalidCombination, source: grid.source, mark: mark, path: path,
                        "\(key): variant '\(name)' trains \(keys.count) different models on \(task) with model \(point.model.label)\(sharedText); name the axes that tell them apart the same in both variants so each point pairs with one")
    }

    private func canonicalTask(_ written: String, variant: GridFile.Variant) throws -> String {
        let name = GlueTask(name: written)?.folderName ?? written
        guard grid.tasks.contains(where: { $0.name == name }) else {
            let node = variant.train?["mask_task"]
            throw GridError(.badValue, source: grid.source, mark: node?.mark, path: GridKeyPath.join(GridKeyPath.join(variant.path, "train"), "mask_task"),
                            "mask_task '\(written)' is not a task of this grid (\(grid.tasks.map(\.name).joined(separator: ", "))): the mask is found by training on it here")
        }
        return name
    }
}
