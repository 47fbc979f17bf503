import FrontierSupport

/// The channels a trial will read, and what was tried on the way to them.
public struct EnergyMeterSetup: Sendable {
    public var channels: [any EnergyChannel]
    /// Present when (and only when) the figures are estimated.
    public var estimate: EnergyEstimateParameters?
    /// Every source that was tried and not used, with the reason: shown in the result.
    public var notes: [String]

    /// Chooses channels as `settings.meter` says. An explicitly requested meter that cannot be
    /// read is an error (the user asked for it); under `auto` each unusable source becomes a
    /// note and the next one is tried, ending at the labelled estimate.
    ///
    /// - Parameter nvml: opens NVML; injected so tests and GPU-less hosts need no library.
    public static func resolve(
        settings: EnergySettings, sysfs: any SysfsReader,
        nvml: () throws -> NvmlLibrary, cpuTime: any CPUTimeSource = ProcessCPUTime(),
        clock: any MeasurementClock = SystemClock()
    ) throws -> EnergyMeterSetup {
        try settings.validate()
        func estimated(_ notes: [String]) -> EnergyMeterSetup {
            EnergyMeterSetup(channels: [EstimatedEnergyChannel(parameters: settings.estimate, cpuTime: cpuTime, clock: clock)],
                             estimate: settings.estimate, notes: notes)
        }
        func gpus() throws -> [any EnergyChannel] {
            let library: NvmlLibrary
            do { library = try nvml() } catch { throw EnergyMeterError.nvmlUnavailable("\(error)") }
            return try NvmlChannel.channels(library: library)
        }
        switch settings.meter {
        case .estimated:
            return estimated(["energy is estimated because the estimated meter was requested"])
        case .rapl:
            return EnergyMeterSetup(channels: try RaplMeter.channels(sysfs: sysfs), estimate: nil, notes: [])
        case .hwmon:
            return EnergyMeterSetup(channels: try HwmonMeter.channels(sysfs: sysfs), estimate: nil, notes: [])
        case .nvml:
            return EnergyMeterSetup(channels: try gpus(), estimate: nil, notes: [])
        case .auto:
            var channels: [any EnergyChannel] = [], notes: [String] = []
            do { channels += try RaplMeter.channels(sysfs: sysfs) } catch { notes.append("\(error)") }
            do { channels += try gpus() } catch { notes.append("\(error)") }
            if channels.isEmpty {
                do { channels += try HwmonMeter.channels(sysfs: sysfs) } catch { notes.append("\(error)") }
            }
            if channels.isEmpty {
                return estimated(["energy is estimated: no meter could be read on this machine"] + notes)
            }
            return EnergyMeterSetup(channels: channels, estimate: nil, notes: notes)
        }
    }
}
