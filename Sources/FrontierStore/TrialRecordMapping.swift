import Foundation
import FrontierAnalysis
import FrontierGrid
import FrontierMeasurement
import FrontierSupport
import FrontierTasks
import FrontierWire

/// From what the store holds (a trial, its point, the agent's TrialResult JSON) to the flat
/// record the frontier maths and the report read. Kept apart from both so neither the store
/// nor the report needs to know the other's shape.
public enum TrialRecordMapping {
    /// SQuAD reports on the official script's 0–100 scale; records hold every metric on the
    /// 0–1 scale GLUE uses, so "points" mean the same thing on every task.
    static func naturalScale(task: String, name: String, value: Double) -> Double {
        if GlueTask(name: task) == nil, name == "f1" || name == "exact_match" { return value / 100 }
        return value
    }

    /// Every trial of a store as records, for the report and the live view.
    /// Training stages are not measurements: they are left out, and their cost rides on the
    /// records of the trials that measured their checkpoints.
    public static func records(from store: SweepStore) throws -> [TrialRecord] {
        let classes = Dictionary(try store.agents().map { ($0.agentId, $0.deviceClass) }, uniquingKeysWith: { a, _ in a })
        let stored = try store.storedTrials()
        var costs: [String: TrainingCost] = [:]
        for (stage, result) in try store.stageResults() where result.hasTraining {
            costs[stage] = trainingCost(stage: stage, result)
        }
        return stored.filter { $0.point.stageKey == nil }.map { s in
            var r = record(s, agentClasses: classes)
            if let stage = s.point.inputs.first(where: { $0.role == "checkpoint" })?.stage { r.training = costs[stage] }
            return r
        }
    }

    static func trainingCost(stage: String, _ result: WireTrialResult) -> TrainingCost {
        let t = result.training
        return TrainingCost(stage: stage, deviceClass: result.device.deviceClass, trainingS: t.trainingS, wallS: t.wallS,
                            examplesPerS: t.examplesPerS, trainingJ: t.hasTrainingJ ? t.trainingJ : nil,
                            totalJ: t.hasTotalJ ? t.totalJ : nil, energySource: t.energySource.isEmpty ? nil : t.energySource,
                            peakRssMb: t.hasPeakRssMb ? t.peakRssMb : nil, resumed: t.startSteps.count > 1)
    }

    /// `agentClasses`: agent id → device class, so that an `any` trial that never produced a
    /// result is shown under the class of the agent that last tried it, not as a class "any".
    public static func record(_ stored: SweepStore.StoredTrial, agentClasses: [String: String] = [:],
                              decoder: JSONDecoder = JSONCoding.decoder) -> TrialRecord {
        let t = stored.trial
        let p = stored.point
        var r = TrialRecord(trialId: t.trialId, pointKey: p.key, configKey: p.configKey, task: p.task, model: p.model,
                            deviceClass: t.deviceClass, variant: p.variant, technique: p.label, parameters: ParameterValue.typed(p.parameters),
                            isBaseline: p.isBaseline, repeatIndex: p.repeatIndex)
        r.failureReasons = t.reasons
        r.agentId = stored.resultAgentId ?? t.agentId
        switch t.state {
        case .done: r.status = .accepted
        case .failed: r.status = .failed
        case .leased: r.status = .running
        case .pending: r.status = .pending
        }
        if placementIsAny(t.deviceClass), let agent = r.agentId, let cls = agentClasses[agent] { r.deviceClass = cls }
        guard let json = stored.resultJSON,
              let result = try? decoder.decode(TrialResult.self, from: Data(json.utf8))
        else { return r }
        if result.status == .failed {
            r.status = .failed
            if let reason = result.failureReason { r.failureReasons.append(reason) }
        }
        if placementIsAny(t.deviceClass) { r.deviceClass = result.device.deviceClass }
        r.metrics = Dictionary(uniqueKeysWithValues: result.metrics.map {
            ($0.key, naturalScale(task: p.task, name: $0.key, value: $0.value))
        })
        r.metricName = HeadlineMetric.name(task: p.task, metrics: result.metrics)
        r.metric = r.metricName.flatMap { r.metrics[$0] }
        r.joulesPerExample = result.energyJPerExample
        r.joulesPerCorrect = result.energyJPerCorrect
        r.energySource = result.energySource
        r.latencyP50Ms = result.latencyP50Ms
        r.latencyP99Ms = result.latencyP99Ms
        r.throughputExamplesPerS = result.throughputExamplesPerS
        r.peakRssMb = result.peakRssMb
        // The checkpoint file; what a quantised or sparse model occupies in memory shows in peak RSS.
        r.modelBytes = result.modelFileBytes ?? result.weightBytesFp32
        r.finishedAt = result.finishedAt
        r.examples = result.examples
        if let name = r.metricName {
            func scaled(_ i: ConfidenceInterval) -> ConfidenceInterval {
                ConfidenceInterval(low: naturalScale(task: p.task, name: name, value: i.low),
                                   high: naturalScale(task: p.task, name: name, value: i.high), level: i.level)
            }
            r.metricInterval = result.metricIntervals?[name].map(scaled)
            r.chanceLevel = result.chance?.metrics[name].map { naturalScale(task: p.task, name: name, value: $0) }
        }
        r.latencyP50MsInterval = result.latencyP50MsInterval
        r.throughputInterval = result.throughputExamplesPerSInterval
        r.joulesPerExampleInterval = result.energyJPerExampleInterval
        r.disturbed = result.disturbed ?? false
        r.remeasuredWindows = result.remeasuredWindows ?? 0
        r.interferenceSummary = result.interference?.summary
        r.energyBasis = result.energyBasis?.description
        // Why the energy is what it is (no RAPL zones, a meter below its resolution, …).
        r.energyNotes = result.energy?.notes ?? []
        r.weightBytesHeld = result.weightBytesHeld
        r.pairedBaseline = result.pairedBaseline.map { b in
            PairedBaselineRef(id: b.id, agentId: r.agentId, measuredAt: b.measuredAt, trialsBefore: b.trialsBefore,
                              latencyP50Ms: b.latencyP50Ms, latencyP50MsInterval: b.latencyP50MsInterval,
                              throughputExamplesPerS: b.throughputExamplesPerS, throughputInterval: b.throughputExamplesPerSInterval,
                              joulesPerExample: b.energyJPerExample, joulesPerExampleInterval: b.energyJPerExampleInterval)
        }
        return r
    }

    static func placementIsAny(_ deviceClass: String) -> Bool { deviceClass == SweepPlacement.anyClass }
}
