import Foundation

/// One trial as the analysis sees it: a grid point measured on one device class. The coordinator
/// maps its stored results onto this; everything in `Frontier/` and `Report/` reads only these.
public struct TrialRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case accepted, failed, pending, running }

    /// Unique per (grid point, device class).
    public var trialId: String
    /// Grid-point identity: the same across device classes; repeats of a point have distinct
    /// keys but the same `configKey`.
    public var pointKey: String
    /// Configuration identity ignoring the repeat index: repeats are aggregated by
    /// (task, model, deviceClass, configKey).
    public var configKey: String
    public var task: String
    /// The model's label.
    public var model: String
    public var deviceClass: String
    /// The grid variant's name ("dense", "magnitude", …): the colour in the plots.
    public var variant: String
    /// A human label ("magnitude sparsity=0.9").
    public var technique: String
    /// The grid axes' values, typed as the grid wrote them (see `ParameterValue`).
    public var parameters: [String: ParameterValue]
    /// The dense fp32 baseline.
    public var isBaseline: Bool
    public var repeatIndex: Int
    public var status: Status
    public var failureReasons: [String]
    /// The headline metric's name: "accuracy", "f1", "matthews", "pearson", …
    public var metricName: String?
    /// The headline metric on its natural scale (0…1 or −1…1); a "point" is 0.01 of it.
    public var metric: Double?
    public var metrics: [String: Double]
    public var joulesPerExample: Double?
    public var joulesPerCorrect: Double?
    /// "rapl", "nvml", "hwmon", "estimated": estimated energy is labelled as such everywhere.
    public var energySource: String?
    public var latencyP50Ms: Double?
    public var latencyP99Ms: Double?
    public var throughputExamplesPerS: Double?
    public var peakRssMb: Double?
    public var modelBytes: Int?
    public var agentId: String?
    public var finishedAt: String?

    // MARK: How sure the numbers are (issue 14). All optional: older results lack them, and then
    // the analysis falls back to point values (and exact comparisons).

    /// The headline metric's interval: Wilson for accuracy, a bootstrap otherwise.
    public var metricInterval: ConfidenceInterval?
    public var latencyP50MsInterval: ConfidenceInterval?
    public var throughputInterval: ConfidenceInterval?
    public var joulesPerExampleInterval: ConfidenceInterval?
    /// Dev examples scored: with an accuracy and no `metricInterval`, the analysis computes the
    /// Wilson interval itself.
    public var examples: Int?
    /// A measurement window had interference above the threshold even after re-measuring: its
    /// latency, throughput and energy may be a neighbour's as much as this trial's.
    public var disturbed: Bool
    /// Windows measured again because of interference.
    public var remeasuredWindows: Int
    /// What the interference was, for people ("other processes 0.93 cores, steal 0%").
    public var interferenceSummary: String?
    /// The headline metric of the constant predictor on the same dev set (the majority class for
    /// classification; usually 0 for correlations), on the scale of `metric`: at or below it, a
    /// technique has destroyed the model, whatever its energy.
    public var chanceLevel: Double?
    /// "net/offline", "gross/offline", "net/single-stream" or "gross/single-stream": whether idle
    /// power was subtracted and which scenario the joules were counted over. Energies of two
    /// bases are not comparable.
    public var energyBasis: String?
    /// Why the energy is what it is (estimated because no meter was readable, …), from the agent.
    public var energyNotes: [String]
    /// Bytes of weights the worker held, exactly (what a quantised or sparse model occupies,
    /// unlike `modelBytes`, the checkpoint file).
    public var weightBytesHeld: Int?
    /// The baseline measured beside this trial on the same agent, when the agent measured one.
    public var pairedBaseline: PairedBaselineRef?
    /// What training the measured checkpoint cost, when the sweep trained it.
    public var training: TrainingCost?

    public init(trialId: String, pointKey: String? = nil, configKey: String? = nil, task: String = "task",
                model: String = "model", deviceClass: String = "device", variant: String = "dense",
                technique: String? = nil, parameters: [String: ParameterValue] = [:], isBaseline: Bool = false,
                repeatIndex: Int = 0, status: Status = .accepted, failureReasons: [String] = [],
                metricName: String? = "accuracy", metric: Double? = nil, metrics: [String: Double] = [:],
                joulesPerExample: Double? = nil, joulesPerCorrect: Double? = nil, energySource: String? = nil,
                latencyP50Ms: Double? = nil, latencyP99Ms: Double? = nil, throughputExamplesPerS: Double? = nil,
                peakRssMb: Double? = nil, modelBytes: Int? = nil, agentId: String? = nil, finishedAt: String? = nil,
                metricInterval: ConfidenceInterval? = nil, latencyP50MsInterval: ConfidenceInterval? = nil,
                throughputInterval: ConfidenceInterval? = nil, joulesPerExampleInterval: ConfidenceInterval? = nil,
                examples: Int? = nil, disturbed: Bool = false, remeasuredWindows: Int = 0,
                interferenceSummary: String? = nil, chanceLevel: Double? = nil, energyBasis: String? = nil,
                energyNotes: [String] = [], weightBytesHeld: Int? = nil, pairedBaseline: PairedBaselineRef? = nil) {
        self.trialId = trialId
        self.pointKey = pointKey ?? trialId
        self.configKey = configKey ?? pointKey ?? trialId
        self.task = task
        self.model = model
        self.deviceClass = deviceClass
        self.variant = variant
        self.technique = technique ?? variant
        self.parameters = parameters
        self.isBaseline = isBaseline
        self.repeatIndex = repeatIndex
        self.status = status
        self.failureReasons = failureReasons
        self.metricName = metricName
        self.metric = metric
        self.metrics = metrics
        self.joulesPerExample = joulesPerExample
        self.joulesPerCorrect = joulesPerCorrect
        self.energySource = energySource
        self.latencyP50Ms = latencyP50Ms
        self.latencyP99Ms = latencyP99Ms
        self.throughputExamplesPerS = throughputExamplesPerS
        self.peakRssMb = peakRssMb
        self.modelBytes = modelBytes
        self.agentId = agentId
        self.finishedAt = finishedAt
        self.metricInterval = metricInterval
        self.latencyP50MsInterval = latencyP50MsInterval
        self.throughputInterval = throughputInterval
        self.joulesPerExampleInterval = joulesPerExampleInterval
        self.examples = examples
        self.disturbed = disturbed
        self.remeasuredWindows = remeasuredWindows
        self.interferenceSummary = interferenceSummary
        self.chanceLevel = chanceLevel
        self.energyBasis = energyBasis
        self.energyNotes = energyNotes
        self.weightBytesHeld = weightBytesHeld
        self.pairedBaseline = pairedBaseline
    }

    /// The headline metric's interval: as reported, else for a proportion of examples
    /// (accuracy, exact match) with `examples` known, the Wilson interval of
    /// round(metric × examples) successes. Nil otherwise.
    public var effectiveMetricInterval: ConfidenceInterval? {
        if let metricInterval { return metricInterval }
        guard let name = metricName, Self.proportionMetrics.contains(name), let examples, examples > 0,
              let metric = frontierFinite(metric), metric >= 0, metric <= 1 else { return nil }
        return ConfidenceInterval.wilson(successes: Int((metric * Double(examples)).rounded()), trials: examples)
    }

    /// Metrics that are a share of dev examples scored right, for which Wilson applies.
    public static let proportionMetrics: Set<String> = ["accuracy", "exact_match"]

    /// The interval this trial reports for a measure (only energy, latency p50 and throughput
    /// are measured with one).
    public func interval(_ measure: FrontierMeasure) -> ConfidenceInterval? {
        switch measure {
        case .joulesPerExample: joulesPerExampleInterval
        case .latencyP50Ms: latencyP50MsInterval
        case .throughput: throughputInterval
        case .latencyP99Ms, .peakRssMb: nil
        }
    }

    /// The trial's value of a measure.
    public func value(_ measure: FrontierMeasure) -> Double? {
        switch measure {
        case .joulesPerExample: frontierFinite(joulesPerExample)
        case .latencyP50Ms: frontierFinite(latencyP50Ms)
        case .latencyP99Ms: frontierFinite(latencyP99Ms)
        case .peakRssMb: frontierFinite(peakRssMb)
        case .throughput: frontierFinite(throughputExamplesPerS)
        }
    }

    /// The (task, model, device class) this trial's frontiers belong to.
    public var group: FrontierGroup { FrontierGroup(task: task, model: model, deviceClass: deviceClass) }
}

/// Records written before issue 14 (an older `summary.json`, a live snapshot) lack the fields
/// that have defaults; they read back with those defaults instead of failing.
extension TrialRecord {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(trialId: try c.decode(String.self, forKey: .trialId))
        pointKey = try c.decode(String.self, forKey: .pointKey)
        configKey = try c.decode(String.self, forKey: .configKey)
        task = try c.decode(String.self, forKey: .task)
        model = try c.decode(String.self, forKey: .model)
        deviceClass = try c.decode(String.self, forKey: .deviceClass)
        variant = try c.decode(String.self, forKey: .variant)
        technique = try c.decode(String.self, forKey: .technique)
        parameters = try c.decodeIfPresent([String: ParameterValue].self, forKey: .parameters) ?? [:]
        isBaseline = try c.decode(Bool.self, forKey: .isBaseline)
        repeatIndex = try c.decode(Int.self, forKey: .repeatIndex)
        status = try c.decode(Status.self, forKey: .status)
        failureReasons = try c.decodeIfPresent([String].self, forKey: .failureReasons) ?? []
        metricName = try c.decodeIfPresent(String.self, forKey: .metricName)
        metric = try c.decodeIfPresent(Double.self, forKey: .metric)
        metrics = try c.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
        joulesPerExample = try c.decodeIfPresent(Double.self, forKey: .joulesPerExample)
        joulesPerCorrect = try c.decodeIfPresent(Double.self, forKey: .joulesPerCorrect)
        energySource = try c.decodeIfPresent(String.self, forKey: .energySource)
        latencyP50Ms = try c.decodeIfPresent(Double.self, forKey: .latencyP50Ms)
        latencyP99Ms = try c.decodeIfPresent(Double.self, forKey: .latencyP99Ms)
        throughputExamplesPerS = try c.decodeIfPresent(Double.self, forKey: .throughputExamplesPerS)
        peakRssMb = try c.decodeIfPresent(Double.self, forKey: .peakRssMb)
        modelBytes = try c.decodeIfPresent(Int.self, forKey: .modelBytes)
        agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
        finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
        metricInterval = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .metricInterval)
        latencyP50MsInterval = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .latencyP50MsInterval)
        throughputInterval = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .throughputInterval)
        joulesPerExampleInterval = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .joulesPerExampleInterval)
        examples = try c.decodeIfPresent(Int.self, forKey: .examples)
        disturbed = try c.decodeIfPresent(Bool.self, forKey: .disturbed) ?? false
        remeasuredWindows = try c.decodeIfPresent(Int.self, forKey: .remeasuredWindows) ?? 0
        interferenceSummary = try c.decodeIfPresent(String.self, forKey: .interferenceSummary)
        chanceLevel = try c.decodeIfPresent(Double.self, forKey: .chanceLevel)
        energyBasis = try c.decodeIfPresent(String.self, forKey: .energyBasis)
        energyNotes = try c.decodeIfPresent([String].self, forKey: .energyNotes) ?? []
        weightBytesHeld = try c.decodeIfPresent(Int.self, forKey: .weightBytesHeld)
        pairedBaseline = try c.decodeIfPresent(PairedBaselineRef.self, forKey: .pairedBaseline)
    }
}

/// A task × model × device class: the unit every frontier and summary is computed over.
public struct FrontierGroup: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var task: String
    public var model: String
    public var deviceClass: String

    public init(task: String, model: String, deviceClass: String) {
        self.task = task
        self.model = model
        self.deviceClass = deviceClass
    }

    public static func < (a: FrontierGroup, b: FrontierGroup) -> Bool {
        (a.task, a.model, a.deviceClass) < (b.task, b.model, b.deviceClass)
    }

    public var description: String { "\(task) · \(model) · \(deviceClass)" }
}

/// A measure a frontier trades the metric against.
public enum FrontierMeasure: String, Codable, Sendable, CaseIterable {
    case joulesPerExample = "j_per_example"
    case latencyP50Ms = "latency_p50_ms"
    case latencyP99Ms = "latency_p99_ms"
    case peakRssMb = "peak_rss_mb"
    case throughput = "throughput_examples_per_s"

    /// Whether smaller is better (all but throughput).
    public var minimise: Bool { self != .throughput }

    /// Axis and column label with its unit.
    public var label: String {
        switch self {
        case .joulesPerExample: "energy per example (J)"
        case .latencyP50Ms: "latency p50 (ms)"
        case .latencyP99Ms: "latency p99 (ms)"
        case .peakRssMb: "peak memory, RSS (MB)"
        case .throughput: "throughput (examples/s)"
        }
    }

    /// A short name for file names and headings.
    public var slug: String {
        switch self {
        case .joulesPerExample: "energy"
        case .latencyP50Ms: "latency-p50"
        case .latencyP99Ms: "latency-p99"
        case .peakRssMb: "memory"
        case .throughput: "throughput"
        }
    }

    public var isEnergy: Bool { self == .joulesPerExample }
}

/// Finite values only: NaN and infinities count as missing everywhere in the analysis.
@inline(__always) package func frontierFinite(_ value: Double?) -> Double? {
    guard let value, value.isFinite else { return nil }
    return value
}
