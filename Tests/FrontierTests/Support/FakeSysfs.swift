import Foundation
@testable import FrontierMeasurement
@testable import FrontierSupport

/// A sysfs tree in a temporary folder: tests write counters, move them, and read them through
/// the same `DirectorySysfs` the agent uses on `/sys`.
final class FakeSysfsTree {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var reader: DirectorySysfs { DirectorySysfs(root: root.path) }

    func write(_ path: String, _ contents: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (contents + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// A RAPL zone with its name, counter and range.
    func raplZone(_ zone: String, name: String, energy: UInt64, range: UInt64 = 262_143_328_850) throws {
        try write("class/powercap/\(zone)/name", name)
        try write("class/powercap/\(zone)/energy_uj", "\(energy)")
        try write("class/powercap/\(zone)/max_energy_range_uj", "\(range)")
    }

    func setEnergy(_ zone: String, _ energy: UInt64) throws {
        try write("class/powercap/\(zone)/energy_uj", "\(energy)")
    }

    /// A two-socket Intel host: packages with core/uncore/dram sub-zones, psys, and the mmio
    /// duplicate of package 0.
    func twoSocketRapl() throws {
        try raplZone("intel-rapl:0", name: "package-0", energy: 1_000_000)
        try raplZone("intel-rapl:0:0", name: "core", energy: 500_000)
        try raplZone("intel-rapl:0:1", name: "dram", energy: 2_000_000)
        try raplZone("intel-rapl:1", name: "package-1", energy: 3_000_000)
        try raplZone("intel-rapl:1:0", name: "dram", energy: 4_000_000)
        try raplZone("intel-rapl:2", name: "psys", energy: 9_000_000)
        try raplZone("intel-rapl-mmio:0", name: "package-0", energy: 7_000_000)
        try write("class/powercap/intel-rapl/enabled", "1")
    }
}

/// Wraps a reader and refuses some files with an errno, as a kernel does (root can read a
/// chmod-000 file, so permissions alone cannot fake it in a test running as root).
struct RefusingSysfs: SysfsReader {
    var base: DirectorySysfs
    var refuse: @Sendable (String) -> Bool
    var code: Int32 = EACCES

    var rootDescription: String { base.rootDescription }
    func read(_ path: String) throws(SysfsError) -> String {
        if refuse(path) { throw SysfsError(path: base.fullPath(path), code: code) }
        return try base.read(path)
    }
    func list(_ path: String) -> [String] { base.list(path) }
    func exists(_ path: String) -> Bool { base.exists(path) }
}

/// A clock the test moves.
final class FakeClock: MeasurementClock, @unchecked Sendable {
    private let lock = NSLock()
    private var time: Double
    init(_ start: Double = 100) { time = start }
    func now() -> Double { lock.lock(); defer { lock.unlock() }; return time }
    func advance(_ seconds: Double) { lock.lock(); time += seconds; lock.unlock() }
}

final class FakeCPUTime: CPUTimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var seconds = 0.0
    func cpuSeconds() -> Double { lock.lock(); defer { lock.unlock() }; return seconds }
    func add(_ value: Double) { lock.lock(); seconds += value; lock.unlock() }
}

/// No NVML on the test machine (or a deliberately absent one).
let noNvml: @Sendable () throws -> NvmlLibrary = { throw NvmlError.libraryNotFound(path: "libnvidia-ml.so.1", dlerror: "not loaded in tests") }
