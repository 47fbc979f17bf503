import Foundation
import Testing
@testable import FrontierAnalysis
@testable import FrontierGrid
@testable import FrontierMeasurement
@testable import FrontierSupport
@testable import FrontierSweep
@testable import FrontierTechniques
@testable import FrontierWire

/// The typed wire result and the measurement layer's record map one to one: a result that
/// crosses the wire (and the store, which keeps the message) comes back unchanged, so the JSON
/// exports generated from it keep every key and value they had.
@Suite struct TrialResultWireTests {
    static func fullResult() -> TrialResult {
        var spec = TrialSpec(trialId: "p1@cpu", model: "/models/minilm", task: "MRPC", data: "/data/glue", limit: 100,
                             batch: 16, threads: 2, maxSeqLen: 128, gemm: .openblas, deviceClass: "cpu")
        var pruning = TechniqueSpec(name: .magnitudePruning)
        pruning.sparsity = 0.7
        pruning.scope = .layer
        pruning.kernel = .always
        var heads = TechniqueSpec(name: .headPruning)
        heads.heads = ["0": [1, 3], "5": [0]]
        var quant = TechniqueSpec(name: .quantization)
        quant.mode = .int8
        spec.techniques = [pruning, heads, quant]
        spec.measurement.memoryLimitMb = 2048
        spec.measurement.scenarios = [.singleStream]
        spec.measurement.interference = InterferenceSettings(maxOtherCpuCores: 0.5, maxStealFraction: 0.1, maxRemeasures: 4,
                                                             remeasureDelayS: 3)
        spec.measurement.pairedBaseline = PairedBaselineSettings(enabled: false, everyTrials: 3, everyMinutes: 2.5)
        let device = DeviceFingerprint(
            hostname: "h", cpuVendor: "AuthenticAMD", cpuModel: "EPYC", cpuFlags: ["avx2", "fma"], logicalCpus: 2,
            physicalCores: nil, sockets: 1, threadsUsed: 2, frequencyGovernor: nil, memoryTotalBytes: 24 << 30,
            kernel: "6.1", os: "Debian 12", gpus: [GPUDescription(index: 0, name: "H100", memoryTotalBytes: nil)],
            openblasConfig: "OpenBLAS ZEN", openblasThreads: 2, engineVersion: "1.2.3", gitCommit: "abc",
            deviceClass: "cpu", deviceClassSource: "automatic")
        let domain = EnergyReport.Domain(name: "package-0", source: .rapl, kind: .package, countsTowardTotal: true,
                                         grossJ: 12.5, netJ: -0.25, idleW: 3, wraps: 1)
        let psys = EnergyReport.Domain(name: "psys", source: .rapl, kind: .platform, countsTowardTotal: false,
                                       grossJ: 20, netJ: nil, idleW: nil, wraps: 0)
        let energy = EnergyReport(source: "rapl", seconds: 2, grossJ: 12.5, netJ: -0.25, packageJ: 12.5, dramJ: nil,
                                  gpuJ: nil, domains: [domain, psys], idleBaselineS: 1,
                                  estimate: EnergyEstimateParameters(wattsPerCore: 10, idleWatts: 5), pollIntervalS: 0.05,
                                  samples: 40, notes: ["a note"])
        var r = TrialResult.failed(spec: spec, reason: "", device: device, startedAt: Date(),
                                   worker: WorkerExit(pid: 42, exitCode: 0, signal: nil, maxRssKb: 204_800, wallS: 3.5,
                                                      killedBecause: nil),
                                   idle: IdleBaseline(seconds: 1, watts: ["package-0": 3]))
        r.status = .ok
        r.failureReason = nil
        r.examples = 408
        r.metrics = ["accuracy": 0.86, "f1": 0.9]
        r.energy = energy
        r.energySource = "rapl"
        r.energyJPerExample = 0.03
        r.energyJPerCorrect = 0.035
        r.latencyP50Ms = 3
        r.latencyP90Ms = 3.5
        r.latencyP99Ms = 4
        r.latencyP50MsInterval = ConfidenceInterval(low: 2.9, high: 3.1, level: 0.95)
        r.throughputExamplesPerS = 300
        r.throughputTokensPerS = 9000
        r.modelFileBytes = 90_000_000
        r.parameterCount = 22_000_000
        r.nonZeroParameterCount = 7_000_000
        r.weightBytesFp32 = 88_000_000
        r.flopsPerExample = 1e9
        r.meanExitLayer = 4.5
        r.techniques = AppliedTechniques(techniques: ["magnitude sparsity=0.7"], parameterCount: 22_000_000,
                                         nonZeroParameterCount: 7_000_000, kernels: ["sparse": 36], layers: 6,
                                         keptLayers: [], removedHeads: ["0": [1, 3]], maxSeqLen: nil, notes: ["n"])
        r.offline = OfflineResult(batch: 16, passes: 2, queries: 816, examples: 816, tokens: 40_000, seconds: 2.7,
                                  examplesPerS: 300, tokensPerS: 9000, energy: energy, energyJPerExample: 0.03,
                                  energyJPerCorrect: nil, extendedForResolution: true)
        r.singleStream = SingleStreamResult(queries: 500, warmupQueries: 10, seconds: 1.5, latencyP50Ms: 3, latencyP90Ms: 3.5,
                                            latencyP99Ms: 4, latencyMeanMs: 3.1, latencyMinMs: 2.5, latencyMaxMs: 6,
                                            queriesPerS: 330, energy: energy, energyJPerQuery: 0.01,
                                            extendedForResolution: false)
        r.timings.inWorker = TrialTimings()
        r.timings.inWorker?.loadS = 0.5
        r.timings.workerS = 3.5
        let window = WindowInterference(seconds: 1.5, cpus: 2, otherCpuCores: 0.9, ownCpuCores: 1, stealFraction: 0.01,
                                        runQueueMean: 2.5, runQueueMax: 4, cpuMhzMean: 2400, cpuMhzMin: 2100, disturbed: true,
                                        reasons: ["other processes used 0.90 cores (limit 0.25)"])
        r.interference = window
        r.disturbed = true
        r.remeasuredWindows = 2
        r.metricIntervals = ["accuracy": ConfidenceInterval(low: 0.82, high: 0.89, level: 0.95),
                             "f1": ConfidenceInterval(low: 0.87, high: 0.92, level: 0.95)]
        r.chance = ChanceLevel(predictor: "majority class 'equivalent' (68.4 % of 408)", metrics: ["accuracy": 0.684, "f1": 0.81])
        r.energyBasis = EnergyBasis(accounting: .gross, scenario: .offline)
        r.energyJPerExampleInterval = ConfidenceInterval(low: 0.028, high: 0.033, level: 0.95)
        r.weightBytesHeld = 23_000_000
        r.pairedBaseline = PairedBaselineMeasurement(
            id: "agent-1/baseline#3", baselineKey: "00ff", measuredAt: "2026-12-06T10:00:00.000Z", trialsBefore: 2, ageS: 31.5,
            latencyP50Ms: 4, latencyP50MsInterval: ConfidenceInterval(low: 3.9, high: 4.2, level: 0.95), throughputExamplesPerS: 250,
            throughputExamplesPerSInterval: ConfidenceInterval(low: 240, high: 260, level: 0.95), energyJPerExample: 0.05,
            energyJPerExampleInterval: ConfidenceInterval(low: 0.045, high: 0.055, level: 0.95),
            energyBasis: EnergyBasis(accounting: .net, scenario: .singleStream), disturbed: false)
        r.offline?.examplesPerSInterval = ConfidenceInterval(low: 290, high: 310, level: 0.95)
        r.offline?.energyJPerExampleInterval = ConfidenceInterval(low: 0.028, high: 0.033, level: 0.95)
        r.offline?.interference = window
        r.offline?.attempts = 3
        r.singleStream?.latencyP50MsInterval = ConfidenceInterval(low: 2.9, high: 3.1, level: 0.95)
        r.singleStream?.energyJPerQueryInterval = ConfidenceInterval(low: 0.009, high: 0.011, level: 0.95)
        r.singleStream?.interference = window
        r.singleStream?.attempts = 1
        return r
    }

    @Test func aFullResultSurvivesTheWireUnchanged() throws {
        let original = Self.fullResult()
        let wire = WireTrialResult(original)
        let bytes = try wire.serializedData()
        let back = try TrialResult(wire: try WireTrialResult(serializedBytes: bytes))
        #expect(back == original)
        // And so does its JSON export, key for key.
        #expect(try JSONCoding.encoder.encode(back) == JSONCoding.encoder.encode(original))
        #expect(TrialResultValidator.validate(wire, task: "MRPC") == nil)
    }

    @Test func aFailedResultSurvivesTooAndNeedsOnlyItsReason() throws {
        var failed = Self.fullResult()
        // A failure carries no measurement, so nothing was disturbed or measured again.
        failed.disturbed = nil
        failed.remeasuredWindows = nil
        failed.status = .failed
        failed.failureReason = "the worker crashed with SIGSEGV"
        failed.metrics = [:]
        let back = try TrialResult(wire: WireTrialResult(failed))
        #expect(back == failed)
        var bare = WireTrialResult()
        bare.status = .failed
        bare.failureReason = "bad assignment"
        #expect(TrialResultValidator.validate(bare, task: "SST-2") == nil)
        bare.failureReason = " "
        #expect(TrialResultValidator.validate(bare, task: "SST-2")?.field == "failure_reason")
    }

    @Test func theValidatorKnowsEachTasksMetricsAndRanges() {
        #expect(TrialResultValidator.metricRanges(task: "CoLA")?.keys.sorted() == ["matthews_correlation"])
        #expect(TrialResultValidator.metricRanges(task: "sts-b")?.keys.sorted() == ["pearson", "spearmanr"])
        #expect(TrialResultValidator.metricRanges(task: "MNLI")?.keys.sorted() == ["accuracy_matched", "accuracy_mismatched"])
        #expect(TrialResultValidator.metricRanges(task: "squad")?["f1"] == 0...100)
        #expect(TrialResultValidator.metricRanges(task: "nonsense") == nil)
        var r = WireResults.ok(task: "CoLA", metrics: ["matthews_correlation": -0.2])
        #expect(TrialResultValidator.validate(r, task: "CoLA") == nil)
        r.metrics = ["matthews_correlation": -1.2]
        #expect(TrialResultValidator.validate(r, task: "CoLA")?.field == "metrics[\"matthews_correlation\"]")
        var squad = WireResults.ok(task: "squad")
        #expect(TrialResultValidator.validate(squad, task: "squad") == nil)
        squad.latencyP90Ms = 1  // below p50
        #expect(TrialResultValidator.validate(squad, task: "squad")?.field == "latency_p50_ms")
    }

    @Test func capabilitiesOfTheRealEngineCoverEveryTechniqueItCanRun() {
        var spec = TrialSpec(model: "/m", task: "sst2", data: "/d")
        var quant = TechniqueSpec(name: .quantization)
        quant.mode = .bf16
        spec.techniques = [quant, TechniqueSpec(name: .earlyExit)]
        let needs = TrialRequirements(spec: spec)
        #expect(needs.task == "sst-2" && needs.techniques == ["early-exit", "quantization"] && needs.kernels == ["bf16"])
        #expect(TrialRequirements(signature: needs.signature) == needs)
        #expect(needs.missing(in: WireResults.allCapabilities).isEmpty)
        var bare = WireCapabilities()
        bare.tasks = ["sst-2"]
        #expect(needs.missing(in: bare) == ["technique early-exit", "technique quantization", "kernel bf16"])
    }

    @Test func keysAdmitTheirOwnNamesOrTheirGlobs() {
        let key = AgentKey(publicKey: String(repeating: "x", count: 40), name: "node7", agentIds: ["node7", "node7-*"])
        #expect(key.admits("node7") && key.admits("node7-gpu0") && !key.admits("victim3") && !key.admits("node70"))
        #expect(key.fingerprint.hasPrefix("sha256:") && key.fingerprint.count == 23)
    }
}
