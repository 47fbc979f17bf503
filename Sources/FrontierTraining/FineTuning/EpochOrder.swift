/// Seeded permutations for shuffling: Fisher–Yates over SplitMix64, keyed on (seed, epoch).
/// Written out rather than `shuffled(using:)` so the order is fixed by this code, not by the
/// standard library's algorithm, and is the same on every platform and Swift version.
public enum EpochOrder {
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var state = mix(seed ^ 0x5851_F42D_4C95_7F2D) &+ mix(UInt64(epoch) &+ 0x14057B7EF767814F)
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return mix(state)
        }
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            // Lemire's multiply-shift: an index in 0...i from 64 random bits.
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: next()).high)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
