/// Where a joule figure came from. Recorded per domain in every result, so a guess is never
/// mistaken for a reading.
public enum EnergySource: String, Codable, Sendable, CaseIterable {
    /// Intel/AMD RAPL counters through Linux powercap (`/sys/class/powercap/intel-rapl:*`).
    case rapl
    /// NVIDIA GPUs through NVML (total-energy counter, or integrated power samples).
    case nvml
    /// A board sensor through hwmon (`/sys/class/hwmon/*/energy*_input` or `power*_input`).
    case hwmon
    /// No meter: CPU seconds × watts per core + idle watts × seconds, with those parameters
    /// recorded beside the figure.
    case estimated
}
