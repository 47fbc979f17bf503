import Foundation
import FrontierMeasurement
import Synchronization

/// An agent's latest measurement of each baseline it pairs trials with, and how much it has
/// been used: a measurement serves the next trials until `every_trials` of them have used it or
/// it is `every_minutes` old (or was itself disturbed), then the agent measures the baseline
/// again. Shared by the trials an agent runs one after another; a lock, not an actor, because
/// the runner is synchronous.
public final class PairedBaselineCache: Sendable {
    struct Entry {
        var measurement: PairedBaselineMeasurement
        var at: Date
        var uses: Int
    }

    private let state = Mutex<(entries: [String: Entry], count: Int)>(([:], 0))
    let agentId: String
    let now: @Sendable () -> Date

    public init(agentId: String, now: @escaping @Sendable () -> Date = Date.init) {
        self.agentId = agentId
        self.now = now
    }

    /// Whether `key` must be measured (again) before a trial can be paired with it.
    public func isStale(_ key: String, settings: PairedBaselineSettings) -> Bool {
        state.withLock { state in
            guard let entry = state.entries[key] else { return true }
            return entry.uses >= settings.everyTrials || now().timeIntervalSince(entry.at) >= settings.everyMinutes * 60
                || entry.measurement.disturbed
        }
    }

    /// Records a fresh measurement of `key` from a baseline result; returns it (used by no
    /// trial yet). Nil when the result carries no timing figure to pair with.
    @discardableResult
    public func record(_ key: String, result: TrialResult) -> PairedBaselineMeasurement? {
        guard result.status == .ok, result.latencyP50Ms != nil || result.throughputExamplesPerS != nil else { return nil }
        return state.withLock { state in
            state.count += 1
            let measurement = PairedBaselineMeasurement(id: "\(agentId)/baseline#\(state.count)", baselineKey: key, result: result,
                                                        trialsBefore: 0, ageS: 0)
            state.entries[key] = Entry(measurement: measurement, at: now(), uses: 0)
            return measurement
        }
    }

    /// The measurement a trial starting now is paired with (counting the use); nil if none.
    public func use(_ key: String) -> PairedBaselineMeasurement? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            var measurement = entry.measurement
            measurement.trialsBefore = entry.uses
            measurement.ageS = max(0, now().timeIntervalSince(entry.at))
            entry.uses += 1
            state.entries[key] = entry
            return measurement
        }
    }
}
