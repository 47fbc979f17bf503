import FrontierAnalysis
import FrontierMeasurement
import FrontierWire

// The typed forms of what issue 14 added to a result — interference, energy basis, paired
// baselines — both ways, beside the rest of the mapping in TrialResultWire.swift.

extension WireWindowInterference {
    init(_ i: WindowInterference) {
        self.init()
        seconds = i.seconds
        cpus = UInt32(clamping: i.cpus)
        otherCpuCores = i.otherCpuCores
        ownCpuCores = i.ownCpuCores
        stealFraction = i.stealFraction
        if let v = i.runQueueMean { runQueueMean = v }
        if let v = i.runQueueMax { runQueueMax = UInt32(clamping: v) }
        if let v = i.cpuMhzMean { cpuMhzMean = v }
        if let v = i.cpuMhzMin { cpuMhzMin = v }
        disturbed = i.disturbed
        reasons = i.reasons
    }
}

extension WindowInterference {
    init(wire w: WireWindowInterference) {
        self.init(seconds: w.seconds, cpus: Int(w.cpus), otherCpuCores: w.otherCpuCores, ownCpuCores: w.ownCpuCores,
                  stealFraction: w.stealFraction, runQueueMean: w.hasRunQueueMean ? w.runQueueMean : nil,
                  runQueueMax: w.hasRunQueueMax ? Int(w.runQueueMax) : nil, cpuMhzMean: w.hasCpuMhzMean ? w.cpuMhzMean : nil,
                  cpuMhzMin: w.hasCpuMhzMin ? w.cpuMhzMin : nil, disturbed: w.disturbed, reasons: w.reasons)
    }
}

extension WireEnergyBasis {
    init(_ b: EnergyBasis) {
        self.init()
        accounting = b.accounting.rawValue
        scenario = b.scenario.rawValue
    }
}

extension EnergyBasis {
    init(wire w: WireEnergyBasis, field: String) throws {
        guard let accounting = Accounting(rawValue: w.accounting) else {
            throw TrialResultWireError(field: "\(field).accounting (\"\(w.accounting)\" is not net or gross)")
        }
        guard let scenario = Scenario(rawValue: w.scenario) else {
            throw TrialResultWireError(field: "\(field).scenario (\"\(w.scenario)\" is not offline or single-stream)")
        }
        self.init(accounting: accounting, scenario: scenario)
    }
}

extension WirePairedBaselineMeasurement {
    init(_ p: PairedBaselineMeasurement) {
        self.init()
        id = p.id
        baselineKey = p.baselineKey
        measuredAt = p.measuredAt
        trialsBefore = UInt32(clamping: p.trialsBefore)
        ageS = p.ageS
        if let v = p.latencyP50Ms { latencyP50Ms = v }
        if let v = p.latencyP50MsInterval { latencyP50MsInterval = WireInterval(v) }
        if let v = p.throughputExamplesPerS { throughputExamplesPerS = v }
        if let v = p.throughputExamplesPerSInterval { throughputExamplesPerSInterval = WireInterval(v) }
        if let v = p.energyJPerExample { energyJPerExample = v }
        if let v = p.energyJPerExampleInterval { energyJPerExampleInterval = WireInterval(v) }
        if let v = p.energyBasis { energyBasis = WireEnergyBasis(v) }
        disturbed = p.disturbed
    }
}

extension PairedBaselineMeasurement {
    init(wire w: WirePairedBaselineMeasurement) throws {
        self.init(id: w.id, baselineKey: w.baselineKey, measuredAt: w.measuredAt, trialsBefore: Int(w.trialsBefore), ageS: w.ageS,
                  latencyP50Ms: w.hasLatencyP50Ms ? w.latencyP50Ms : nil,
                  latencyP50MsInterval: w.hasLatencyP50MsInterval ? ConfidenceInterval(wire: w.latencyP50MsInterval) : nil,
                  throughputExamplesPerS: w.hasThroughputExamplesPerS ? w.throughputExamplesPerS : nil,
                  throughputExamplesPerSInterval: w.hasThroughputExamplesPerSInterval
                      ? ConfidenceInterval(wire: w.throughputExamplesPerSInterval) : nil,
                  energyJPerExample: w.hasEnergyJPerExample ? w.energyJPerExample : nil,
                  energyJPerExampleInterval: w.hasEnergyJPerExampleInterval ? ConfidenceInterval(wire: w.energyJPerExampleInterval) : nil,
                  energyBasis: w.hasEnergyBasis ? try EnergyBasis(wire: w.energyBasis, field: "paired_baseline.energy_basis") : nil,
                  disturbed: w.disturbed)
    }
}
