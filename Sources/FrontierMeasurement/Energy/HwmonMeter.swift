/// One hwmon sensor: a cumulative `energyN_input` (µJ) or an instantaneous `powerN_input` /
/// `powerN_average` (µW).
public struct HwmonChannel: EnergyChannel {
    public let domain: String
    public var source: EnergySource { .hwmon }
    public var kind: EnergyDomainKind { .board }
    public let resolutionSeconds: Double
    /// Relative to the sysfs root (`class/hwmon/hwmon3/energy1_input`).
    public let file: String
    public let isEnergy: Bool
    let sysfs: any SysfsReader

    public func sample() throws -> EnergySample {
        let value = try sysfs.readUInt64(file, meter: "hwmon")
        // hwmon energy counters are 64-bit µJ and do not wrap in practice.
        return isEnergy ? .counter(microjoules: value, range: UInt64.max) : .power(watts: Double(value) * 1e-6)
    }
}

/// Finds energy and power sensors under `class/hwmon`, for boards that expose no RAPL (many
/// Arm servers, some AMD desktops through `amd_energy`, GPUs through `amdgpu`).
///
/// Per device an energy counter is preferred to a power sensor (no integration error). The
/// `amd_energy` driver exposes per-core counters *and* per-socket ones that contain them; only
/// the sockets are kept so nothing is counted twice.
public enum HwmonMeter {
    public static let hwmon = "class/hwmon"

    public static func channels(sysfs: any SysfsReader) throws -> [HwmonChannel] {
        var channels: [HwmonChannel] = []
        for device in sysfs.list(hwmon) where device.hasPrefix("hwmon") {
            let folder = hwmon + "/" + device
            let name = (try? sysfs.read(folder + "/name")) ?? device
            // update_interval is in milliseconds when the driver has one.
            let interval = (try? sysfs.read(folder + "/update_interval")).flatMap(Double.init).map { $0 / 1000 } ?? 1.0
            let entries = sysfs.list(folder)
            var energy = entries.filter { $0.hasPrefix("energy") && $0.hasSuffix("_input") }
            if name == "amd_energy" {
                energy = energy.filter { entry in
                    let label = (try? sysfs.read(folder + "/" + entry.replacingOccurrences(of: "_input", with: "_label"))) ?? ""
                    return label.lowercased().hasPrefix("esocket")
                }
            }
            let power = entries.filter { $0.hasPrefix("power") && ($0.hasSuffix("_input") || $0.hasSuffix("_average")) }
            // One power file per sensor: prefer _input to _average for the same index.
            let powerBySensor = Dictionary(grouping: power) { $0.split(separator: "_").first.map(String.init) ?? $0 }
                .mapValues { files in files.first { $0.hasSuffix("_input") } ?? files[0] }
            let chosen = !energy.isEmpty ? energy.map { ($0, true) } : powerBySensor.values.sorted().map { ($0, false) }
            for (file, isEnergy) in chosen {
                let sensor = String(file.split(separator: "_").first ?? Substring(file))
                let label = (try? sysfs.read(folder + "/" + sensor + "_label")).map { $0.replacingOccurrences(of: " ", with: "_") }
                let channel = HwmonChannel(domain: "hwmon:\(name)/\(label ?? sensor)", resolutionSeconds: interval,
                                           file: folder + "/" + file, isEnergy: isEnergy, sysfs: sysfs)
                _ = try channel.sample()
                channels.append(channel)
            }
        }
        guard !channels.isEmpty else { throw EnergyMeterError.hwmonAbsent(root: sysfs.rootDescription) }
        return channels
    }
}
