/// One NVIDIA GPU: its total-energy counter where the GPU has one (Volta and later), power
/// samples integrated by the meter otherwise.
public struct NvmlChannel: EnergyChannel {
    public let device: NvmlDevice
    let library: NvmlLibrary

    public var domain: String { "gpu\(device.index)" }
    public var source: EnergySource { .nvml }
    public var kind: EnergyDomainKind { .gpu }
    /// NVML refreshes both the energy counter and the power reading on a ~100 ms cycle.
    public var resolutionSeconds: Double { 0.1 }

    public init(device: NvmlDevice, library: NvmlLibrary) {
        self.device = device
        self.library = library
    }

    public func sample() throws -> EnergySample {
        if device.supportsTotalEnergy, let millijoules = try library.totalEnergyMillijoules(device: device.index) {
            return .counter(microjoules: millijoules &* 1000, range: UInt64.max)
        }
        return .power(watts: Double(try library.powerMilliwatts(device: device.index)) * 1e-3)
    }

    public static func channels(library: NvmlLibrary) throws -> [NvmlChannel] {
        let devices = try library.devices()
        guard !devices.isEmpty else { throw EnergyMeterError.noGPUs }
        return devices.map { NvmlChannel(device: $0, library: library) }
    }
}
