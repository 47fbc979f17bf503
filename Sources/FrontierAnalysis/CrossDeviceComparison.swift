import Foundation

/// The same configuration (task, model, configKey) on every device class that ran it, side by
/// side: J/example and latency p50 as ratios against a reference device class, and which device
/// class is best on each.
///
/// The reference is the one asked for, else the first device class alphabetically; a row the
/// reference did not run has no ratios. Best = the smallest median; ties go to the device class
/// first alphabetically. Energies from different sources (one metered, one estimated) are compared
/// as they are; each cell says whether its energy is estimated.
public struct CrossDeviceComparison: Codable, Sendable, Equatable {
    public struct Cell: Codable, Sendable, Equatable {
        public var deviceClass: String
        public var repeats: Int
        public var metric: Double?
        public var joulesPerExample: Double?
        public var latencyP50Ms: Double?
        /// J/example ÷ the reference device class's.
        public var energyRatio: Double?
        /// Latency p50 ÷ the reference device class's.
        public var latencyRatio: Double?
        public var energySource: String?
        public var energyEstimated: Bool
    }

    public struct Row: Codable, Sendable, Equatable {
        public var task: String
        public var model: String
        public var configKey: String
        public var technique: String
        public var variant: String
        public var isBaseline: Bool
        /// One per device class that has accepted trials of the configuration, sorted by name.
        public var cells: [Cell]
        public var bestEnergy: String?
        public var bestLatency: String?

        public func cell(_ deviceClass: String) -> Cell? { cells.first { $0.deviceClass == deviceClass } }
    }

    public var referenceDeviceClass: String?
    public var deviceClasses: [String]
    /// Sorted by task, model, the baseline first, then technique label and configKey.
    public var rows: [Row]

    public static func compare(_ configs: [ConfigAggregate], reference: String? = nil) -> CrossDeviceComparison {
        let devices = Set(configs.map(\.group.deviceClass)).sorted()
        let ref = reference ?? devices.first
        struct Key: Hashable { var task: String; var model: String; var configKey: String }
        let byKey = Dictionary(grouping: configs) { Key(task: $0.group.task, model: $0.group.model, configKey: $0.configKey) }
        var rows: [Row] = []
        for (key, same) in byKey {
            let sorted = same.sorted { $0.group.deviceClass < $1.group.deviceClass }
            let reference = sorted.first { $0.group.deviceClass == ref }
            let cells = sorted.map { c in
                Cell(deviceClass: c.group.deviceClass, repeats: c.repeats, metric: c.metricValue,
                     joulesPerExample: c.value(.joulesPerExample), latencyP50Ms: c.value(.latencyP50Ms),
                     energyRatio: FrontierSummary.ratio(c.value(.joulesPerExample), reference?.value(.joulesPerExample)),
                     latencyRatio: FrontierSummary.ratio(c.value(.latencyP50Ms), reference?.value(.latencyP50Ms)),
                     energySource: c.energySource, energyEstimated: c.energyEstimated)
            }
            func best(_ value: (Cell) -> Double?) -> String? {
                cells.compactMap { c in frontierFinite(value(c)).map { (c.deviceClass, $0) } }
                    .min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
            }
            let first = sorted[0]
            rows.append(Row(task: key.task, model: key.model, configKey: key.configKey, technique: first.technique,
                            variant: first.variant, isBaseline: sorted.contains(where: \.isBaseline), cells: cells,
                            bestEnergy: best(\.joulesPerExample), bestLatency: best(\.latencyP50Ms)))
        }
        rows.sort {
            ($0.task, $0.model, $0.isBaseline ? 0 : 1, $0.technique, $0.configKey)
                < ($1.task, $1.model, $1.isBaseline ? 0 : 1, $1.technique, $1.configKey)
        }
        return CrossDeviceComparison(referenceDeviceClass: ref, deviceClasses: devices, rows: rows)
    }
}
