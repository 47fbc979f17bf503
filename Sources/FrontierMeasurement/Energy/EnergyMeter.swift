import Foundation
import FrontierSupport

/// Joules per domain over one window.
public struct EnergyWindow: Sendable, Equatable {
    public struct Domain: Sendable, Equatable {
        public var name: String
        public var source: EnergySource
        public var kind: EnergyDomainKind
        public var joules: Double
        /// Counter wraps seen (and corrected) in the window.
        public var wraps: Int
        /// Readings dropped as implausible backwards steps (see `EnergyIntegrator`).
        public var discarded: Int = 0
    }

    public var seconds: Double
    public var domains: [Domain]
    /// Polls taken, both ends included.
    public var samples: Int
}

/// Measures energy over a window on a set of channels.
///
/// A background poller samples every channel at `pollInterval`: RAPL counters wrap (a 32-bit
/// µJ counter after about 70 minutes at 1 W, a few seconds at 1 kW), and reading them only at
/// the window's ends would silently lose whole wraps; power-only sensors need the samples to be
/// integrated at all. The interval is capped so that even at `maxPlausibleWatts` a counter
/// cannot wrap twice between two polls.
///
/// `@unchecked Sendable`: the integrators, start time, failure and running flag are read and
/// written only under `lock`; channels, clock and interval are immutable; `poller` is touched
/// only by the thread that calls `start` and `stop`.
public final class EnergyMeter: @unchecked Sendable {
    public let channels: [any EnergyChannel]
    public let pollInterval: Double
    /// Above any single domain's draw on hardware we target (a dual-socket node's package is
    /// ~400 W, an H100 700 W), with margin.
    public static let maxPlausibleWatts = 2000.0

    private let clock: any MeasurementClock
    private let lock = NSLock()
    private var integrators: [EnergyIntegrator] = []
    private var startTime = 0.0
    private var failure: Error?
    private var running = false
    private var poller: Thread?
    private let wake = DispatchSemaphore(value: 0)
    private let pollerDone = DispatchSemaphore(value: 0)

    public init(channels: [any EnergyChannel], pollInterval: Double = 0.1, clock: any MeasurementClock = SystemClock()) {
        self.channels = channels
        self.clock = clock
        self.pollInterval = min(pollInterval, Self.safePollInterval(channels: channels))
    }

    /// Half the fastest wrap time at `maxPlausibleWatts` over the counter channels (probed
    /// once for their range); `infinity` for none.
    static func safePollInterval(channels: [any EnergyChannel]) -> Double {
        var safest = Double.infinity
        for channel in channels {
            if case let .counter(_, range)? = try? channel.sample() {
                safest = min(safest, Double(range) * 1e-6 / maxPlausibleWatts / 2)
            }
        }
        return max(safest, 0.001)
    }

    /// The longest resolution among the channels: the window must be long compared with it.
    public var resolutionSeconds: Double { channels.map(\.resolutionSeconds).max() ?? 0 }

    /// Takes the first sample and, with `background`, starts the poller (tests drive
    /// `poll()` by hand with a fake clock instead).
    public func start(background: Bool = true) throws {
        lock.lock()
        integrators = channels.map { _ in EnergyIntegrator(maxPlausibleWatts: Self.maxPlausibleWatts) }
        failure = nil
        startTime = clock.now()
        lock.unlock()
        try poll()
        guard background else { return }
        lock.lock()
        running = true
        lock.unlock()
        let thread = Thread { [weak self] in self?.pollLoop() }
        thread.name = "frontier-energy-poller"
        thread.stackSize = 1 << 18
        poller = thread
        thread.start()
    }

    /// Samples every channel once. The time is taken, the counters read and the readings
    /// recorded under one lock: the trial thread polls while the background poller runs, and a
    /// reading taken first but recorded second would look like a counter going backwards.
    public func poll() throws {
        lock.lock()
        defer { lock.unlock() }
        let time = clock.now()
        var readings: [EnergySample] = []
        readings.reserveCapacity(channels.count)
        for channel in channels { readings.append(try channel.sample()) }
        for (index, reading) in readings.enumerated() { integrators[index].add(reading, at: time) }
    }

    /// The energy so far, without stopping.
    public func snapshot() -> EnergyWindow {
        lock.lock()
        defer { lock.unlock() }
        return window(until: clock.now())
    }

    /// Takes the last sample, stops the poller and returns the window. Rethrows the first
    /// error the poller met: a counter that became unreadable mid-window invalidates it.
    public func stop() throws -> EnergyWindow {
        lock.lock()
        let wasRunning = running
        running = false
        lock.unlock()
        if wasRunning {
            wake.signal()
            pollerDone.wait()
            poller = nil
        }
        try poll()
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        return window(until: clock.now())
    }

    private func window(until end: Double) -> EnergyWindow {
        EnergyWindow(
            seconds: end - startTime,
            domains: zip(channels, integrators).map { channel, integrator in
                .init(name: channel.domain, source: channel.source, kind: channel.kind, joules: integrator.joules, wraps: integrator.wraps,
                      discarded: integrator.discarded)
            },
            samples: integrators.first?.samples ?? 0)
    }

    private func pollLoop() {
        defer { pollerDone.signal() }
        while true {
            _ = wake.wait(timeout: .now() + pollInterval)
            lock.lock()
            let keepGoing = running
            lock.unlock()
            guard keepGoing else { return }
            do {
                try poll()
            } catch {
                lock.lock()
                if failure == nil { failure = error }
                lock.unlock()
            }
        }
    }
}
