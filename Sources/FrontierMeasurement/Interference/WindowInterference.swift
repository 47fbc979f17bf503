/// What else the machine did while a window was measured. Stored with every result, so a
/// number measured beside a neighbour's compile says so, and the report can leave it out.
public struct WindowInterference: Codable, Sendable, Equatable {
    public var seconds: Double
    /// Online CPUs the kernel accounted over the window.
    public var cpus: Int
    /// Busy CPU time of the whole machine minus the measuring process's own, over the window,
    /// in cores (1.0: one core kept busy by someone else the whole time).
    public var otherCpuCores: Double
    /// The measuring process's own CPU time over the window, in cores.
    public var ownCpuCores: Double
    /// Steal time over all CPU time (a hypervisor running other guests on our cores).
    public var stealFraction: Double
    /// Runnable tasks (`procs_running`, the measuring threads included), mean and maximum of the
    /// samples taken during the window.
    public var runQueueMean: Double?
    public var runQueueMax: Int?
    /// Mean and lowest current CPU frequency over the samples, where cpufreq is readable.
    public var cpuMhzMean: Double?
    public var cpuMhzMin: Double?
    /// Whether a threshold was passed, and which.
    public var disturbed: Bool
    public var reasons: [String]

    public init(seconds: Double, cpus: Int, otherCpuCores: Double, ownCpuCores: Double, stealFraction: Double,
                runQueueMean: Double?, runQueueMax: Int?, cpuMhzMean: Double?, cpuMhzMin: Double?,
                disturbed: Bool, reasons: [String]) {
        self.seconds = seconds
        self.cpus = cpus
        self.otherCpuCores = otherCpuCores
        self.ownCpuCores = ownCpuCores
        self.stealFraction = stealFraction
        self.runQueueMean = runQueueMean
        self.runQueueMax = runQueueMax
        self.cpuMhzMean = cpuMhzMean
        self.cpuMhzMin = cpuMhzMin
        self.disturbed = disturbed
        self.reasons = reasons
    }

    /// Judged against `settings`: `disturbed` and `reasons` set from the thresholds.
    public func judged(by settings: InterferenceSettings) -> WindowInterference {
        var out = self
        out.reasons = []
        if otherCpuCores > settings.maxOtherCpuCores {
            out.reasons.append(String(format: "other processes used %.2f cores (limit %.2f)", otherCpuCores, settings.maxOtherCpuCores))
        }
        if stealFraction > settings.maxStealFraction {
            out.reasons.append(String(format: "steal %.1f %% (limit %.1f %%)", stealFraction * 100, settings.maxStealFraction * 100))
        }
        out.disturbed = !out.reasons.isEmpty
        return out
    }

    /// One line for logs and tables: "other processes 0.93 cores, steal 0.0 %, run queue 3.1, 2.1 GHz".
    public var summary: String {
        var parts = [String(format: "other processes %.2f cores", otherCpuCores), String(format: "steal %.1f %%", stealFraction * 100)]
        if let runQueueMean { parts.append(String(format: "run queue %.1f", runQueueMean)) }
        if let cpuMhzMean { parts.append(String(format: "%.2f GHz", cpuMhzMean / 1000)) }
        return parts.joined(separator: ", ")
    }

    /// How badly a window was disturbed, for choosing the least disturbed of several attempts:
    /// the larger of the two excesses over their limits, in the limits' units.
    func severity(_ settings: InterferenceSettings) -> Double {
        let cpu = settings.maxOtherCpuCores > 0 ? otherCpuCores / settings.maxOtherCpuCores : otherCpuCores * 1e6
        let steal = settings.maxStealFraction > 0 ? stealFraction / settings.maxStealFraction : stealFraction * 1e6
        return max(cpu, steal)
    }
}
