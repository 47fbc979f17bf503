#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FrontierSupport

/// Watches the machine during a measured window: how much CPU other processes took (the
/// machine's busy time from `/proc/stat` minus this process's own rusage), steal time, the run
/// queue and the clock frequency. The worker runs one per window; what it finds decides
/// whether the window is measured again.
///
/// `/proc` and `/sys` come through `SysfsReader`, and the process's own CPU time through a
/// closure, so tests drive it with a fake tree and fake counters.
public struct InterferenceProbe: Sendable {
    public var proc: any SysfsReader
    public var sys: any SysfsReader
    public var clock: any MeasurementClock
    /// This process's CPU time (user + system, every thread), seconds.
    public var ownCpuSeconds: @Sendable () -> Double
    /// Clock ticks per second of `/proc/stat` (`USER_HZ`).
    public var ticksPerSecond: Double

    public init(proc: any SysfsReader = DirectorySysfs(root: "/proc"), sys: any SysfsReader = DirectorySysfs(root: "/sys"),
                clock: any MeasurementClock = SystemClock(), ownCpuSeconds: @escaping @Sendable () -> Double = InterferenceProbe.processCpuSeconds,
                ticksPerSecond: Double = InterferenceProbe.userHz) {
        self.proc = proc
        self.sys = sys
        self.clock = clock
        self.ownCpuSeconds = ownCpuSeconds
        self.ticksPerSecond = ticksPerSecond
    }

    public static let userHz: Double = {
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return hz > 0 ? Double(hz) : 100
    }()

    public static let processCpuSeconds: @Sendable () -> Double = {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A window being watched: started with `begin()`, sampled while it runs, closed by `end`.
    public struct Watch: Sendable {
        let startedAt: Double
        let startStat: ProcStat?
        let startOwn: Double
        var runQueue: [Int] = []
        var mhz: [Double] = []
    }

    public func begin() -> Watch {
        var watch = Watch(startedAt: clock.now(), startStat: readStat(), startOwn: ownCpuSeconds())
        sample(&watch)
        return watch
    }

    /// A mid-window sample of the run queue and frequency (the counters need only the ends).
    public func sample(_ watch: inout Watch) {
        if let running = readStat()?.procsRunning { watch.runQueue.append(running) }
        if let mhz = meanCpuMhz() { watch.mhz.append(mhz) }
    }

    /// The window's interference, judged against `settings`; nil when `/proc/stat` is not
    /// readable (not Linux, or a sandbox hiding it) — then nothing is claimed either way.
    public func end(_ watch: Watch, settings: InterferenceSettings) -> WindowInterference? {
        var watch = watch
        sample(&watch)
        let seconds = clock.now() - watch.startedAt
        guard let start = watch.startStat, let stop = readStat(), seconds > 0 else { return nil }
        let busy = Double(stop.busyTicks &- start.busyTicks) / ticksPerSecond
        let total = Double(stop.totalTicks &- start.totalTicks)
        let steal = total > 0 ? Double(stop.stealTicks &- start.stealTicks) / total : 0
        let own = max(0, ownCpuSeconds() - watch.startOwn)
        // Tick accounting and rusage disagree by a few ticks; a negative remainder is noise.
        let other = max(0, busy - own) / seconds
        let queue = watch.runQueue
        let window = WindowInterference(
            seconds: seconds, cpus: stop.cpus, otherCpuCores: other, ownCpuCores: own / seconds, stealFraction: steal,
            runQueueMean: queue.isEmpty ? nil : Double(queue.reduce(0, +)) / Double(queue.count), runQueueMax: queue.max(),
            cpuMhzMean: watch.mhz.isEmpty ? nil : watch.mhz.reduce(0, +) / Double(watch.mhz.count), cpuMhzMin: watch.mhz.min(),
            disturbed: false, reasons: [])
        return window.judged(by: settings)
    }

    func readStat() -> ProcStat? {
        guard let text = try? proc.read("stat") else { return nil }
        return ProcStat.parse(text)
    }

    /// The mean `scaling_cur_freq` over CPUs (kHz in sysfs), in MHz; nil where cpufreq is absent
    /// (most VMs).
    func meanCpuMhz() -> Double? {
        let cpus = sys.list("devices/system/cpu").filter { $0.hasPrefix("cpu") && $0.dropFirst(3).allSatisfy(\.isNumber) }
        let values = cpus.compactMap { cpu in
            (try? sys.read("devices/system/cpu/\(cpu)/cpufreq/scaling_cur_freq")).flatMap(Double.init)
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) / 1000
    }
}
