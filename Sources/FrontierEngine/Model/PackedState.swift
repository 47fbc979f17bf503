import Foundation

/// The layout of a packed batch part-way through the encoder. Token pruning shortens
/// sequences and early exit removes them, so the layout is state of the pass rather than of
/// the `EncoderBatch`; every change moves the hidden rows with it (`gather`).
struct PackedState {
    /// Sequence `i` (of those still running) occupies rows `offsets[i] ..< offsets[i + 1]`.
    var offsets: [Int]
    /// Batch index of each running sequence.
    var active: [Int]
    /// Token id of each row (for the ids token pruning always keeps).
    var ids: [Int32]

    var tokens: Int { offsets.last ?? 0 }
    var squaredLengths: Int { zip(offsets, offsets.dropFirst()).reduce(0) { $0 + ($1.1 - $1.0) * ($1.1 - $1.0) } }

    func sync(_ ws: Workspace) {
        if ws.offsets.count < offsets.count { ws.offsets = [Int32](repeating: 0, count: offsets.count) }
        for (index, offset) in offsets.enumerated() { ws.offsets[index] = Int32(offset) }
    }

    /// Copies `rows` (per running sequence, ascending) of `source` into `destination`, which
    /// becomes the new layout.
    mutating func gather(rows: [[Int]], from source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, width: Int) {
        var newOffsets = [0], newIds: [Int32] = []
        var out = 0
        for sequenceRows in rows {
            for row in sequenceRows {
                (destination + out * width).update(from: source + row * width, count: width)
                newIds.append(ids[row])
                out += 1
            }
            newOffsets.append(out)
        }
        offsets = newOffsets
        ids = newIds
    }

    /// Keeps only the running sequences at `slots` (ascending), all their rows.
    mutating func keepSequences(_ slots: [Int], from source: UnsafePointer<Float>,
                                into destination: UnsafeMutablePointer<Float>, width: Int) {
        let perSequence = slots.map { Array(offsets[$0]..<offsets[$0 + 1]) }
        active = slots.map { active[$0] }
        gather(rows: perSequence, from: source, into: destination, width: width)
    }

    /// Attention each row received in a layer: Σ over heads and query rows of softmax(q·kᵀ/√d)
    /// within its sequence. Computed once, for the layer before token pruning starts.
    func receivedAttention(qkv: UnsafePointer<Float>, heads: Int, headDim d: Int, mask: [Bool]?) -> [Float] {
        let a = heads * d, stride = 3 * a
        let scale = 1 / Float(d).squareRoot()
        var received = [Float](repeating: 0, count: tokens)
        var scores = [Float](repeating: 0, count: offsets.count > 1 ? (zip(offsets, offsets.dropFirst()).map { $1 - $0 }.max() ?? 0) : 0)
        for s in 0..<(offsets.count - 1) {
            let start = offsets[s], length = offsets[s + 1] - start
            for head in 0..<heads where mask?[head] ?? true {
                for i in 0..<length {
                    let q = qkv + (start + i) * stride + head * d
                    var top = -Float.infinity
                    for j in 0..<length {
                        let k = qkv + (start + j) * stride + a + head * d
                        var dot: Float = 0
                        for t in 0..<d { dot += q[t] * k[t] }
                        scores[j] = dot * scale
                        top = max(top, scores[j])
                    }
                    var total: Float = 0
                    for j in 0..<length {
                        scores[j] = Foundation.exp(scores[j] - top)
                        total += scores[j]
                    }
                    for j in 0..<length { received[start + j] += scores[j] / total }
                }
            }
        }
        return received
    }

    /// Per running sequence, the rows token pruning keeps, in order: `[CLS]` (the first row),
    /// the `alwaysKeep` ids, then the most-attended rows up to ⌈keep · length⌉.
    func tokensToKeep(received: [Float], pruning: TokenPruning) -> [[Int]] {
        (0..<(offsets.count - 1)).map { s in
            let rows = Array(offsets[s]..<offsets[s + 1])
            let budget = Int((pruning.keep * Double(rows.count)).rounded(.up))
            var kept = Set(rows.filter { $0 == rows[0] || pruning.alwaysKeep.contains(ids[$0]) })
            let ranked = rows.filter { !kept.contains($0) }.sorted {
                let (ra, rb) = (received.isEmpty ? 0 : received[$0], received.isEmpty ? 0 : received[$1])
                return ra != rb ? ra > rb : $0 < $1
            }
            for row in ranked where kept.count < budget { kept.insert(row) }
            return kept.sorted()
        }
    }
}
