import FrontierMeasurement

/// Gives every point of a grid the baseline its ratios are paired with: the baseline point of
/// the same task and model (the first repeat), preferring one that runs with the same batch,
/// threads, sequence length and data limit — ratios compare techniques, not batch sizes. The
/// agent measures that plan again when its last measurement is stale (see
/// `PairedBaselineSettings`); a baseline point carries its own plan, so an agent that runs it
/// knows it has just measured the baseline.
enum BaselinePairing {
    static func pair(_ points: [GridPoint]) -> [GridPoint] {
        let baselines = points.filter { $0.isBaseline && $0.repeatIndex == 0 }
        guard !baselines.isEmpty else { return points }
        return points.map { point in
            guard point.spec.measurement.pairedBaseline.enabled else { return point }
            let candidates = baselines.filter { $0.task == point.task && $0.model.path == point.model.path }
            let chosen = point.isBaseline && point.repeatIndex == 0 ? point
                : candidates.first(where: { sameShape($0.spec, point.spec) }) ?? candidates.first
            guard let chosen else { return point }
            var spec = chosen.spec
            spec.trialId = nil
            spec.deviceClass = nil
            spec.pairedBaseline = nil
            spec.timingOnly = false
            var paired = point
            paired.spec.pairedBaseline = PairedBaselinePlan(key: chosen.key, spec: spec)
            return paired
        }
    }

    static func sameShape(_ a: TrialSpec, _ b: TrialSpec) -> Bool {
        a.batch == b.batch && a.threads == b.threads && a.effectiveMaxSeqLen == b.effectiveMaxSeqLen && a.limit == b.limit
    }
}
