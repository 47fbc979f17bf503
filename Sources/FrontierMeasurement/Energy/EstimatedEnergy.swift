#if canImport(Glibc)
import Glibc
#endif
import FrontierSupport

/// The model behind an estimate, recorded with every estimated figure so a reader can redo it
/// with better numbers (a wall-plug reading, the CPU's TDP per core).
public struct EnergyEstimateParameters: Codable, Sendable, Equatable {
    /// Watts one fully busy core draws above idle.
    public var wattsPerCore: Double
    /// Watts the machine draws doing nothing, charged for every second of the window.
    public var idleWatts: Double

    /// Deliberately round guesses for a server core (a 200 W, 16-core socket's share) and a
    /// modest idle floor; the output says `estimated` and carries these beside the figure.
    public init(wattsPerCore: Double = 12.5, idleWatts: Double = 20) {
        self.wattsPerCore = wattsPerCore
        self.idleWatts = idleWatts
    }

    public func validate() throws {
        guard wattsPerCore.isFinite, wattsPerCore >= 0, idleWatts.isFinite, idleWatts >= 0 else {
            throw EnergyMeterError.invalidSetting("estimate parameters must be finite and non-negative; got \(wattsPerCore) W per core, \(idleWatts) W idle")
        }
    }
}

/// CPU seconds this process has used (user + system), the estimate's input.
public protocol CPUTimeSource: Sendable {
    func cpuSeconds() -> Double
}

/// `getrusage(RUSAGE_SELF)`: in a trial worker, exactly the trial's own CPU time.
public struct ProcessCPUTime: CPUTimeSource {
    public init() {}
    public func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    }
}

/// Energy as CPU seconds × watts per core + idle watts × elapsed seconds, presented as a
/// counter so it flows through the same meter, window and idle subtraction as a real one.
public struct EstimatedEnergyChannel: EnergyChannel {
    public var domain: String { "cpu" }
    public var source: EnergySource { .estimated }
    public var kind: EnergyDomainKind { .estimate }
    public var resolutionSeconds: Double { 0 }
    public let parameters: EnergyEstimateParameters
    let cpuTime: any CPUTimeSource
    let clock: any MeasurementClock
    let origin: Double

    public init(parameters: EnergyEstimateParameters, cpuTime: any CPUTimeSource = ProcessCPUTime(),
                clock: any MeasurementClock = SystemClock()) {
        self.parameters = parameters
        self.cpuTime = cpuTime
        self.clock = clock
        origin = clock.now()
    }

    public func sample() throws -> EnergySample {
        let joules = cpuTime.cpuSeconds() * parameters.wattsPerCore + (clock.now() - origin) * parameters.idleWatts
        return .counter(microjoules: UInt64(max(0, joules) * 1e6), range: UInt64.max)
    }
}
