import Foundation
import FrontierAnalysis
import FrontierReport
import FrontierStore

/// The live page's data: the coordinator's in-memory progress (cheap, current) plus the
/// stored trials for the plots (read from the store at most every couple of seconds, however
/// many browsers poll).
///
/// `@unchecked Sendable`: the one mutable field, the records cache, is read and written only
/// under `lock`; the coordinator and the store are themselves safe to use from any thread.
public final class LiveSnapshotBuilder: @unchecked Sendable {
    let coordinator: SweepCoordinator
    let store: SweepStore
    let gridName: String
    // Guarded by `lock`: the records cache.
    private let lock = NSLock()
    private var cached: (at: Double, records: [TrialRecord]) = (-1e9, [])

    public init(coordinator: SweepCoordinator, store: SweepStore, gridName: String) {
        self.coordinator = coordinator
        self.store = store
        self.gridName = gridName
    }

    public func snapshot() -> LiveSnapshot {
        let s = coordinator.snapshot
        let now = Date().timeIntervalSince1970
        let records: [TrialRecord] = lock.withLock {
            if now - cached.at > 2 {
                let fresh = (try? TrialRecordMapping.records(from: store)) ?? cached.records
                cached = (now, fresh)
            }
            return cached.records
        }
        let p = s.progress
        let ended = p.done + p.failed
        let elapsed = now - s.startedAt
        let eta: Double? = ended > 0 && elapsed > 0 ? elapsed / Double(ended) * Double(p.total - ended) : nil
        let iso = ISO8601DateFormatter()
        let labels = Dictionary(records.map { ($0.trialId, $0.technique) }, uniquingKeysWith: { a, _ in a })
        return LiveSnapshot(
            gridName: gridName, total: p.total, done: p.done, failed: p.failed, running: p.running, pending: p.pending,
            etaS: eta, startedAt: iso.string(from: Date(timeIntervalSince1970: s.startedAt)),
            agents: s.agents.map {
                LiveSnapshot.AgentState(id: $0.id, deviceClass: $0.deviceClass, state: $0.state.rawValue, trialId: $0.trialId,
                                        lastSeenAgoS: max(0, now - $0.lastSeen), completed: $0.completed)
            },
            recentFailures: s.recentFailures.reversed().map {
                LiveSnapshot.Failure(trialId: $0.trialId, label: labels[$0.trialId] ?? $0.trialId, reason: $0.reason,
                                     at: iso.string(from: Date(timeIntervalSince1970: $0.at)))
            },
            records: records)
    }
}
