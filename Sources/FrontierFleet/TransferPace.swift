import FrontierSupport

/// Holds a transfer to `ArtifactTransferSettings.maxBytesPerSecond`: the next chunk may go out
/// only once the bytes already sent fit the rate since the transfer began. Operators cap
/// checkpoints' traffic so an overnight sweep does not saturate a link the cluster shares.
struct TransferPace {
    let bytesPerSecond: Double?
    private let started = MonotonicClock.now()
    /// Bytes sent, or the allowance less the carried credit after a stall.
    private var sent: Int64 = 0

    init(bytesPerSecond: Double?) { self.bytesPerSecond = bytesPerSecond.flatMap { $0 > 0 ? $0 : nil } }

    /// Whether another chunk may go out now. A stall (a cut link, a slow disk) earns no burst
    /// afterwards: at most a tenth of a second's bytes of credit carry over.
    mutating func mayGoOn() -> Bool {
        guard let rate = bytesPerSecond else { return true }
        let allowance = (MonotonicClock.now() - started) * rate
        if allowance - Double(sent) > rate / 10 { sent = Int64(allowance - rate / 10) }
        return Double(sent) <= allowance
    }

    mutating func sent(_ bytes: Int) { sent += Int64(bytes) }

    /// A chunk size that keeps the pace smooth: at most a tenth of a second's bytes (4 KiB at least).
    func chunkBytes(_ limit: Int) -> Int {
        guard let rate = bytesPerSecond else { return limit }
        return max(4096, min(limit, Int(rate / 10)))
    }
}
