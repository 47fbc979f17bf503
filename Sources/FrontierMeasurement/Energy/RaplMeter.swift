/// One RAPL zone's `energy_uj` counter.
public struct RaplChannel: EnergyChannel {
    public let domain: String
    public let kind: EnergyDomainKind
    public var source: EnergySource { .rapl }
    /// RAPL updates about every millisecond; 10 ms keeps the quantisation under a percent
    /// of any window the trial runner accepts.
    public var resolutionSeconds: Double { 0.01 }
    /// The zone folder relative to the sysfs root (`class/powercap/intel-rapl:0`).
    public let zone: String
    public let range: UInt64
    let sysfs: any SysfsReader

    public func sample() throws -> EnergySample {
        .counter(microjoules: try sysfs.readUInt64(zone + "/energy_uj", meter: "RAPL"), range: range)
    }
}

/// Finds the RAPL zones in a powercap tree.
///
/// Layout (Intel and AMD alike): `intel-rapl:N` is a top-level zone named `package-N` or
/// `psys`; `intel-rapl:N:M` are its sub-zones `core`, `uncore` (inside the package figure) and
/// `dram` (outside it). Packages are summed, DRAM is kept apart, `psys` is reported but not
/// added (it contains the packages), and `intel-rapl-mmio:*` is never read: it is a second view
/// of the same package counter, and reading both would double-count.
public enum RaplMeter {
    public static let powercap = "class/powercap"

    public static func channels(sysfs: any SysfsReader) throws -> [RaplChannel] {
        let zones = sysfs.list(powercap).filter { isZone($0) }
        guard !zones.isEmpty else { throw EnergyMeterError.raplAbsent(root: sysfs.rootDescription) }
        var channels: [RaplChannel] = []
        for zone in zones.sorted(by: zoneOrder) {
            let path = powercap + "/" + zone
            let name: String
            do { name = try sysfs.read(path + "/name") } catch { throw EnergyMeterError.unreadable(meter: "RAPL", error) }
            let parts = zone.dropFirst("intel-rapl:".count).split(separator: ":")
            let kind: EnergyDomainKind, domain: String
            if parts.count == 1 {
                if name.hasPrefix("package") { kind = .package; domain = name }
                else if name == "psys" { kind = .platform; domain = "psys" }
                else { continue }
            } else {
                // core and uncore are inside the package figure; only dram is outside it.
                guard name == "dram" else { continue }
                kind = .dram
                domain = "dram-\(parts[0])"
            }
            let range = try sysfs.readUInt64(path + "/max_energy_range_uj", meter: "RAPL")
            let channel = RaplChannel(domain: domain, kind: kind, zone: path, range: range, sysfs: sysfs)
            // Read once now: an unreadable counter must fail here, before the trial, with the fix.
            _ = try channel.sample()
            channels.append(channel)
        }
        guard channels.contains(where: { $0.kind == .package }) else { throw EnergyMeterError.raplAbsent(root: sysfs.rootDescription) }
        return channels
    }

    /// `intel-rapl:N` or `intel-rapl:N:M`; not the `intel-rapl` control type, not `intel-rapl-mmio:*`.
    static func isZone(_ entry: String) -> Bool {
        guard entry.hasPrefix("intel-rapl:") else { return false }
        let rest = entry.dropFirst("intel-rapl:".count).split(separator: ":", omittingEmptySubsequences: false)
        return (1...2).contains(rest.count) && rest.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// Numeric order (intel-rapl:10 after intel-rapl:2).
    static func zoneOrder(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> [Int] { s.dropFirst("intel-rapl:".count).split(separator: ":").compactMap { Int($0) } }
        return key(a).lexicographicallyPrecedes(key(b))
    }
}
