/// One GPU as the result records it. NVML is probed elsewhere (it needs the driver's library,
/// which a CPU-only agent lacks), so the probe takes these from its caller.
public struct GPUDescription: Sendable, Codable, Equatable {
    /// The driver's index, as `CUDA_VISIBLE_DEVICES` and `nvidia-smi` number it.
    public var index: Int
    /// The driver's marketing name, e.g. "NVIDIA H100 80GB HBM3".
    public var name: String
    /// nil when the driver did not say.
    public var memoryTotalBytes: UInt64?

    public init(index: Int, name: String, memoryTotalBytes: UInt64? = nil) {
        self.index = index
        self.name = name
        self.memoryTotalBytes = memoryTotalBytes
    }
}

/// Which machine produced a result, recorded beside every measurement.
///
/// Latency, energy and throughput mean nothing without the machine: the same trial is twice as
/// fast with AMX as without, and a `powersave` governor or a container's cpuset moves it again.
/// So the fingerprint keeps what changes a number (ISA flags that the kernels dispatch on, the
/// CPUs this process may use, the governor, the BLAS build and its threads) and what lets a
/// reader find the machine again (host name, kernel, OS, engine commit). Fields the host could
/// not tell are nil rather than guessed, so an absent value is never mistaken for a measured one.
///
/// `deviceClass` groups machines whose numbers are comparable; `deviceClassSource` says whether
/// Frontier derived it (`DeviceClass.automatic`) or a person chose it, because an override
/// asserts comparability that the hardware alone does not show.
public struct DeviceFingerprint: Sendable, Codable, Equatable {
    public var hostname: String
    /// `vendor_id` from /proc/cpuinfo ("GenuineIntel", "AuthenticAMD"); on arm64 the
    /// `CPU implementer` by name ("ARM", "Ampere"), or its raw hex when the name is not known.
    public var cpuVendor: String
    /// `model name` from /proc/cpuinfo; on arm64, which has none, implementer and part
    /// ("ARM Neoverse-V2"). "unknown" when cpuinfo says nothing.
    public var cpuModel: String
    /// The ISA extensions Frontier's kernels and OpenBLAS dispatch on, as the kernel spells them,
    /// sorted; only those present. See `DeviceProbe.interestingFlags`.
    public var cpuFlags: [String]
    /// CPUs this process may run on: the scheduler affinity mask on the live system (a container's
    /// cpuset is smaller than the machine), else the processors in cpuinfo. 0 when neither says.
    public var logicalCpus: Int
    /// Distinct (socket, core) pairs; nil when the topology is not exposed.
    public var physicalCores: Int?
    public var sockets: Int?
    /// Threads the trial ran with, chosen by the caller.
    public var threadsUsed: Int
    /// cpu0's cpufreq governor; nil in most VMs and containers, which do not expose cpufreq.
    public var frequencyGovernor: String?
    /// `MemTotal` from /proc/meminfo, in bytes.
    public var memoryTotalBytes: UInt64?
    public var kernel: String
    /// `PRETTY_NAME` from os-release.
    public var os: String?
    public var gpus: [GPUDescription]
    /// OpenBLAS's own build description (`openblas_get_config`), which names its kernel target.
    public var openblasConfig: String
    public var openblasThreads: Int
    public var engineVersion: String
    /// The commit the engine was built from; nil when it could not be found.
    public var gitCommit: String?
    public var deviceClass: String
    /// "automatic" or "override".
    public var deviceClassSource: String

    public init(
        hostname: String, cpuVendor: String, cpuModel: String, cpuFlags: [String],
        logicalCpus: Int, physicalCores: Int?, sockets: Int?, threadsUsed: Int,
        frequencyGovernor: String?, memoryTotalBytes: UInt64?, kernel: String, os: String?,
        gpus: [GPUDescription], openblasConfig: String, openblasThreads: Int,
        engineVersion: String, gitCommit: String?, deviceClass: String, deviceClassSource: String
    ) {
        self.hostname = hostname
        self.cpuVendor = cpuVendor
        self.cpuModel = cpuModel
        self.cpuFlags = cpuFlags
        self.logicalCpus = logicalCpus
        self.physicalCores = physicalCores
        self.sockets = sockets
        self.threadsUsed = threadsUsed
        self.frequencyGovernor = frequencyGovernor
        self.memoryTotalBytes = memoryTotalBytes
        self.kernel = kernel
        self.os = os
        self.gpus = gpus
        self.openblasConfig = openblasConfig
        self.openblasThreads = openblasThreads
        self.engineVersion = engineVersion
        self.gitCommit = gitCommit
        self.deviceClass = deviceClass
        self.deviceClassSource = deviceClassSource
    }
}
