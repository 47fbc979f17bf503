import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the machine's fingerprint from /proc, /sys and /etc under `root`.
///
/// Everything comes from files under one root so tests hand in a fake tree and production reads
/// "/". Only on the live system ("/") does the probe also ask the process itself (the scheduler
/// affinity mask, `uname`, `gethostname`): under a fake root those would describe the test host,
/// not the tree. A fingerprint is recorded even from a half-readable host (a container without
/// /sys, a kernel without cpufreq), so a missing or unreadable file gives a nil field, never an
/// error.
public struct DeviceProbe: Sendable {
    /// "/" in production; a fake tree in tests.
    public var root: String

    public init(root: String = "/") {
        self.root = root
    }

    /// The ISA extensions that change Frontier's speed: the element-wise kernels dispatch on
    /// AVX2/FMA/AVX-512, OpenBLAS picks its GEMM on them, and the VNNI/BF16/AMX and Arm dot-product,
    /// I8MM, BF16 and SVE extensions decide what quantised and reduced-precision techniques gain.
    public static let interestingFlags: Set<String> = [
        "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_int8",
        "asimddp", "i8mm", "bf16", "sve", "sve2",
    ]

    /// Reads everything it can; missing or unreadable files give nil fields, never a throw. With
    /// nothing at all under `root/proc/cpuinfo` it still returns, with cpuModel "unknown".
    ///
    /// `deviceClassOverride` must already have passed `DeviceClass.validated` (the command line
    /// validates it, where the error can be shown); an invalid one here is a programming error.
    public func fingerprint(
        threadsUsed: Int, gpus: [GPUDescription], openblasConfig: String, openblasThreads: Int,
        engineVersion: String, gitCommit: String?, deviceClassOverride: String?
    ) -> DeviceFingerprint {
        let processors = Self.processorBlocks(read("proc/cpuinfo") ?? "")
        let first = processors.first ?? [:]
        let cpuModel = Self.cpuModel(first)
        let topology = Self.cpuinfoTopology(processors) ?? sysfsTopology()

        let deviceClass: String
        let deviceClassSource: String
        if let deviceClassOverride {
            do {
                deviceClass = try DeviceClass.validated(deviceClassOverride)
            } catch {
                preconditionFailure("device class override was not validated by the caller: \(error)")
            }
            deviceClassSource = "override"
        } else {
            deviceClass = DeviceClass.automatic(cpuModel: cpuModel, gpuNames: gpus.map(\.name))
            deviceClassSource = "automatic"
        }

        return DeviceFingerprint(
            hostname: hostname(),
            cpuVendor: Self.cpuVendor(first),
            cpuModel: cpuModel,
            cpuFlags: Self.flags(first),
            logicalCpus: logicalCpus(cpuinfoCount: processors.count),
            physicalCores: topology?.cores,
            sockets: topology?.sockets,
            threadsUsed: threadsUsed,
            frequencyGovernor: nonEmpty(read("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")),
            memoryTotalBytes: Self.memoryTotal(read("proc/meminfo") ?? ""),
            kernel: kernel(),
            os: Self.prettyName(read("etc/os-release") ?? read("usr/lib/os-release") ?? ""),
            gpus: gpus,
            openblasConfig: openblasConfig,
            openblasThreads: openblasThreads,
            engineVersion: engineVersion,
            gitCommit: gitCommit,
            deviceClass: deviceClass,
            deviceClassSource: deviceClassSource
        )
    }

    // MARK: - Files under root

    var isLiveSystem: Bool { URL(fileURLWithPath: root).standardizedFileURL.path == "/" }

    func url(_ relative: String) -> URL {
        URL(fileURLWithPath: root).appendingPathComponent(relative)
    }

    /// A file's text, or nil when it is missing, unreadable or not UTF-8.
    func read(_ relative: String) -> String? {
        guard let data = try? Data(contentsOf: url(relative)) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    func nonEmpty(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else {
            return nil
        }
        return trimmed
    }

    // MARK: - Host, kernel

    func hostname() -> String {
        if let name = nonEmpty(read("proc/sys/kernel/hostname")) ?? nonEmpty(read("etc/hostname")) {
            return name
        }
        if isLiveSystem {
            var buffer = [CChar](repeating: 0, count: 256)
            if gethostname(&buffer, buffer.count - 1) == 0 {
                let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !name.isEmpty { return name }
            }
        }
        return "unknown"
    }

    func kernel() -> String {
        if let release = nonEmpty(read("proc/sys/kernel/osrelease")) { return release }
        if isLiveSystem {
            var names = utsname()
            if uname(&names) == 0 {
                let release = withUnsafeBytes(of: &names.release) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                if !release.isEmpty { return release }
            }
        }
        return "unknown"
    }

    // MARK: - CPUs

    /// The CPUs this process may run on (the affinity mask, which a container's cpuset or
    /// `taskset` narrows) on the live system; else processors in cpuinfo; else the kernel's
    /// `online` list. 0 when none of them says.
    func logicalCpus(cpuinfoCount: Int) -> Int {
        if isLiveSystem, let allowed = Self.affinityCount(), allowed > 0 { return allowed }
        if cpuinfoCount > 0 { return cpuinfoCount }
        return Self.countCPUList(read("sys/devices/system/cpu/online") ?? "") ?? 0
    }

    /// Bits set in `sched_getaffinity`'s mask. Glibc's declaration is hidden behind _GNU_SOURCE
    /// from Swift (and CPU_COUNT is a macro), so the symbol is looked up at run time and the
    /// mask's bytes counted directly. nil when the call fails, e.g. on more than 1024 CPUs.
    static func affinityCount() -> Int? {
        #if os(Linux)
        typealias SchedGetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "sched_getaffinity") else {
            return nil
        }
        let getAffinity = unsafeBitCast(symbol, to: SchedGetAffinity.self)
        var mask = cpu_set_t()
        let size = MemoryLayout<cpu_set_t>.size
        let rc = withUnsafeMutableBytes(of: &mask) { getAffinity(0, size, $0.baseAddress) }
        guard rc == 0 else { return nil }
        return withUnsafeBytes(of: &mask) { bytes in bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
        #else
        return nil
        #endif
    }

    /// "0-3,8-11" → 8; nil when the text is not such a list.
    static func countCPUList(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        var count = 0
        for range in trimmed.split(separator: ",") {
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            switch bounds.count {
            case 1:
                guard bounds[0] != nil else { return nil }
                count += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }
                count += high - low + 1
            default:
                return nil
            }
        }
        return count
    }

    /// cpuinfo's per-processor blocks (those with a `processor` line; arm32 kernels add a
    /// trailing machine block without one), each as key → value.
    static func processorBlocks(_ text: String) -> [[String: String]] {
        var blocks: [[String: String]] = []
        var current: [String: String] = [:]
        func finish() {
            if current["processor"] != nil { blocks.append(current) }
            current = [:]
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { finish() }
                continue
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            // A new `processor` line without a blank line before it still starts a block.
            if key == "processor" && current["processor"] != nil { finish() }
            current[key] = value
        }
        finish()
        return blocks
    }

    /// `vendor_id` on x86; on Arm the implementer by name, else its raw code.
    static func cpuVendor(_ processor: [String: String]) -> String {
        if let vendor = processor["vendor_id"], !vendor.isEmpty { return vendor }
        if let implementer = processor["CPU implementer"], !implementer.isEmpty {
            return armImplementers[implementer.lowercased()] ?? implementer
        }
        return "unknown"
    }

    /// `model name`; on Arm, which has none, "<implementer> <part>" ("ARM Neoverse-N1").
    static func cpuModel(_ processor: [String: String]) -> String {
        if let model = processor["model name"], !model.isEmpty { return model }
        if let implementer = processor["CPU implementer"]?.lowercased(), !implementer.isEmpty {
            let vendor = armImplementers[implementer] ?? implementer
            guard let part = processor["CPU part"]?.lowercased(), !part.isEmpty else { return vendor }
            let partName = implementer == "0x41" ? armParts[part] : nil
            return "\(vendor) \(partName ?? part)"
        }
        return "unknown"
    }

    /// The first processor's interesting flags (x86 `flags`, Arm `Features`), sorted.
    static func flags(_ processor: [String: String]) -> [String] {
        let listed = (processor["flags"] ?? processor["Features"] ?? "").split(separator: " ").map(String.init)
        return Set(listed).intersection(interestingFlags).sorted()
    }

    struct Topology: Equatable {
        var cores: Int
        var sockets: Int?
    }

    /// Distinct (physical id, core id) pairs and physical ids from cpuinfo, as x86 kernels list
    /// them; nil when no processor has both.
    static func cpuinfoTopology(_ processors: [[String: String]]) -> Topology? {
        var cores = Set<[String]>()
        var sockets = Set<String>()
        for processor in processors {
            guard let socket = processor["physical id"], let core = processor["core id"] else { continue }
            cores.insert([socket, core])
            sockets.insert(socket)
        }
        return cores.isEmpty ? nil : Topology(cores: cores.count, sockets: sockets.count)
    }

    /// The same from /sys/devices/system/cpu/cpuN/topology, which Arm kernels expose where
    /// cpuinfo does not. A package id of -1 (firmware did not say) leaves sockets unknown.
    func sysfsTopology() -> Topology? {
        let cpuDirectory = "sys/devices/system/cpu"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: url(cpuDirectory).path) else {
            return nil
        }
        var cores = Set<[Int]>()
        var sockets = Set<Int>()
        var socketsKnown = true
        for entry in entries where entry.hasPrefix("cpu") && Int(entry.dropFirst(3)) != nil {
            let topology = "\(cpuDirectory)/\(entry)/topology"
            guard let core = nonEmpty(read("\(topology)/core_id")).flatMap({ Int($0) }),
                let socket = nonEmpty(read("\(topology)/physical_package_id")).flatMap({ Int($0) })
            else { continue }
            cores.insert([socket, core])
            if socket < 0 { socketsKnown = false } else { sockets.insert(socket) }
        }
        guard !cores.isEmpty else { return nil }
        return Topology(cores: cores.count, sockets: socketsKnown ? sockets.count : nil)
    }

    /// Implementer codes, as util-linux's lscpu names them.
    static let armImplementers: [String: String] = [
        "0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu", "0x48": "HiSilicon",
        "0x4e": "NVIDIA", "0x50": "APM", "0x51": "Qualcomm", "0x61": "Apple", "0x6d": "Microsoft",
        "0xc0": "Ampere",
    ]

    /// Arm Ltd. (0x41) part numbers of the cores found in servers and boards Frontier runs on:
    /// Graviton 2/3/4 and Ampere Altra are Neoverse N1/V1/V2, Grace is V2.
    static let armParts: [String: String] = [
        "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
        "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
        "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78",
        "0xd44": "Cortex-X1", "0xd46": "Cortex-A510", "0xd47": "Cortex-A710", "0xd48": "Cortex-X2",
        "0xd49": "Neoverse-N2", "0xd4f": "Neoverse-V2",
    ]

    // MARK: - Memory, OS

    /// `MemTotal:  263842312 kB` → bytes.
    static func memoryTotal(_ meminfo: String) -> UInt64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.dropFirst("MemTotal:".count).split(separator: " ")
            guard let value = fields.first.flatMap({ UInt64($0) }) else { return nil }
            let unit = fields.count > 1 ? fields[1].lowercased() : ""
            switch unit {
            case "kb": return value.multipliedReportingOverflow(by: 1024).overflow ? nil : value * 1024
            case "": return value
            default: return nil
            }
        }
        return nil
    }

    /// `PRETTY_NAME` from os-release(5): shell-style, optionally quoted, backslash escapes.
    static func prettyName(_ osRelease: String) -> String? {
        for line in osRelease.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("PRETTY_NAME=") else { continue }
            var value = Substring(trimmed.dropFirst("PRETTY_NAME=".count))
            if let quote = value.first, quote == "\"" || quote == "'" {
                value = value.dropFirst()
                if value.last == quote { value = value.dropLast() }
                if quote == "\"" {
                    var unescaped = ""
                    var escaping = false
                    for character in value {
                        if escaping || character != "\\" {
                            unescaped.append(character)
                            escaping = false
                        } else {
                            escaping = true
                        }
                    }
                    value = Substring(unescaped)
                }
            }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }
}
