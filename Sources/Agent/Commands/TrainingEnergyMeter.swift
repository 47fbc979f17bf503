import Foundation
import FrontierMeasurement

/// The energy meter of a fine-tune: the channels `run` would read (`EnergyMeterSetup`, the
/// same choice and fallbacks), polled in the background from the start of the command, read
/// as the joules of the domains that count toward a total (packages, DRAM, GPUs, boards).
///
/// Used from the training thread only; the `EnergyMeter` inside guards its own state against
/// its background poller.
final class TrainingEnergyMeter {
    let setup: EnergyMeterSetup
    private let meter: EnergyMeter

    /// Resolves and starts the meter. An explicitly requested meter that cannot be read is an
    /// error; under `auto` the fallbacks end at the labelled estimate.
    init(choice: EnergyMeterChoice) throws {
        let settings = EnergySettings(meter: choice)
        let library = settings.nvmlLibrary
        setup = try EnergyMeterSetup.resolve(settings: settings, sysfs: DirectorySysfs(root: settings.sysfsRoot),
                                             nvml: { try NvmlLibrary(path: library) })
        meter = EnergyMeter(channels: setup.channels, pollInterval: settings.pollIntervalS)
        try meter.start()
    }

    /// `rapl`, `estimated`, `rapl+nvml`, … as `EnergyReport` names it.
    var source: String {
        var sources: [String] = []
        for channel in setup.channels where !sources.contains(channel.source.rawValue) { sources.append(channel.source.rawValue) }
        return sources.joined(separator: "+")
    }

    /// Joules since `init`, sampled now (not only at the last background poll).
    func joules() -> Double? {
        do { try meter.poll() } catch { return nil }
        return meter.snapshot().domains.filter { $0.kind.countsTowardTotal }.reduce(0) { $0 + $1.joules }
    }

    var estimate: [String: Double]? {
        setup.estimate.map { ["watts_per_core": $0.wattsPerCore, "idle_watts": $0.idleWatts] }
    }

    func stop() { _ = try? meter.stop() }
}
