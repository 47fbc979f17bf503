import Foundation
import Testing
@testable import FrontierMeasurement
@testable import FrontierSupport


/// The meters against fake sysfs trees: the cases users of energy tools get burned by —
/// counters that wrap, two sockets, DRAM, the mmio duplicate, unreadable files, hwmon-only boards.
@Suite struct EnergyMeterTests {
    func domains(_ window: EnergyWindow) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: window.domains.map { ($0.name, $0.joules) })
    }

    @Test func twoPackagesSummedDramApartPsysAndMmioNotCounted() throws {
        let tree = try FakeSysfsTree()
        try tree.twoSocketRapl()
        let channels = try RaplMeter.channels(sysfs: tree.reader)
        #expect(channels.map(\.domain) == ["package-0", "dram-0", "package-1", "dram-1", "psys"])
        #expect(!channels.contains { $0.zone.contains("mmio") })

        let clock = FakeClock()
        let meter = EnergyMeter(channels: channels, clock: clock)
        try meter.start(background: false)
        try tree.setEnergy("intel-rapl:0", 1_000_000 + 10_000_000)   // +10 J
        try tree.setEnergy("intel-rapl:1", 3_000_000 + 5_000_000)    // +5 J
        try tree.setEnergy("intel-rapl:0:1", 2_000_000 + 1_000_000)  // dram-0 +1 J
        try tree.setEnergy("intel-rapl:1:0", 4_000_000 + 500_000)    // dram-1 +0.5 J
        try tree.setEnergy("intel-rapl:2", 9_000_000 + 20_000_000)   // psys +20 J
        try tree.setEnergy("intel-rapl-mmio:0", 99_000_000)          // never read
        clock.advance(2)
        let window = try meter.stop()
        let joules = domains(window)
        #expect(abs(joules["package-0"]! - 10) < 1e-9)
        #expect(abs(joules["package-1"]! - 5) < 1e-9)
        #expect(abs(joules["dram-0"]! - 1) < 1e-9)
        #expect(window.seconds == 2)

        let report = EnergyReport(window: window, idle: IdleBaseline(seconds: 5, watts: ["package-0": 1, "package-1": 1, "dram-0": 0.25, "dram-1": 0.25, "psys": 5]),
                                  estimate: nil, pollIntervalS: meter.pollInterval, notes: [])
        #expect(report.source == "rapl")
        #expect(abs(report.packageJ! - 15) < 1e-9)
        #expect(abs(report.dramJ! - 1.5) < 1e-9)
        #expect(abs(report.grossJ - 16.5) < 1e-9, "psys contains the packages and must not be added")
        #expect(abs(report.netJ! - (16.5 - 2 * 2.5)) < 1e-9)
        #expect(report.domains.first { $0.name == "psys" }?.countsTowardTotal == false)
    }

    @Test func counterThatWrapsDuringTheWindowStillGivesTheRightEnergy() throws {
        let tree = try FakeSysfsTree()
        let range: UInt64 = 1_000_000  // wraps after 1 J
        try tree.raplZone("intel-rapl:0", name: "package-0", energy: 700_000, range: range)
        let clock = FakeClock()
        let meter = EnergyMeter(channels: try RaplMeter.channels(sysfs: tree.reader), clock: clock)
        try meter.start(background: false)
        // 0.7 → 0.95 (+0.25), wrap → 0.2 (+0.05 to the top, +1 µJ to 0, +0.2), → 0.9 (+0.7), wrap → 0.1
        for value: UInt64 in [950_000, 200_000, 900_000, 100_000] {
            try tree.setEnergy("intel-rapl:0", value)
            clock.advance(0.1)
            try meter.poll()
        }
        let window = try meter.stop()
        #expect(window.domains[0].wraps == 2)
        let expected = 0.25 + (0.05 + 0.000001 + 0.2) + 0.7 + (0.1 + 0.000001 + 0.1)
        #expect(abs(window.domains[0].joules - expected) < 1e-9, "got \(window.domains[0].joules)")
    }

    @Test func pollIntervalIsCappedByTheWrapTime() throws {
        let tree = try FakeSysfsTree()
        try tree.raplZone("intel-rapl:0", name: "package-0", energy: 0, range: 4_000_000_000)  // 4 kJ
        let meter = EnergyMeter(channels: try RaplMeter.channels(sysfs: tree.reader), pollInterval: 5)
        // 4 kJ at 2 kW wraps in 2 s: poll at least every second.
        #expect(meter.pollInterval == 1)
    }

    /// The real background poller, on a synthetic counter moving at 10 W that wraps every
    /// 0.5 J: reading only at the ends would lose almost everything.
    @Test func backgroundPollerCatchesEveryWrap() throws {
        struct SyntheticCounter: EnergyChannel {
            let origin = MonotonicClock.now()
            var domain: String { "package-0" }
            var source: EnergySource { .rapl }
            var kind: EnergyDomainKind { .package }
            var resolutionSeconds: Double { 0.001 }
            func sample() throws -> EnergySample {
                let microjoules = UInt64((MonotonicClock.now() - origin) * 10 * 1e6)
                return .counter(microjoules: microjoules % 500_001, range: 500_000)
            }
        }
        let meter = EnergyMeter(channels: [SyntheticCounter()], pollInterval: 0.002)
        try meter.start()
        Thread.sleep(forTimeInterval: 0.4)
        let window = try meter.stop()
        let watts = window.domains[0].joules / window.seconds
        #expect(window.domains[0].wraps >= 6)
        #expect(abs(watts - 10) < 1, "measured \(watts) W over \(window.seconds) s")
    }

    @Test func unreadableCounterNamesTheFileAndTheFixAndAutoFallsBackWithALabel() throws {
        let tree = try FakeSysfsTree()
        try tree.twoSocketRapl()
        let refusing = RefusingSysfs(base: tree.reader) { $0.hasSuffix("energy_uj") }
        var explicit = EnergySettings(meter: .rapl)
        #expect {
            _ = try EnergyMeterSetup.resolve(settings: explicit, sysfs: refusing, nvml: noNvml)
        } throws: { error in
            let text = "\(error)"
            return text.contains(tree.root.path + "/class/powercap/intel-rapl:0/energy_uj") && text.contains("Permission denied")
                && text.contains("udev") && text.contains("chmod")
        }

        explicit.meter = .auto
        let clock = FakeClock(), cpu = FakeCPUTime()
        let setup = try EnergyMeterSetup.resolve(settings: explicit, sysfs: refusing, nvml: noNvml, cpuTime: cpu, clock: clock)
        #expect(setup.channels.map(\.source) == [.estimated])
        #expect(setup.estimate == EnergyEstimateParameters())
        #expect(setup.notes.first?.contains("estimated") == true)
        #expect(setup.notes.contains { $0.contains("intel-rapl:0/energy_uj") && $0.contains("Permission denied") })
        #expect(setup.notes.contains { $0.contains("NVML") })
        #expect(setup.notes.contains { $0.contains("hwmon") })
    }

    @Test func noRaplTreeIsAClearErrorWhenRequested() throws {
        let tree = try FakeSysfsTree()
        #expect {
            _ = try EnergyMeterSetup.resolve(settings: EnergySettings(meter: .rapl), sysfs: tree.reader, nvml: noNvml)
        } throws: { "\($0)".contains("no intel-rapl:N zones under \(tree.root.path)") }
        try tree.raplZone("intel-rapl:0", name: "package-0", energy: 12)
        try tree.write("class/powercap/intel-rapl:0/energy_uj", "lots")
        #expect {
            _ = try RaplMeter.channels(sysfs: tree.reader)
        } throws: { "\($0)".contains("energy_uj does not hold a non-negative integer: 'lots'") }
    }

    @Test func hwmonPrefersEnergyCountersAndIntegratesPowerOtherwise() throws {
        let tree = try FakeSysfsTree()
        // A board with an energy counter and a power sensor: only the counter is read.
        try tree.write("class/hwmon/hwmon0/name", "xgene_hwmon")
        try tree.write("class/hwmon/hwmon0/energy1_input", "1000000")
        try tree.write("class/hwmon/hwmon0/energy1_label", "CPU energy")
        try tree.write("class/hwmon/hwmon0/power1_input", "15000000")
        // A GPU with power only (µW), refreshed every 50 ms.
        try tree.write("class/hwmon/hwmon1/name", "amdgpu")
        try tree.write("class/hwmon/hwmon1/power1_average", "40000000")
        try tree.write("class/hwmon/hwmon1/update_interval", "50")
        // amd_energy: per-core counters inside the socket one; only the socket is kept.
        try tree.write("class/hwmon/hwmon2/name", "amd_energy")
        try tree.write("class/hwmon/hwmon2/energy1_input", "100")
        try tree.write("class/hwmon/hwmon2/energy1_label", "Ecore000")
        try tree.write("class/hwmon/hwmon2/energy17_input", "5000")
        try tree.write("class/hwmon/hwmon2/energy17_label", "Esocket0")
        // Temperature only: ignored.
        try tree.write("class/hwmon/hwmon3/name", "k10temp")
        try tree.write("class/hwmon/hwmon3/temp1_input", "40000")

        let channels = try HwmonMeter.channels(sysfs: tree.reader)
        #expect(channels.map(\.domain) == ["hwmon:xgene_hwmon/CPU_energy", "hwmon:amdgpu/power1", "hwmon:amd_energy/Esocket0"])
        #expect(channels[1].resolutionSeconds == 0.05)

        let clock = FakeClock()
        let meter = EnergyMeter(channels: channels, clock: clock)
        try meter.start(background: false)
        try tree.write("class/hwmon/hwmon0/energy1_input", "4000000")     // +3 J
        try tree.write("class/hwmon/hwmon1/power1_average", "60000000")   // 40 W → 60 W over 1 s
        try tree.write("class/hwmon/hwmon2/energy17_input", "2005000")    // +2 J
        clock.advance(1)
        let joules = domains(try meter.stop())
        #expect(abs(joules["hwmon:xgene_hwmon/CPU_energy"]! - 3) < 1e-9)
        #expect(abs(joules["hwmon:amdgpu/power1"]! - 50) < 1e-9, "trapezoid of 40 W and 60 W over 1 s")
        #expect(abs(joules["hwmon:amd_energy/Esocket0"]! - 2) < 1e-9)
    }

    @Test func autoUsesHwmonWhenThereIsNoRapl() throws {
        let tree = try FakeSysfsTree()
        try tree.write("class/hwmon/hwmon0/name", "acpi_power_meter")
        try tree.write("class/hwmon/hwmon0/power1_input", "120000000")
        let setup = try EnergyMeterSetup.resolve(settings: EnergySettings(), sysfs: tree.reader, nvml: noNvml)
        #expect(setup.channels.map(\.source) == [.hwmon])
        #expect(setup.estimate == nil)
        #expect(setup.notes.contains { $0.contains("RAPL") })
    }

    @Test func estimateIsCpuSecondsTimesWattsPlusIdleAndSaysSo() throws {
        let clock = FakeClock(), cpu = FakeCPUTime()
        let parameters = EnergyEstimateParameters(wattsPerCore: 10, idleWatts: 4)
        let setup = try EnergyMeterSetup.resolve(settings: EnergySettings(meter: .estimated, estimate: parameters),
                                                 sysfs: DirectorySysfs(root: "/nonexistent"), nvml: noNvml, cpuTime: cpu, clock: clock)
        let meter = EnergyMeter(channels: setup.channels, clock: clock)
        try meter.start(background: false)
        cpu.add(3)          // 3 CPU seconds (two cores busy for 1.5 s)
        clock.advance(1.5)
        let window = try meter.stop()
        #expect(abs(window.domains[0].joules - (3 * 10 + 1.5 * 4)) < 1e-5)
        let report = EnergyReport(window: window, idle: IdleBaseline(seconds: 2, watts: ["cpu": 4]), estimate: setup.estimate,
                                  pollIntervalS: meter.pollInterval, notes: setup.notes)
        #expect(report.source == "estimated")
        #expect(report.estimate == parameters)
        #expect(abs(report.netJ! - 30) < 1e-5, "idle-subtracted: the CPU part alone")
        let json = String(decoding: try JSONCoding.encoder.encode(report), as: UTF8.self)
        #expect(json.contains("\"source\" : \"estimated\""))
        #expect(json.contains("\"watts_per_core\" : 10"))
    }

    @Test func idleBaselineIsMeanPowerPerDomain() {
        let window = EnergyWindow(seconds: 4, domains: [.init(name: "package-0", source: .rapl, kind: .package, joules: 40, wraps: 0)], samples: 3)
        #expect(IdleBaseline(window: window).watts == ["package-0": 10])
    }

    @Test func invalidSettingsAreRejected() {
        #expect(throws: EnergyMeterError.self) {
            try EnergySettings(pollIntervalS: 0).validate()
        }
        #expect(throws: EnergyMeterError.self) {
            try EnergySettings(estimate: EnergyEstimateParameters(wattsPerCore: -1)).validate()
        }
    }
    /// Regression (issue 13): `poll()` from the trial thread while the background poller runs.
    /// A reading taken first but recorded second looked like a counter going backwards, was
    /// taken for a wrap, and added a whole `max_energy_range_uj` (≈ 262 kJ) to a window that
    /// drew 3 mJ. The channel here holds its first caller between reading and returning, so
    /// the second caller's later reading is ready first.
    @Test func concurrentPollsNeverTurnAnOutOfOrderReadingIntoAWrap() throws {
        final class SlowCounter: EnergyChannel, @unchecked Sendable {
            // @unchecked Sendable: `value` and `holdNext` are touched only under `lock`.
            private let lock = NSLock()
            private var value: UInt64 = 0
            private var holdNext = false
            var domain: String { "package-0" }
            var source: EnergySource { .rapl }
            var kind: EnergyDomainKind { .package }
            var resolutionSeconds: Double { 0.001 }
            func holdTheNextReading() { lock.lock(); holdNext = true; lock.unlock() }
            func sample() throws -> EnergySample {
                lock.lock()
                value += 1000
                let reading = value, hold = holdNext
                holdNext = false
                lock.unlock()
                if hold { Thread.sleep(forTimeInterval: 0.2) }
                return .counter(microjoules: reading, range: 262_143_328_850)
            }
        }
        let counter = SlowCounter()
        let meter = EnergyMeter(channels: [counter], pollInterval: 10)
        try meter.start(background: false)  // reads 1000 µJ
        counter.holdTheNextReading()
        let slowDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? meter.poll()  // reads 2000 µJ, then stalls before recording it
            slowDone.signal()
        }
        Thread.sleep(forTimeInterval: 0.05)
        try meter.poll()       // reads 3000 µJ
        slowDone.wait()
        let window = try meter.stop()
        #expect(window.domains[0].wraps == 0)
        #expect(window.domains[0].joules < 0.01, "got \(window.domains[0].joules) J for 3-4 mJ of counter movement")
    }

    /// A backwards step that no plausible power could have wrapped in the time elapsed is an
    /// error reading (dropped, and counted), not a wrap.
    @Test func aBackwardsStepTooLargeToBeAWrapIsDiscarded() {
        let range: UInt64 = 262_143_328_850
        var integrator = EnergyIntegrator()
        integrator.add(.counter(microjoules: 1_000_000, range: range), at: 0)
        integrator.add(.counter(microjoules: 2_470_000, range: range), at: 0.1)
        integrator.add(.counter(microjoules: 2_400_000, range: range), at: 0.2)  // stale reading
        integrator.add(.counter(microjoules: 2_500_000, range: range), at: 0.3)
        #expect(integrator.wraps == 0)
        #expect(integrator.discarded == 1)
        #expect(abs(integrator.joules - 1.5) < 1e-9, "got \(integrator.joules)")
        // A real wrap near the top of the range, in plausible time, still counts.
        var wrapping = EnergyIntegrator()
        wrapping.add(.counter(microjoules: range - 500_000, range: range), at: 0)
        wrapping.add(.counter(microjoules: 499_999, range: range), at: 0.1)
        #expect(wrapping.wraps == 1)
        #expect(abs(wrapping.joules - 1.0) < 1e-9)
    }
}
