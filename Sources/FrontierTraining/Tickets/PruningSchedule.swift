import Foundation

/// How many prunable weights iterative magnitude pruning has removed after each round.
///
/// Chen et al. write the per-round step as a fraction of what remains (`1 − (1 − p)^r` after `r`
/// rounds, 22 rounds from 0 to 90 % at p = 10 %); their code calls PyTorch's global pruning with
/// `amount = 1/(10 − r)` of the remaining weights, which is `p` of the *original* count per round
/// (10 rounds to 90 %). Both are offered; `original` is the default because it is what produced
/// their numbers.
public struct PruningSchedule: Sendable, Equatable, Codable {
    public enum Basis: String, Sendable, Equatable, Codable, CaseIterable {
        /// Each round removes `perRound` of the original prunable count (the authors' code).
        case original
        /// Each round removes `perRound` of the weights still there (the paper's formula).
        case remaining
    }

    public var perRound: Double
    public var basis: Basis
    /// The last level's sparsity; the last round stops exactly there.
    public var target: Double

    public init(perRound: Double = 0.1, basis: Basis = .original, target: Double) {
        self.perRound = perRound
        self.basis = basis
        self.target = target
    }

    public func validate() throws {
        guard perRound.isFinite, perRound > 0, perRound < 1 else {
            throw TrainingError.invalidSettings("--per-round must be in (0, 1); got \(perRound)")
        }
        guard target.isFinite, target > 0, target <= 0.99 else {
            throw TrainingError.invalidSettings("--target-sparsity must be in (0, 0.99]; got \(target)")
        }
    }

    /// Pruned weights at each level, level 0 (dense) first, ending at `round(target × prunable)`.
    public func prunedCounts(prunable n: Int) -> [Int] {
        let goal = Int((target * Double(n)).rounded())
        var counts = [0]
        var round = 0
        while counts.last! < goal {
            round += 1
            let next: Int
            switch basis {
            case .original:
                next = Int((Double(round) * perRound * Double(n)).rounded())
            case .remaining:
                let pruned = counts.last!
                next = pruned + max(1, Int((perRound * Double(n - pruned)).rounded()))
            }
            counts.append(min(goal, max(next, counts.last! + 1)))
        }
        return counts
    }

    /// The sparsity at each level (pruned over prunable).
    public func sparsities(prunable n: Int) -> [Double] {
        prunedCounts(prunable: n).map { n == 0 ? 0 : Double($0) / Double(n) }
    }
}
