/// The value of rank `rank` (0-based) in ascending order; reorders `values`. Quickselect with a
/// fixed pseudo-random pivot sequence (the same input gives the same order): the pruning
/// thresholds of BERT-base range over 85 M weights, which a full sort would spend seconds on.
public func quickselect(_ values: inout [Float], rank: Int) -> Float {
    precondition(values.indices.contains(rank), "quickselect: rank \(rank) of \(values.count) values")
    var low = 0, high = values.count - 1
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    while low < high {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let pivot = values[low + Int((state >> 33) % UInt64(high - low + 1))]
        var i = low, j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
        }
        if rank <= j { high = j } else if rank >= i { low = i } else { return values[rank] }
    }
    return values[rank]
}
