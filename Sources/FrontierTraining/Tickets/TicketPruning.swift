import Foundation
import FrontierSupport

/// The masks of the lottery-ticket experiments: global magnitude pruning of what a mask still
/// keeps (IMP), per-matrix magnitude pruning to given counts (the one-shot control), and random
/// masks with the same count per matrix (the random-pruning control).
///
/// Ties at the threshold are broken in storage order (matrix order, then element order), so a
/// mask is a function of the weights alone.
public enum TicketPruning {
    /// `mask` with more weights pruned, the smallest magnitudes in `model` among those it still
    /// keeps, over all prunable matrices at once, until `pruned` weights are pruned in total. The
    /// matrices named in `exempt` take no part (they stay as `mask` has them).
    public static func magnitude(_ model: TrainableModel, from mask: TicketMask, pruned target: Int,
                                 exempt: Set<String> = []) throws -> TicketMask {
        try mask.validate(for: model, source: "magnitude pruning")
        let already = mask.pruned
        guard target > already else {
            guard target == already else { throw TrainingError.invalidSettings("magnitude pruning cannot go from \(already) pruned weights back to \(target)") }
            return mask
        }
        let values = model.parameters.values
        let slots = model.prunableSlots
        let taking = zip(slots, mask.matrices).filter { !exempt.contains($0.0.name) }
        let candidates = taking.reduce(0) { $0 + $1.1.count - $1.1.pruned }
        guard target - already <= candidates else {
            throw TrainingError.invalidSettings("cannot prune \(target) of \(mask.count) weights (\(already) pruned, \(candidates) left to prune)")
        }
        var magnitudes: [Float] = []
        magnitudes.reserveCapacity(candidates)
        for (slot, matrix) in taking {
            for (i, keep) in matrix.keep.enumerated() where keep { magnitudes.append(abs(values[slot.offset + i])) }
        }
        let more = target - already
        let threshold = quickselect(&magnitudes, rank: more - 1)
        var below = 0
        for (slot, matrix) in taking {
            for (i, keep) in matrix.keep.enumerated() where keep && abs(values[slot.offset + i]) < threshold { below += 1 }
        }
        var tiesLeft = more - below
        var result = mask
        result.edit { index, matrix in
            guard !exempt.contains(matrix.name) else { return }
            Self.prune(&matrix.keep, values: values[slots[index].range], below: threshold, tiesLeft: &tiesLeft)
        }
        return result
    }

    /// A dense mask pruned matrix by matrix: in each, the `counts[name]` smallest magnitudes of
    /// `model` (a matrix without a count stays dense).
    public static func magnitudePerMatrix(_ model: TrainableModel, counts: [String: Int]) throws -> TicketMask {
        var mask = TicketMask.dense(for: model)
        let values = model.parameters.values
        let slots = model.prunableSlots
        for name in counts.keys where mask.matrix(named: name) == nil {
            throw TrainingError.invalidSettings("per-matrix pruning names '\(name)', which is not a prunable matrix of this model")
        }
        mask.edit { index, matrix in
            let count = counts[matrix.name] ?? 0
            guard count > 0 else { return }
            let slot = slots[index]
            var magnitudes = values[slot.range].map(abs)
            let threshold = quickselect(&magnitudes, rank: min(count, matrix.count) - 1)
            var tiesLeft = count - values[slot.range].reduce(0) { $0 + (abs($1) < threshold ? 1 : 0) }
            Self.prune(&matrix.keep, values: values[slot.range], below: threshold, tiesLeft: &tiesLeft)
        }
        return mask
    }

    /// Prunes the kept weights whose magnitude is below `threshold`, and of those equal to it as
    /// many as `tiesLeft` allows, in storage order.
    static func prune(_ keep: inout [Bool], values: ArraySlice<Float>, below threshold: Float, tiesLeft: inout Int) {
        for (i, value) in zip(keep.indices, values) where keep[i] {
            let magnitude = abs(value)
            if magnitude < threshold {
                keep[i] = false
            } else if magnitude == threshold, tiesLeft > 0 {
                keep[i] = false
                tiesLeft -= 1
            }
        }
    }

    /// A random mask with exactly as many pruned weights in each matrix as `like` has, the
    /// positions drawn from `seed` (a partial Fisher–Yates shuffle per matrix).
    public static func random(like: TicketMask, seed: UInt64) -> TicketMask {
        var generator = SplitMix64(seed: seed)
        var mask = like
        mask.edit { _, matrix in
            let prune = matrix.pruned
            var order = Array(0..<matrix.count)
            for i in 0..<prune {
                let j = i + Int(generator.next() % UInt64(order.count - i))
                order.swapAt(i, j)
            }
            matrix.keep = [Bool](repeating: true, count: matrix.count)
            for i in order.prefix(prune) { matrix.keep[i] = false }
        }
        return mask
    }

    /// Pruned weights per matrix, by name.
    public static func counts(of mask: TicketMask) -> [String: Int] {
        Dictionary(mask.matrices.map { ($0.name, $0.pruned) }, uniquingKeysWith: { $1 })
    }
}

extension TicketMask {
    /// Rewrites each matrix's flags in place (its name and shape stay).
    mutating func edit(_ body: (Int, inout Matrix) -> Void) {
        var copy = matrices
        for index in copy.indices { body(index, &copy[index]) }
        self = TicketMask(matrices: copy)
    }
}
