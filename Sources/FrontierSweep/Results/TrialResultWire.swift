import Foundation
import FrontierAnalysis
import FrontierEngine
import FrontierMeasurement
import FrontierTechniques
import FrontierWire

/// The measurement layer's records and their typed wire form, both ways.
///
/// The wire message is what crosses between machines and what the coordinator validates; the
/// Swift values are what the agent measures and what reports read. Every field maps one to
/// one, so a result survives the trip unchanged (`TrialResultWireTests` round-trips each
/// shape), and the JSON exports — generated from the Swift value the coordinator rebuilds
/// from the message — keep the keys they always had.
extension WireTrialResult {
    public init(_ r: TrialResult) {
        self.init()
        status = r.status == .ok ? .ok : .failed
        failureReason = r.failureReason ?? ""
        configuration = WireTrialConfiguration(r.configuration)
        task = r.task
        model = r.model
        if let v = r.examples { examples = UInt64(max(0, v)) }
        metrics = r.metrics
        if let e = r.energy { energy = WireEnergyReport(e) }
        if let v = r.energySource { energySource = v }
        if let v = r.energyJPerExample { energyJPerExample = v }
        if let v = r.energyJPerCorrect { energyJPerCorrect = v }
        if let v = r.latencyP50Ms { latencyP50Ms = v }
        if let v = r.latencyP90Ms { latencyP90Ms = v }
        if let v = r.latencyP99Ms { latencyP99Ms = v }
        if let v = r.latencyP50MsInterval { latencyP50MsInterval = WireInterval(v) }
        if let v = r.throughputExamplesPerS { throughputExamplesPerS = v }
        if let v = r.throughputTokensPerS { throughputTokensPerS = v }
        if let v = r.throughputExamplesPerSInterval { throughputExamplesPerSInterval = WireInterval(v) }
        if let v = r.peakRssMb { peakRssMb = v }
        if let v = r.modelFileBytes { modelFileBytes = UInt64(max(0, v)) }
        if let v = r.parameterCount { parameterCount = UInt64(max(0, v)) }
        if let v = r.nonZeroParameterCount { nonZeroParameterCount = UInt64(max(0, v)) }
        if let v = r.weightBytesFp32 { weightBytesFp32 = UInt64(max(0, v)) }
        if let v = r.flopsPerExample { flopsPerExample = v }
        if let v = r.meanExitLayer { meanExitLayer = v }
        if let v = r.techniques { techniques = WireAppliedTechniques(v) }
        if let v = r.offline { offline = WireOfflineResult(v) }
        if let v = r.singleStream { singleStream = WireSingleStreamResult(v) }
        if let v = r.idleBaseline { idleBaseline = WireIdleBaseline(v) }
        device = WireDeviceFingerprint(r.device)
        timings = WireTrialTimings(r.timings)
        startedAt = r.startedAt
        finishedAt = r.finishedAt
        engineVersion = r.engineVersion
        if let v = r.worker { worker = WireWorkerExit(v) }
        if let v = r.trialId { trialID = v }
        if let v = r.interference { interference = WireWindowInterference(v) }
        disturbed = r.disturbed ?? false
        remeasuredWindows = UInt32(clamping: r.remeasuredWindows ?? 0)
        if let v = r.metricIntervals { metricIntervals = v.mapValues(WireInterval.init) }
        if let v = r.chance {
            var c = WireChanceLevel()
            c.predictor = v.predictor
            c.metrics = v.metrics
            chance = c
        }
        if let v = r.energyBasis { energyBasis = WireEnergyBasis(v) }
        if let v = r.energyJPerExampleInterval { energyJPerExampleInterval = WireInterval(v) }
        if let v = r.weightBytesHeld { weightBytesHeld = UInt64(max(0, v)) }
        if let v = r.pairedBaseline { pairedBaseline = WirePairedBaselineMeasurement(v) }
    }
}

/// Why a wire result could not become a `TrialResult`: a required part is missing. The
/// validator (`TrialResultValidator`) finds these first, with the field named, so the
/// coordinator never gets this far with one; an agent reading its own spool might.
public struct TrialResultWireError: Error, CustomStringConvertible, Equatable {
    public var field: String
    public var description: String { "result.\(field) is required" }
}

extension TrialResult {
    public init(wire w: WireTrialResult) throws {
        guard w.status != .unspecified else { throw TrialResultWireError(field: "status") }
        guard w.hasConfiguration else { throw TrialResultWireError(field: "configuration") }
        guard w.hasDevice else { throw TrialResultWireError(field: "device") }
        var r = TrialResult.blank(spec: try TrialSpec(wire: w.configuration), device: DeviceFingerprint(wire: w.device),
                                  timings: Timings(wire: w.timings))
        r.status = w.status == .ok ? .ok : .failed
        r.failureReason = w.status == .ok && w.failureReason.isEmpty ? nil : w.failureReason
        r.task = w.task
        r.model = w.model
        r.examples = w.hasExamples ? Int(clamping: w.examples) : nil
        r.metrics = w.metrics
        r.energy = w.hasEnergy ? EnergyReport(wire: w.energy) : nil
        r.energySource = w.hasEnergySource ? w.energySource : nil
        r.energyJPerExample = w.hasEnergyJPerExample ? w.energyJPerExample : nil
        r.energyJPerCorrect = w.hasEnergyJPerCorrect ? w.energyJPerCorrect : nil
        r.latencyP50Ms = w.hasLatencyP50Ms ? w.latencyP50Ms : nil
        r.latencyP90Ms = w.hasLatencyP90Ms ? w.latencyP90Ms : nil
        r.latencyP99Ms = w.hasLatencyP99Ms ? w.latencyP99Ms : nil
        r.latencyP50MsInterval = w.hasLatencyP50MsInterval ? ConfidenceInterval(wire: w.latencyP50MsInterval) : nil
        r.throughputExamplesPerS = w.hasThroughputExamplesPerS ? w.throughputExamplesPerS : nil
        r.throughputTokensPerS = w.hasThroughputTokensPerS ? w.throughputTokensPerS : nil
        r.throughputExamplesPerSInterval = w.hasThroughputExamplesPerSInterval
            ? ConfidenceInterval(wire: w.throughputExamplesPerSInterval) : nil
        r.peakRssMb = w.hasPeakRssMb ? w.peakRssMb : nil
        r.modelFileBytes = w.hasModelFileBytes ? Int(clamping: w.modelFileBytes) : nil
        r.parameterCount = w.hasParameterCount ? Int(clamping: w.parameterCount) : nil
        r.nonZeroParameterCount = w.hasNonZeroParameterCount ? Int(clamping: w.nonZeroParameterCount) : nil
        r.weightBytesFp32 = w.hasWeightBytesFp32 ? Int(clamping: w.weightBytesFp32) : nil
        r.flopsPerExample = w.hasFlopsPerExample ? w.flopsPerExample : nil
        r.meanExitLayer = w.hasMeanExitLayer ? w.meanExitLayer : nil
        r.techniques = w.hasTechniques ? AppliedTechniques(wire: w.techniques) : nil
        r.offline = w.hasOffline ? OfflineResult(wire: w.offline) : nil
        r.singleStream = w.hasSingleStream ? SingleStreamResult(wire: w.singleStream) : nil
        r.idleBaseline = w.hasIdleBaseline ? IdleBaseline(seconds: w.idleBaseline.seconds, watts: w.idleBaseline.watts) : nil
        r.startedAt = w.startedAt
        r.finishedAt = w.finishedAt
        r.engineVersion = w.engineVersion
        r.worker = w.hasWorker ? WorkerExit(wire: w.worker) : nil
        r.trialId = w.hasTrialID ? w.trialID : nil
        r.interference = w.hasInterference ? WindowInterference(wire: w.interference) : nil
        // Set by the agent on every measured result; a failure carries neither.
        r.disturbed = w.status == .ok ? w.disturbed : nil
        r.remeasuredWindows = w.status == .ok ? Int(w.remeasuredWindows) : nil
        r.metricIntervals = w.metricIntervals.isEmpty ? nil : w.metricIntervals.mapValues(ConfidenceInterval.init(wire:))
        r.chance = w.hasChance ? ChanceLevel(predictor: w.chance.predictor, metrics: w.chance.metrics) : nil
        r.energyBasis = w.hasEnergyBasis ? try EnergyBasis(wire: w.energyBasis, field: "energy_basis") : nil
        r.energyJPerExampleInterval = w.hasEnergyJPerExampleInterval ? ConfidenceInterval(wire: w.energyJPerExampleInterval) : nil
        r.weightBytesHeld = w.hasWeightBytesHeld ? Int(clamping: w.weightBytesHeld) : nil
        r.pairedBaseline = w.hasPairedBaseline ? try PairedBaselineMeasurement(wire: w.pairedBaseline) : nil
        self = r
    }
}

// MARK: - Configuration

extension WireTrialConfiguration {
    public init(_ s: TrialSpec) {
        self.init()
        if let v = s.trialId { trialID = v }
        model = s.model
        task = s.task
        data = s.data
        if let v = s.limit { limit = UInt64(max(0, v)) }
        batch = UInt32(clamping: s.batch)
        threads = UInt32(clamping: s.threads)
        if let v = s.maxSeqLen { maxSeqLen = UInt32(clamping: v) }
        gemm = s.gemm.rawValue
        if let v = s.deviceClass { deviceClass = v }
        techniques = s.techniques.map(WireTechniqueConfiguration.init)
        measurement = WireMeasurementConfiguration(s.measurement)
        if let plan = s.pairedBaseline {
            var p = WirePairedBaselinePlan()
            p.key = plan.key
            p.spec = WireTrialConfiguration(plan.spec)
            pairedBaseline = p
        }
        timingOnly = s.timingOnly
    }
}

extension TrialSpec {
    /// A configuration read back from the wire. Enumerations the engine does not know (a newer
    /// agent's technique, say) are an error naming the field, not a silent default.
    public init(wire w: WireTrialConfiguration) throws {
        guard let gemm = GemmBackend(rawValue: w.gemm) else {
            throw TrialResultWireError(field: "configuration.gemm (\"\(w.gemm)\" is not packed or openblas)")
        }
        self.init(trialId: w.hasTrialID ? w.trialID : nil, model: w.model, task: w.task, data: w.data,
                  limit: w.hasLimit ? Int(clamping: w.limit) : nil, batch: Int(w.batch), threads: Int(w.threads),
                  maxSeqLen: w.hasMaxSeqLen ? Int(w.maxSeqLen) : nil, gemm: gemm,
                  deviceClass: w.hasDeviceClass ? w.deviceClass : nil,
                  techniques: try w.techniques.enumerated().map { try TechniqueSpec(wire: $1, index: $0) },
                  measurement: w.hasMeasurement ? try MeasurementSettings(wire: w.measurement) : MeasurementSettings(),
                  pairedBaseline: w.hasPairedBaseline
                      ? PairedBaselinePlan(key: w.pairedBaseline.key, spec: try TrialSpec(wire: w.pairedBaseline.spec)) : nil,
                  timingOnly: w.timingOnly)
    }
}

extension WireTechniqueConfiguration {
    public init(_ t: TechniqueSpec) {
        self.init()
        name = t.name.rawValue
        if let v = t.sparsity { sparsity = v }
        if let v = t.scope { scope = v.rawValue }
        if let v = t.mask { mask = v }
        if let v = t.saveMask { saveMask = v }
        if let v = t.kernel { kernel = v.rawValue }
        if let v = t.perLayer { perLayer = UInt32(clamping: v) }
        if let v = t.heads { heads = v.mapValues { WireHeadList(heads: $0) } }
        if let v = t.calibrationExamples { calibrationExamples = UInt32(clamping: v) }
        if let v = t.fraction { fraction = v }
        if let v = t.blocks { blocks = v.map { UInt32(clamping: $0) } }
        if let v = t.keep { keep = UInt32(clamping: v) }
        if let v = t.strategy { strategy = v.rawValue }
        if let v = t.entropy { entropy = v }
        if let v = t.trainExamples { trainExamples = UInt32(clamping: v) }
        if let v = t.keepFraction { keepFraction = v }
        if let v = t.fromLayer { fromLayer = UInt32(clamping: v) }
        if let v = t.mode { mode = v.rawValue }
        if let v = t.tokens { tokens = UInt32(clamping: v) }
    }
}

extension TechniqueSpec {
    init(wire w: WireTechniqueConfiguration, index: Int) throws {
        func parse<T: RawRepresentable>(_ type: T.Type, _ raw: String, _ field: String) throws -> T where T.RawValue == String {
            guard let value = T(rawValue: raw) else {
                throw TrialResultWireError(field: "configuration.techniques[\(index)].\(field) (unknown value \"\(raw)\")")
            }
            return value
        }
        self.init(name: try parse(TechniqueSpec.Name.self, w.name, "name"))
        sparsity = w.hasSparsity ? w.sparsity : nil
        scope = w.hasScope ? try parse(MagnitudePruning.Scope.self, w.scope, "scope") : nil
        mask = w.hasMask ? w.mask : nil
        saveMask = w.hasSaveMask ? w.saveMask : nil
        kernel = w.hasKernel ? try parse(TechniqueSpec.SparseKernel.self, w.kernel, "kernel") : nil
        perLayer = w.hasPerLayer ? Int(w.perLayer) : nil
        heads = w.heads.isEmpty ? nil : w.heads.mapValues { $0.heads.map(Int.init) }
        calibrationExamples = w.hasCalibrationExamples ? Int(w.calibrationExamples) : nil
        fraction = w.hasFraction ? w.fraction : nil
        blocks = w.blocks.isEmpty ? nil : w.blocks.map(Int.init)
        keep = w.hasKeep ? Int(w.keep) : nil
        strategy = w.hasStrategy ? try parse(LayerDropping.Strategy.self, w.strategy, "strategy") : nil
        entropy = w.hasEntropy ? w.entropy : nil
        trainExamples = w.hasTrainExamples ? Int(w.trainExamples) : nil
        keepFraction = w.hasKeepFraction ? w.keepFraction : nil
        fromLayer = w.hasFromLayer ? Int(w.fromLayer) : nil
        mode = w.hasMode ? try parse(TechniqueSpec.QuantizationMode.self, w.mode, "mode") : nil
        tokens = w.hasTokens ? Int(w.tokens) : nil
    }
}

extension WireHeadList {
    init(heads: [Int]) {
        self.init()
        self.heads = heads.map { UInt32(clamping: $0) }
    }
}

extension WireMeasurementConfiguration {
    public init(_ m: MeasurementSettings) {
        self.init()
        scenarios = m.scenarios.map(\.rawValue)
        minDurationS = m.minDurationS
        minQueries = UInt64(max(0, m.minQueries))
        singleStreamMinQueries = UInt64(max(0, m.singleStreamMinQueries))
        warmupQueries = UInt64(max(0, m.warmupQueries))
        maxDurationS = m.maxDurationS
        idleBaselineS = m.idleBaselineS
        timeoutS = m.timeoutS
        if let v = m.memoryLimitMb { memoryLimitMb = v }
        var e = WireEnergyConfiguration()
        e.meter = m.energy.meter.rawValue
        e.sysfsRoot = m.energy.sysfsRoot
        e.nvmlLibrary = m.energy.nvmlLibrary
        e.pollIntervalS = m.energy.pollIntervalS
        e.estimate = WireEnergyEstimateParameters(m.energy.estimate)
        energy = e
        var i = WireInterferenceConfiguration()
        i.maxOtherCpuCores = m.interference.maxOtherCpuCores
        i.maxStealFraction = m.interference.maxStealFraction
        i.maxRemeasures = UInt32(clamping: m.interference.maxRemeasures)
        i.remeasureDelayS = m.interference.remeasureDelayS
        interference = i
        var p = WirePairedBaselineConfiguration()
        p.enabled = m.pairedBaseline.enabled
        p.everyTrials = UInt32(clamping: m.pairedBaseline.everyTrials)
        p.everyMinutes = m.pairedBaseline.everyMinutes
        pairedBaseline = p
    }
}

extension MeasurementSettings {
    init(wire w: WireMeasurementConfiguration) throws {
        self.init()
        scenarios = try w.scenarios.map { raw in
            guard let s = Scenario(rawValue: raw) else {
                throw TrialResultWireError(field: "configuration.measurement.scenarios (unknown \"\(raw)\")")
            }
            return s
        }
        minDurationS = w.minDurationS
        minQueries = Int(clamping: w.minQueries)
        singleStreamMinQueries = Int(clamping: w.singleStreamMinQueries)
        warmupQueries = Int(clamping: w.warmupQueries)
        maxDurationS = w.maxDurationS
        idleBaselineS = w.idleBaselineS
        timeoutS = w.timeoutS
        memoryLimitMb = w.hasMemoryLimitMb ? w.memoryLimitMb : nil
        guard let meter = EnergyMeterChoice(rawValue: w.energy.meter) else {
            throw TrialResultWireError(field: "configuration.measurement.energy.meter (unknown \"\(w.energy.meter)\")")
        }
        energy = EnergySettings(meter: meter, sysfsRoot: w.energy.sysfsRoot, nvmlLibrary: w.energy.nvmlLibrary,
                                pollIntervalS: w.energy.pollIntervalS,
                                estimate: EnergyEstimateParameters(wattsPerCore: w.energy.estimate.wattsPerCore,
                                                                   idleWatts: w.energy.estimate.idleWatts))
        if w.hasInterference {
            let i = w.interference
            interference = InterferenceSettings(maxOtherCpuCores: i.maxOtherCpuCores, maxStealFraction: i.maxStealFraction,
                                                maxRemeasures: Int(i.maxRemeasures), remeasureDelayS: i.remeasureDelayS)
        }
        if w.hasPairedBaseline {
            let p = w.pairedBaseline
            pairedBaseline = PairedBaselineSettings(enabled: p.enabled, everyTrials: Int(p.everyTrials), everyMinutes: p.everyMinutes)
        }
    }
}

extension WireEnergyEstimateParameters {
    init(_ p: EnergyEstimateParameters) {
        self.init()
        wattsPerCore = p.wattsPerCore
        idleWatts = p.idleWatts
    }
}

// MARK: - Energy

extension WireEnergySource {
    init(_ s: EnergySource) {
        switch s {
        case .rapl: self = .rapl
        case .nvml: self = .nvml
        case .hwmon: self = .hwmon
        case .estimated: self = .estimated
        }
    }

    var source: EnergySource? {
        switch self {
        case .rapl: return .rapl
        case .nvml: return .nvml
        case .hwmon: return .hwmon
        case .estimated: return .estimated
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension WireEnergyDomainKind {
    init(_ k: EnergyDomainKind) {
        switch k {
        case .package: self = .package
        case .dram: self = .dram
        case .gpu: self = .gpu
        case .board: self = .board
        case .platform: self = .platform
        case .estimate: self = .estimate
        }
    }

    var kind: EnergyDomainKind? {
        switch self {
        case .package: return .package
        case .dram: return .dram
        case .gpu: return .gpu
        case .board: return .board
        case .platform: return .platform
        case .estimate: return .estimate
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension WireEnergyReport {
    public init(_ e: EnergyReport) {
        self.init()
        source = e.source
        seconds = e.seconds
        grossJ = e.grossJ
        if let v = e.netJ { netJ = v }
        if let v = e.packageJ { packageJ = v }
        if let v = e.dramJ { dramJ = v }
        if let v = e.gpuJ { gpuJ = v }
        domains = e.domains.map { d in
            var w = WireEnergyReport.Domain()
            w.name = d.name
            w.source = WireEnergySource(d.source)
            w.kind = WireEnergyDomainKind(d.kind)
            w.countsTowardTotal = d.countsTowardTotal
            w.grossJ = d.grossJ
            if let v = d.netJ { w.netJ = v }
            if let v = d.idleW { w.idleW = v }
            w.wraps = UInt32(clamping: d.wraps)
            return w
        }
        if let v = e.idleBaselineS { idleBaselineS = v }
        if let v = e.estimate { estimate = WireEnergyEstimateParameters(v) }
        pollIntervalS = e.pollIntervalS
        samples = UInt32(clamping: e.samples)
        notes = e.notes
    }
}

extension EnergyReport {
    /// Domains whose source or kind this build does not know are kept as `estimated` /
    /// `estimate`: the validator has already refused those, so this only guards a spool read.
    init(wire w: WireEnergyReport) {
        self.init(source: w.source, seconds: w.seconds, grossJ: w.grossJ, netJ: w.hasNetJ ? w.netJ : nil,
                  packageJ: w.hasPackageJ ? w.packageJ : nil, dramJ: w.hasDramJ ? w.dramJ : nil,
                  gpuJ: w.hasGpuJ ? w.gpuJ : nil,
                  domains: w.domains.map { d in
                      Domain(name: d.name, source: d.source.source ?? .estimated, kind: d.kind.kind ?? .estimate,
                             countsTowardTotal: d.countsTowardTotal, grossJ: d.grossJ, netJ: d.hasNetJ ? d.netJ : nil,
                             idleW: d.hasIdleW ? d.idleW : nil, wraps: Int(d.wraps))
                  },
                  idleBaselineS: w.hasIdleBaselineS ? w.idleBaselineS : nil,
                  estimate: w.hasEstimate ? EnergyEstimateParameters(wattsPerCore: w.estimate.wattsPerCore,
                                                                     idleWatts: w.estimate.idleWatts) : nil,
                  pollIntervalS: w.pollIntervalS, samples: Int(w.samples), notes: w.notes)
    }
}

// MARK: - Scenarios, techniques, timings

extension WireInterval {
    init(_ i: ConfidenceInterval) {
        self.init()
        low = i.low
        high = i.high
        level = i.level
    }
}

extension ConfidenceInterval {
    init(wire w: WireInterval) { self.init(low: w.low, high: w.high, level: w.level) }
}

extension WireOfflineResult {
    init(_ o: OfflineResult) {
        self.init()
        batch = UInt32(clamping: o.batch)
        passes = UInt64(max(0, o.passes))
        queries = UInt64(max(0, o.queries))
        examples = UInt64(max(0, o.examples))
        tokens = UInt64(max(0, o.tokens))
        seconds = o.seconds
        examplesPerS = o.examplesPerS
        tokensPerS = o.tokensPerS
        energy = WireEnergyReport(o.energy)
        if let v = o.energyJPerExample { energyJPerExample = v }
        if let v = o.energyJPerCorrect { energyJPerCorrect = v }
        extendedForResolution = o.extendedForResolution
        if let v = o.examplesPerSInterval { examplesPerSInterval = WireInterval(v) }
        if let v = o.energyJPerExampleInterval { energyJPerExampleInterval = WireInterval(v) }
        if let v = o.interference { interference = WireWindowInterference(v) }
        attempts = UInt32(clamping: o.attempts)
    }
}

extension OfflineResult {
    init(wire w: WireOfflineResult) {
        self.init(batch: Int(w.batch), passes: Int(clamping: w.passes), queries: Int(clamping: w.queries),
                  examples: Int(clamping: w.examples), tokens: Int(clamping: w.tokens), seconds: w.seconds,
                  examplesPerS: w.examplesPerS, tokensPerS: w.tokensPerS, energy: EnergyReport(wire: w.energy),
                  energyJPerExample: w.hasEnergyJPerExample ? w.energyJPerExample : nil,
                  energyJPerCorrect: w.hasEnergyJPerCorrect ? w.energyJPerCorrect : nil,
                  extendedForResolution: w.extendedForResolution)
        examplesPerSInterval = w.hasExamplesPerSInterval ? ConfidenceInterval(wire: w.examplesPerSInterval) : nil
        energyJPerExampleInterval = w.hasEnergyJPerExampleInterval ? ConfidenceInterval(wire: w.energyJPerExampleInterval) : nil
        interference = w.hasInterference ? WindowInterference(wire: w.interference) : nil
        attempts = max(1, Int(w.attempts))
    }
}

extension WireSingleStreamResult {
    init(_ s: SingleStreamResult) {
        self.init()
        queries = UInt64(max(0, s.queries))
        warmupQueries = UInt64(max(0, s.warmupQueries))
        seconds = s.seconds
        latencyP50Ms = s.latencyP50Ms
        latencyP90Ms = s.latencyP90Ms
        latencyP99Ms = s.latencyP99Ms
        latencyMeanMs = s.latencyMeanMs
        latencyMinMs = s.latencyMinMs
        latencyMaxMs = s.latencyMaxMs
        queriesPerS = s.queriesPerS
        energy = WireEnergyReport(s.energy)
        if let v = s.energyJPerQuery { energyJPerQuery = v }
        extendedForResolution = s.extendedForResolution
        if let v = s.latencyP50MsInterval { latencyP50MsInterval = WireInterval(v) }
        if let v = s.energyJPerQueryInterval { energyJPerQueryInterval = WireInterval(v) }
        if let v = s.interference { interference = WireWindowInterference(v) }
        attempts = UInt32(clamping: s.attempts)
    }
}

extension SingleStreamResult {
    init(wire w: WireSingleStreamResult) {
        self.init(queries: Int(clamping: w.queries), warmupQueries: Int(clamping: w.warmupQueries), seconds: w.seconds,
                  latencyP50Ms: w.latencyP50Ms, latencyP90Ms: w.latencyP90Ms, latencyP99Ms: w.latencyP99Ms,
                  latencyMeanMs: w.latencyMeanMs, latencyMinMs: w.latencyMinMs, latencyMaxMs: w.latencyMaxMs,
                  queriesPerS: w.queriesPerS, energy: EnergyReport(wire: w.energy),
                  energyJPerQuery: w.hasEnergyJPerQuery ? w.energyJPerQuery : nil,
                  extendedForResolution: w.extendedForResolution)
        latencyP50MsInterval = w.hasLatencyP50MsInterval ? ConfidenceInterval(wire: w.latencyP50MsInterval) : nil
        energyJPerQueryInterval = w.hasEnergyJPerQueryInterval ? ConfidenceInterval(wire: w.energyJPerQueryInterval) : nil
        interference = w.hasInterference ? WindowInterference(wire: w.interference) : nil
        attempts = max(1, Int(w.attempts))
    }
}

extension WireAppliedTechniques {
    init(_ a: AppliedTechniques) {
        self.init()
        techniques = a.techniques
        parameterCount = UInt64(max(0, a.parameterCount))
        nonZeroParameterCount = UInt64(max(0, a.nonZeroParameterCount))
        kernels = a.kernels.mapValues { UInt32(clamping: $0) }
        layers = UInt32(clamping: a.layers)
        if let v = a.keptLayers {
            keptLayers = v.map { UInt32(clamping: $0) }
            keptLayersSet = true
        }
        if let v = a.removedHeads {
            removedHeads = v.mapValues { WireHeadList(heads: $0) }
            removedHeadsSet = true
        }
        if let v = a.maxSeqLen { maxSeqLen = UInt32(clamping: v) }
        notes = a.notes
    }
}

extension AppliedTechniques {
    init(wire w: WireAppliedTechniques) {
        self.init(techniques: w.techniques, parameterCount: Int(clamping: w.parameterCount),
                  nonZeroParameterCount: Int(clamping: w.nonZeroParameterCount),
                  kernels: w.kernels.mapValues(Int.init), layers: Int(w.layers),
                  keptLayers: w.keptLayersSet ? w.keptLayers.map(Int.init) : nil,
                  removedHeads: w.removedHeadsSet ? w.removedHeads.mapValues { $0.heads.map(Int.init) } : nil,
                  maxSeqLen: w.hasMaxSeqLen ? Int(w.maxSeqLen) : nil, notes: w.notes)
    }
}

extension WireIdleBaseline {
    init(_ b: IdleBaseline) {
        self.init()
        seconds = b.seconds
        watts = b.watts
    }
}

extension WireTrialTimings {
    init(_ t: TrialResult.Timings) {
        self.init()
        idleBaselineS = t.idleBaselineS
        workerS = t.workerS
        totalS = t.totalS
        if let w = t.inWorker {
            var i = WireWorkerTimings()
            i.loadS = w.loadS
            i.prepareS = w.prepareS
            i.techniquesS = w.techniquesS
            i.accuracyS = w.accuracyS
            i.offlineS = w.offlineS
            i.singleStreamS = w.singleStreamS
            inWorker = i
        }
    }
}

extension TrialResult.Timings {
    init(wire w: WireTrialTimings) {
        self.init()
        idleBaselineS = w.idleBaselineS
        workerS = w.workerS
        totalS = w.totalS
        if w.hasInWorker {
            var t = TrialTimings()
            t.loadS = w.inWorker.loadS
            t.prepareS = w.inWorker.prepareS
            t.techniquesS = w.inWorker.techniquesS
            t.accuracyS = w.inWorker.accuracyS
            t.offlineS = w.inWorker.offlineS
            t.singleStreamS = w.inWorker.singleStreamS
            inWorker = t
        }
    }
}

extension WireWorkerExit {
    public init(_ e: WorkerExit) {
        self.init()
        pid = e.pid
        if let v = e.exitCode { exitCode = v }
        if let v = e.signal { signal = v }
        maxRssKb = UInt64(max(0, e.maxRssKb))
        wallS = e.wallS
        if let v = e.killedBecause { killedBecause = v }
    }
}

extension WorkerExit {
    init(wire w: WireWorkerExit) {
        self.init(pid: w.pid, exitCode: w.hasExitCode ? w.exitCode : nil, signal: w.hasSignal ? w.signal : nil,
                  maxRssKb: Int(clamping: w.maxRssKb), wallS: w.wallS,
                  killedBecause: w.hasKilledBecause ? w.killedBecause : nil)
    }
}

// MARK: - The machine

extension WireDeviceFingerprint {
    public init(_ f: DeviceFingerprint) {
        self.init()
        hostname = f.hostname
        cpuVendor = f.cpuVendor
        cpuModel = f.cpuModel
        cpuFlags = f.cpuFlags
        logicalCpus = UInt32(clamping: f.logicalCpus)
        if let v = f.physicalCores { physicalCores = UInt32(clamping: v) }
        if let v = f.sockets { sockets = UInt32(clamping: v) }
        threadsUsed = UInt32(clamping: f.threadsUsed)
        if let v = f.frequencyGovernor { frequencyGovernor = v }
        if let v = f.memoryTotalBytes { memoryTotalBytes = v }
        kernel = f.kernel
        if let v = f.os { os = v }
        gpus = f.gpus.map { g in
            var w = WireGpuDescription()
            w.index = UInt32(clamping: g.index)
            w.name = g.name
            if let v = g.memoryTotalBytes { w.memoryTotalBytes = v }
            return w
        }
        openblasConfig = f.openblasConfig
        openblasThreads = UInt32(clamping: f.openblasThreads)
        engineVersion = f.engineVersion
        if let v = f.gitCommit { gitCommit = v }
        deviceClass = f.deviceClass
        deviceClassSource = f.deviceClassSource
    }
}

extension DeviceFingerprint {
    public init(wire w: WireDeviceFingerprint) {
        self.init(hostname: w.hostname, cpuVendor: w.cpuVendor, cpuModel: w.cpuModel, cpuFlags: w.cpuFlags,
                  logicalCpus: Int(w.logicalCpus), physicalCores: w.hasPhysicalCores ? Int(w.physicalCores) : nil,
                  sockets: w.hasSockets ? Int(w.sockets) : nil, threadsUsed: Int(w.threadsUsed),
                  frequencyGovernor: w.hasFrequencyGovernor ? w.frequencyGovernor : nil,
                  memoryTotalBytes: w.hasMemoryTotalBytes ? w.memoryTotalBytes : nil, kernel: w.kernel,
                  os: w.hasOs ? w.os : nil,
                  gpus: w.gpus.map { GPUDescription(index: Int($0.index), name: $0.name,
                                                    memoryTotalBytes: $0.hasMemoryTotalBytes ? $0.memoryTotalBytes : nil) },
                  openblasConfig: w.openblasConfig, openblasThreads: Int(w.openblasThreads),
                  engineVersion: w.engineVersion, gitCommit: w.hasGitCommit ? w.gitCommit : nil,
                  deviceClass: w.deviceClass, deviceClassSource: w.deviceClassSource)
    }
}
