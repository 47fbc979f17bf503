/// The machine-wide counters of `/proc/stat` that interference is computed from: CPU time by
/// kind (in clock ticks, summed over CPUs) and the number of runnable tasks right now.
public struct ProcStat: Sendable, Equatable {
    /// user + nice + system + irq + softirq (guest time is already inside user).
    public var busyTicks: UInt64
    public var idleTicks: UInt64
    public var iowaitTicks: UInt64
    public var stealTicks: UInt64
    /// `cpuN` lines: the CPUs the kernel accounts.
    public var cpus: Int
    /// `procs_running`: runnable tasks, the reader's own threads included.
    public var procsRunning: Int?

    public var totalTicks: UInt64 { busyTicks + idleTicks + iowaitTicks + stealTicks }

    public init(busyTicks: UInt64, idleTicks: UInt64, iowaitTicks: UInt64, stealTicks: UInt64, cpus: Int, procsRunning: Int?) {
        self.busyTicks = busyTicks
        self.idleTicks = idleTicks
        self.iowaitTicks = iowaitTicks
        self.stealTicks = stealTicks
        self.cpus = cpus
        self.procsRunning = procsRunning
    }

    /// Parses the text of `/proc/stat`; nil when it has no aggregate `cpu` line (not procfs).
    public static func parse(_ text: String) -> ProcStat? {
        var aggregate: [UInt64]?
        var cpus = 0
        var running: Int?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let name = fields.first else { continue }
            if name == "cpu" {
                aggregate = fields.dropFirst().map { UInt64($0) ?? 0 }
            } else if name.hasPrefix("cpu"), name.dropFirst(3).allSatisfy(\.isNumber) {
                cpus += 1
            } else if name == "procs_running", fields.count > 1 {
                running = Int(fields[1])
            }
        }
        guard let t = aggregate, t.count >= 4 else { return nil }
        func at(_ i: Int) -> UInt64 { i < t.count ? t[i] : 0 }
        // user nice system idle iowait irq softirq steal guest guest_nice
        return ProcStat(busyTicks: at(0) + at(1) + at(2) + at(5) + at(6), idleTicks: at(3), iowaitTicks: at(4),
                        stealTicks: at(7), cpus: max(cpus, 1), procsRunning: running)
    }
}
