/// Why a meter cannot be used. Each message names the file or library and says how to fix it:
/// a silent fallback to a guess is the complaint users have about energy tools.
public enum EnergyMeterError: Error, CustomStringConvertible, Equatable {
    /// No `intel-rapl:N` zones under the tree (not an x86 host, the `intel_rapl_common` /
    /// powercap driver not loaded, or a container without the host's sysfs).
    case raplAbsent(root: String)
    /// A counter exists but cannot be read; `meter` is "RAPL" or "hwmon".
    case unreadable(meter: String, SysfsError)
    /// A RAPL file holds something other than a number.
    case malformed(path: String, contents: String)
    case hwmonAbsent(root: String)
    case nvmlUnavailable(String)
    case noGPUs
    case invalidSetting(String)

    public var description: String {
        switch self {
        case let .raplAbsent(root):
            return "RAPL: no intel-rapl:N zones under \(root)/class/powercap (not an Intel/AMD x86 host, the intel_rapl_common module is not loaded, or this container does not see the host's /sys; mount it and pass --sysfs-root)"
        case let .unreadable(meter, error):
            if meter == "RAPL", error.isPermissionDenied {
                return "RAPL: \(error); since Linux 5.10 (the PLATYPUS fix, CVE-2020-8694) energy_uj is readable by root only. Fix: install the udev rule in deploy/systemd/99-frontier-rapl.rules (or run `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj` after each boot), or run the agent as root; see the README's 'Reading RAPL' section"
            }
            return "\(meter): \(error)"
        case let .malformed(path, contents):
            return "\(path) does not hold a non-negative integer: '\(contents.prefix(40))'"
        case let .hwmonAbsent(root):
            return "hwmon: no energy*_input or power*_input sensors under \(root)/class/hwmon"
        case let .nvmlUnavailable(detail):
            return "NVML: \(detail)"
        case .noGPUs:
            return "NVML: the library loaded but reports no GPUs"
        case let .invalidSetting(detail):
            return detail
        }
    }
}

extension SysfsReader {
    /// A file that must hold one unsigned integer (sysfs counters and ranges).
    func readUInt64(_ path: String, meter: String) throws -> UInt64 {
        let text: String
        do { text = try read(path) } catch { throw EnergyMeterError.unreadable(meter: meter, error) }
        guard let value = UInt64(text) else {
            throw EnergyMeterError.malformed(path: rootDescription + "/" + path, contents: text)
        }
        return value
    }
}
