/// One reading from an energy channel.
public enum EnergySample: Sendable, Equatable {
    /// A cumulative counter in microjoules that wraps to zero after reaching `range`
    /// (`max_energy_range_uj` for RAPL).
    case counter(microjoules: UInt64, range: UInt64)
    /// Instantaneous power; energy is its integral over the poller's samples.
    case power(watts: Double)
}

/// One measured domain: a RAPL package, DRAM, a GPU, a board sensor, or the estimate.
///
/// Channels only read; `EnergyMeter` owns the timing, the wraparound and the integration, so a
/// new kind of meter is one small type.
public protocol EnergyChannel: Sendable {
    /// The domain's name in results: `package-0`, `dram`, `gpu0`, `hwmon:amdgpu/power1`, `cpu`.
    var domain: String { get }
    var source: EnergySource { get }
    var kind: EnergyDomainKind { get }
    /// How often the value changes, in seconds. A window shorter than a few of these is mostly
    /// quantisation, so trials are extended until they are long compared with it.
    var resolutionSeconds: Double { get }
    func sample() throws -> EnergySample
}

/// What a domain covers, so results can sum like with like: packages together, DRAM apart,
/// and overlapping domains out of the total.
public enum EnergyDomainKind: String, Codable, Sendable {
    /// A CPU socket (RAPL `package-N`; core and uncore sub-zones are inside it and not read).
    case package
    /// Memory attached to a socket (RAPL `dram`), outside the package figure.
    case dram
    case gpu
    /// A board or device sensor seen through hwmon.
    case board
    /// The whole platform (RAPL `psys`): it contains the packages, so it is reported but never
    /// added to the total.
    case platform
    /// The estimate's single figure for this process.
    case estimate

    public var countsTowardTotal: Bool { self != .platform }
}
