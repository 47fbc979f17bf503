import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierTasks
import FrontierTechniques
import FrontierWire

/// What is wrong with a result, with the field named the way `frontier.proto` names it.
public struct TrialResultProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// A path into the message: `metrics["accuracy"]`, `single_stream.latency_p50_ms`, …
    public var field: String
    public var problem: String
    public var description: String { field.isEmpty ? problem : "result.\(field): \(problem)" }
}

/// The coordinator's rules for a result, checked before anything is stored: an agent is a
/// program on a machine someone else runs, and a result with no metrics, a metric named for
/// another task, or a NaN would otherwise sit in the store as "done" and never run again.
///
/// The rules are the ones `proto/frontier.proto` states beside each field. Pure and cheap (a
/// few dozen comparisons): the coordinator runs it on every result, inside its one loop.
public enum TrialResultValidator {
    /// The metric keys a task reports, with their ranges; nil for a task this build does not know.
    public static func metricRanges(task: String) -> [String: ClosedRange<Double>]? {
        if ["squad", "squad1.1", "squad-v1.1"].contains(task.lowercased()) { return squadRanges }
        return GlueTask(name: task).flatMap { glueRanges[$0] }
    }

    static let squadRanges: [String: ClosedRange<Double>] = ["exact_match": 0...100, "f1": 0...100]

    /// Built once: the coordinator validates every result against its task's table.
    static let glueRanges: [GlueTask: [String: ClosedRange<Double>]] = Dictionary(uniqueKeysWithValues:
        GlueTask.allCases.map { glue in
            var ranges: [String: ClosedRange<Double>] = [:]
            for split in glue.devSplits {
                for name in glue.metricNames {
                    let correlation = ["matthews_correlation", "pearson", "spearmanr"].contains(name)
                    ranges[glue.metricKey(name, split: split)] = correlation ? -1...1 : 0...1
                }
            }
            return (glue, ranges)
        })

    /// The result as the measurement layer's record, or the first rule it breaks: what the
    /// coordinator stores, or the reason it refuses. (A valid failure need not convert: only
    /// its reason is kept.)
    public static func check(_ r: WireTrialResult, task: String) -> Result<TrialResult, TrialResultProblem> {
        if let problem = validate(r, task: task) { return .failure(problem) }
        do {
            return .success(try TrialResult(wire: r))
        } catch let error as TrialResultWireError {
            return .failure(TrialResultProblem(field: error.field, problem: "cannot be read"))
        } catch {
            return .failure(TrialResultProblem(field: "", problem: "\(error)"))
        }
    }

    /// The first rule `result` breaks for a trial of `task`, or nil when it may be stored.
    public static func validate(_ r: WireTrialResult, task: String) -> TrialResultProblem? {
        var check = Checker()
        check.run(r, task: task)
        return check.problem
    }

    struct Checker {
        var problem: TrialResultProblem?

        mutating func fail(_ field: String, _ text: String) {
            if problem == nil { problem = TrialResultProblem(field: field, problem: text) }
        }

        mutating func finite(_ field: String, _ value: Double) {
            if !value.isFinite { fail(field, "must be a finite number; got \(value)") }
        }

        mutating func atLeast(_ field: String, _ value: Double, _ low: Double, inclusive: Bool = true) {
            finite(field, value)
            if value.isFinite, inclusive ? value < low : value <= low {
                fail(field, "must be \(inclusive ? "≥" : ">") \(low.formatted()); got \(value)")
            }
        }

        mutating func positive(_ field: String, _ value: Double) { atLeast(field, value, 0, inclusive: false) }

        mutating func run(_ r: WireTrialResult, task: String) {
            switch r.status {
            case .ok, .failed: break
            case .unspecified, .UNRECOGNIZED:
                return fail("status", "must be OK or FAILED")
            }
            if r.status == .failed {
                // A failure needs only its reason; what else it carries must still be consistent.
                if r.failureReason.trimmingCharacters(in: .whitespaces).isEmpty {
                    fail("failure_reason", "is required when status is FAILED")
                }
                if r.hasConfiguration, r.configuration.task.lowercased() != task.lowercased() {
                    fail("configuration.task", "is \"\(r.configuration.task)\" but this trial's task is \"\(task)\"")
                }
                numbers(r)
                return
            }
            guard r.hasConfiguration else { return fail("configuration", "is required (the configuration as run)") }
            guard r.configuration.task.lowercased() == task.lowercased() else {
                return fail("configuration.task", "is \"\(r.configuration.task)\" but this trial's task is \"\(task)\"")
            }
            guard r.task.lowercased() == task.lowercased() else {
                return fail("task", "is \"\(r.task)\" but this trial's task is \"\(task)\"")
            }
            guard r.hasDevice else { return fail("device", "is required (the machine that measured)") }
            if r.device.deviceClass.isEmpty { return fail("device.device_class", "must not be empty") }
            configuration(r.configuration)
            metrics(r, task: task)
            if !r.hasExamples || r.examples < 1 { fail("examples", "is required and must be ≥ 1") }
            numbers(r)
        }

        mutating func metrics(_ r: WireTrialResult, task: String) {
            guard let ranges = TrialResultValidator.metricRanges(task: task) else {
                return fail("task", "\"\(task)\" is not a task this coordinator knows")
            }
            let expected = ranges.keys.sorted()
            if r.metrics.isEmpty {
                return fail("metrics", "is required for status OK: \(expected.joined(separator: ", "))")
            }
            for name in r.metrics.keys.sorted() where ranges[name] == nil {
                return fail("metrics[\"\(name)\"]", "is not a metric of \(task) (expected \(expected.joined(separator: ", ")))")
            }
            for name in expected {
                guard let value = r.metrics[name] else { return fail("metrics[\"\(name)\"]", "is missing") }
                let range = ranges[name]!
                finite("metrics[\"\(name)\"]", value)
                if value.isFinite, !range.contains(value) {
                    fail("metrics[\"\(name)\"]", "must be in [\(range.lowerBound.formatted()), \(range.upperBound.formatted())]; got \(value)")
                }
            }
        }

        /// Every number that is present is finite and on the right side of zero.
        mutating func numbers(_ r: WireTrialResult) {
            if r.hasEnergyJPerExample { atLeast("energy_j_per_example", r.energyJPerExample, 0) }
            if r.hasEnergyJPerCorrect { atLeast("energy_j_per_correct", r.energyJPerCorrect, 0) }
            if r.hasLatencyP50Ms { positive("latency_p50_ms", r.latencyP50Ms) }
            if r.hasLatencyP90Ms { positive("latency_p90_ms", r.latencyP90Ms) }
            if r.hasLatencyP99Ms { positive("latency_p99_ms", r.latencyP99Ms) }
            if r.hasLatencyP50Ms, r.hasLatencyP90Ms, r.hasLatencyP99Ms, problem == nil,
               !(r.latencyP50Ms <= r.latencyP90Ms && r.latencyP90Ms <= r.latencyP99Ms) {
                fail("latency_p50_ms", "percentiles must satisfy p50 ≤ p90 ≤ p99; got \(r.latencyP50Ms), \(r.latencyP90Ms), \(r.latencyP99Ms)")
            }
            if r.hasLatencyP50MsInterval { interval("latency_p50_ms_interval", r.latencyP50MsInterval) }
            if r.hasThroughputExamplesPerS { positive("throughput_examples_per_s", r.throughputExamplesPerS) }
            if r.hasThroughputTokensPerS { positive("throughput_tokens_per_s", r.throughputTokensPerS) }
            if r.hasThroughputExamplesPerSInterval { interval("throughput_examples_per_s_interval", r.throughputExamplesPerSInterval) }
            if r.hasPeakRssMb { positive("peak_rss_mb", r.peakRssMb) }
            if r.hasFlopsPerExample { atLeast("flops_per_example", r.flopsPerExample, 0) }
            if r.hasMeanExitLayer { atLeast("mean_exit_layer", r.meanExitLayer, 0) }
            if r.hasParameterCount, r.hasNonZeroParameterCount, r.nonZeroParameterCount > r.parameterCount {
                fail("non_zero_parameter_count", "must be ≤ parameter_count (\(r.parameterCount)); got \(r.nonZeroParameterCount)")
            }
            if r.hasEnergy { energy("energy", r.energy) }
            if r.hasOffline {
                let o = r.offline
                positive("offline.seconds", o.seconds)
                atLeast("offline.examples_per_s", o.examplesPerS, 0)
                atLeast("offline.tokens_per_s", o.tokensPerS, 0)
                if o.hasEnergyJPerExample { atLeast("offline.energy_j_per_example", o.energyJPerExample, 0) }
                if o.hasEnergyJPerCorrect { atLeast("offline.energy_j_per_correct", o.energyJPerCorrect, 0) }
                if o.hasEnergy { energy("offline.energy", o.energy) }
            }
            if r.hasSingleStream {
                let s = r.singleStream
                positive("single_stream.seconds", s.seconds)
                for (name, value) in [("latency_p50_ms", s.latencyP50Ms), ("latency_p90_ms", s.latencyP90Ms),
                                      ("latency_p99_ms", s.latencyP99Ms), ("latency_mean_ms", s.latencyMeanMs),
                                      ("latency_min_ms", s.latencyMinMs), ("latency_max_ms", s.latencyMaxMs)] {
                    positive("single_stream.\(name)", value)
                }
                atLeast("single_stream.queries_per_s", s.queriesPerS, 0)
                if s.hasEnergyJPerQuery { atLeast("single_stream.energy_j_per_query", s.energyJPerQuery, 0) }
                if s.hasEnergy { energy("single_stream.energy", s.energy) }
            }
            if r.hasIdleBaseline {
                atLeast("idle_baseline.seconds", r.idleBaseline.seconds, 0)
                for (name, watts) in r.idleBaseline.watts.sorted(by: { $0.key < $1.key }) {
                    atLeast("idle_baseline.watts[\"\(name)\"]", watts, 0)
                }
            }
            trust(r)
            if r.hasTimings {
                atLeast("timings.worker_s", r.timings.workerS, 0)
                atLeast("timings.total_s", r.timings.totalS, 0)
                atLeast("timings.idle_baseline_s", r.timings.idleBaselineS, 0)
            }
        }

        /// The vocabulary of the configuration: names this build can read back, so that a
        /// stored result always converts (`TrialResult(wire:)`).
        mutating func configuration(_ c: WireTrialConfiguration) {
            func known<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ raw: String, _ field: String)
                where T.RawValue == String {
                if T(rawValue: raw) == nil {
                    fail(field, "\"\(raw)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            known(GemmBackend.self, c.gemm, "configuration.gemm")
            if c.batch < 1 { fail("configuration.batch", "must be ≥ 1") }
            if c.threads < 1 { fail("configuration.threads", "must be ≥ 1") }
            for (i, t) in c.techniques.enumerated() {
                let at = "configuration.techniques[\(i)]"
                known(TechniqueSpec.Name.self, t.name, "\(at).name")
                if t.hasScope { known(MagnitudePruning.Scope.self, t.scope, "\(at).scope") }
                if t.hasKernel { known(TechniqueSpec.SparseKernel.self, t.kernel, "\(at).kernel") }
                if t.hasStrategy { known(LayerDropping.Strategy.self, t.strategy, "\(at).strategy") }
                if t.hasMode { known(TechniqueSpec.QuantizationMode.self, t.mode, "\(at).mode") }
                if t.hasSparsity { finite("\(at).sparsity", t.sparsity) }
            }
            if c.hasMeasurement {
                for (i, scenario) in c.measurement.scenarios.enumerated() {
                    known(MeasurementSettings.Scenario.self, scenario, "configuration.measurement.scenarios[\(i)]")
                }
                known(EnergyMeterChoice.self, c.measurement.energy.meter, "configuration.measurement.energy.meter")
            }
        }

        /// What says how sure a result is: intervals, interference, the energy basis, the paired
        /// baseline. A reader relies on these to leave points out, so they obey the same rules.
        mutating func trust(_ r: WireTrialResult) {
            for (key, i) in r.metricIntervals.sorted(by: { $0.key < $1.key }) {
                if r.metrics[key] == nil { fail("metric_intervals[\"\(key)\"]", "names no metric of this result") }
                interval("metric_intervals[\"\(key)\"]", i)
            }
            if r.hasChance {
                for (key, value) in r.chance.metrics.sorted(by: { $0.key < $1.key }) {
                    if r.metrics[key] == nil { fail("chance.metrics[\"\(key)\"]", "names no metric of this result") }
                    finite("chance.metrics[\"\(key)\"]", value)
                }
            }
            if r.hasEnergyJPerExample, r.status == .ok, !r.hasEnergyBasis {
                fail("energy_basis", "is required with energy_j_per_example (net or gross, offline or single-stream)")
            }
            if r.hasEnergyBasis { basis("energy_basis", r.energyBasis) }
            if r.hasEnergyJPerExampleInterval { interval("energy_j_per_example_interval", r.energyJPerExampleInterval) }
            if r.hasWeightBytesHeld, r.weightBytesHeld == 0 { fail("weight_bytes_held", "must be > 0 when present") }
            if r.hasInterference { interference("interference", r.interference) }
            if r.hasOffline {
                let o = r.offline
                if o.hasExamplesPerSInterval { interval("offline.examples_per_s_interval", o.examplesPerSInterval) }
                if o.hasEnergyJPerExampleInterval { interval("offline.energy_j_per_example_interval", o.energyJPerExampleInterval) }
                if o.hasInterference { interference("offline.interference", o.interference) }
            }
            if r.hasSingleStream {
                let s = r.singleStream
                if s.hasLatencyP50MsInterval { interval("single_stream.latency_p50_ms_interval", s.latencyP50MsInterval) }
                if s.hasEnergyJPerQueryInterval { interval("single_stream.energy_j_per_query_interval", s.energyJPerQueryInterval) }
                if s.hasInterference { interference("single_stream.interference", s.interference) }
            }
            if r.hasPairedBaseline {
                let p = r.pairedBaseline
                if p.id.isEmpty { fail("paired_baseline.id", "must name the baseline measurement") }
                if p.baselineKey.isEmpty { fail("paired_baseline.baseline_key", "must name the baseline's grid point") }
                atLeast("paired_baseline.age_s", p.ageS, 0)
                if p.hasLatencyP50Ms { positive("paired_baseline.latency_p50_ms", p.latencyP50Ms) }
                if p.hasLatencyP50MsInterval { interval("paired_baseline.latency_p50_ms_interval", p.latencyP50MsInterval) }
                if p.hasThroughputExamplesPerS { positive("paired_baseline.throughput_examples_per_s", p.throughputExamplesPerS) }
                if p.hasThroughputExamplesPerSInterval {
                    interval("paired_baseline.throughput_examples_per_s_interval", p.throughputExamplesPerSInterval)
                }
                if p.hasEnergyJPerExample { atLeast("paired_baseline.energy_j_per_example", p.energyJPerExample, 0) }
                if p.hasEnergyJPerExampleInterval { interval("paired_baseline.energy_j_per_example_interval", p.energyJPerExampleInterval) }
                if p.hasEnergyBasis { basis("paired_baseline.energy_basis", p.energyBasis) }
            }
        }

        mutating func basis(_ field: String, _ b: WireEnergyBasis) {
            if !["net", "gross"].contains(b.accounting) { fail("\(field).accounting", "must be net or gross; got \"\(b.accounting)\"") }
            if !["offline", "single-stream"].contains(b.scenario) {
                fail("\(field).scenario", "must be offline or single-stream; got \"\(b.scenario)\"")
            }
        }

        mutating func interference(_ field: String, _ i: WireWindowInterference) {
            atLeast("\(field).seconds", i.seconds, 0)
            atLeast("\(field).other_cpu_cores", i.otherCpuCores, 0)
            atLeast("\(field).own_cpu_cores", i.ownCpuCores, 0)
            finite("\(field).steal_fraction", i.stealFraction)
            if i.stealFraction.isFinite, !(0...1).contains(i.stealFraction) {
                fail("\(field).steal_fraction", "must be in [0, 1]; got \(i.stealFraction)")
            }
            if i.hasRunQueueMean { atLeast("\(field).run_queue_mean", i.runQueueMean, 0) }
            if i.hasCpuMhzMean { positive("\(field).cpu_mhz_mean", i.cpuMhzMean) }
            if i.hasCpuMhzMin { positive("\(field).cpu_mhz_min", i.cpuMhzMin) }
        }

        mutating func interval(_ field: String, _ i: WireInterval) {
            finite("\(field).low", i.low)
            finite("\(field).high", i.high)
            if problem == nil, i.low > i.high { fail(field, "low (\(i.low)) must be ≤ high (\(i.high))") }
            if !(i.level > 0 && i.level < 1) { fail("\(field).level", "must be in (0, 1); got \(i.level)") }
        }

        mutating func energy(_ field: String, _ e: WireEnergyReport) {
            if e.source.isEmpty { fail("\(field).source", "must name the meter (rapl, nvml, hwmon, estimated)") }
            positive("\(field).seconds", e.seconds)
            atLeast("\(field).gross_j", e.grossJ, 0)
            // Net of idle may be slightly negative (a draw within noise of idle): finite is the rule.
            if e.hasNetJ { finite("\(field).net_j", e.netJ) }
            for (i, d) in e.domains.enumerated() {
                let at = "\(field).domains[\(i)]"
                if d.name.isEmpty { fail("\(at).name", "must not be empty") }
                if case .unspecified = d.source { fail("\(at).source", "must be set") }
                if case .UNRECOGNIZED = d.source { fail("\(at).source", "is not a source this coordinator knows") }
                if case .unspecified = d.kind { fail("\(at).kind", "must be set") }
                if case .UNRECOGNIZED = d.kind { fail("\(at).kind", "is not a kind this coordinator knows") }
                atLeast("\(at).gross_j", d.grossJ, 0)
                if d.hasNetJ { finite("\(at).net_j", d.netJ) }
                if d.hasIdleW { atLeast("\(at).idle_w", d.idleW, 0) }
            }
        }
    }
}
