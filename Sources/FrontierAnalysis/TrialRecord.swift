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
    public var parameters: [String: String]
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

    public init(trialId: String, pointKey: String? = nil, configKey: String? = nil, task: String = "task",
                model: String = "model", deviceClass: String = "device", variant: String = "dense",
                technique: String? = nil, parameters: [String: String] = [:], isBaseline: Bool = false,
                repeatIndex: Int = 0, status: Status = .accepted, failureReasons: [String] = [],
                metricName: String? = "accuracy", metric: Double? = nil, metrics: [String: Double] = [:],
                joulesPerExample: Double? = nil, joulesPerCorrect: Double? = nil, energySource: String? = nil,
                latencyP50Ms: Double? = nil, latencyP99Ms: Double? = nil, throughputExamplesPerS: Double? = nil,
                peakRssMb: Double? = nil, modelBytes: Int? = nil, agentId: String? = nil, finishedAt: String? = nil) {
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
    }

    /// The (task, model, device class) this trial's frontiers belong to.
    public var group: FrontierGroup { FrontierGroup(task: task, model: model, deviceClass: deviceClass) }
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
