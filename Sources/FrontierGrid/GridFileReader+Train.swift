import Foundation

extension GridFileReader {
    /// A `train` block's keys and types (`${axis}` placeholders stand for any value), and that
    /// the variant references in it are plain names.
    func checkTrain(_ node: GridNode, path: String) throws {
        _ = try converter.record(node, GridSchema.train, path: path)
        for key in ["from", "mask_from", "mask_task"] {
            guard let value = node[key] else { continue }
            if let text = value.text, text.contains("${") {
                throw error(.badValue, value.mark, GridKeyPath.join(path, key), "\(key) names a variant or task, not an axis value: write it out")
            }
        }
    }

    /// Every `from` / `mask_from` names another variant that has a `train` block, and the
    /// references form no cycle (a stage cannot wait for itself).
    func checkTrainReferences(_ variants: [GridFile.Variant]) throws {
        let byName = Dictionary(variants.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for variant in variants {
            for reference in variant.trainReferences {
                let path = GridKeyPath.join(GridKeyPath.join(variant.path, "train"), reference.key)
                guard let target = byName[reference.name] else {
                    var message = "\(reference.key): no variant is named '\(reference.name)'"
                    if let near = GridSuggestion.nearest(reference.name, in: variants.map(\.name)) { message += " (did you mean '\(near)'?)" }
                    throw error(.badValue, reference.mark, path, message)
                }
                guard target.train != nil else {
                    throw error(.invalidCombination, reference.mark, path,
                                "\(reference.key): variant '\(reference.name)' has no train block, so it makes no checkpoint or mask to start from")
                }
                if reference.key == "mask_from", target.train?["imp"] == nil {
                    throw error(.invalidCombination, reference.mark, path,
                                "mask_from: variant '\(reference.name)' does not prune (no imp block), so it finds no mask")
                }
            }
        }
        // Depth-first search for a cycle, reported at the reference that closes it.
        var state: [String: Int] = [:]  // 1: on the current path, 2: done
        func visit(_ variant: GridFile.Variant, trail: [String]) throws {
            state[variant.name] = 1
            for reference in variant.trainReferences {
                guard let target = byName[reference.name] else { continue }
                if state[target.name] == 1 {
                    let cycle = (trail + [variant.name]).drop { $0 != target.name } + [target.name]
                    throw error(.invalidCombination, reference.mark,
                                GridKeyPath.join(GridKeyPath.join(variant.path, "train"), reference.key),
                                "the train blocks' references form a cycle: \(cycle.joined(separator: " → ")); a stage cannot wait for itself")
                }
                if state[target.name] == nil { try visit(target, trail: trail + [variant.name]) }
            }
            state[variant.name] = 2
        }
        for variant in variants where state[variant.name] == nil { try visit(variant, trail: []) }
    }
}
