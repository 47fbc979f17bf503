/// Idle power per domain, measured before a series of trials so each trial's energy can be
/// reported both gross (what the meter saw) and net of what the machine burns doing nothing.
public struct IdleBaseline: Codable, Sendable, Equatable {
    public var seconds: Double
    /// Domain name → mean watts over the idle window.
    public var watts: [String: Double]

    public init(seconds: Double, watts: [String: Double]) {
        self.seconds = seconds
        self.watts = watts
    }

    /// Idle power from a window in which nothing ran.
    public init(window: EnergyWindow) {
        seconds = window.seconds
        watts = Dictionary(window.domains.map { ($0.name, window.seconds > 0 ? $0.joules / window.seconds : 0) },
                           uniquingKeysWith: { a, _ in a })
    }
}

/// The energy part of a trial result: per domain gross and idle-subtracted joules with their
/// source, the totals, and the notes saying what was tried and not used.
public struct EnergyReport: Codable, Sendable, Equatable {
    public struct Domain: Codable, Sendable, Equatable {
        public var name: String
        public var source: EnergySource
        public var kind: EnergyDomainKind
        public var countsTowardTotal: Bool
        public var grossJ: Double
        /// `grossJ − idleW × seconds`; nil without an idle baseline. Can be slightly negative
        /// when a domain's draw is within its noise of idle: reported as measured, not clamped.
        public var netJ: Double?
        public var idleW: Double?
        public var wraps: Int

        package init(name: String, source: EnergySource, kind: EnergyDomainKind, countsTowardTotal: Bool, grossJ: Double,
                     netJ: Double?, idleW: Double?, wraps: Int) {
            self.name = name
            self.source = source
            self.kind = kind
            self.countsTowardTotal = countsTowardTotal
            self.grossJ = grossJ
            self.netJ = netJ
            self.idleW = idleW
            self.wraps = wraps
        }
    }

    /// `rapl`, `nvml`, `hwmon`, `estimated`, or several joined with `+` (`rapl+nvml`).
    public var source: String
    public var seconds: Double
    /// Sum over domains that count toward the total (packages, DRAM, GPUs, boards).
    public var grossJ: Double
    public var netJ: Double?
    public var packageJ: Double?
    public var dramJ: Double?
    public var gpuJ: Double?
    public var domains: [Domain]
    public var idleBaselineS: Double?
    public var estimate: EnergyEstimateParameters?
    public var pollIntervalS: Double
    public var samples: Int
    public var notes: [String]

    /// Every field as given: for a report read back from the wire.
    package init(source: String, seconds: Double, grossJ: Double, netJ: Double?, packageJ: Double?, dramJ: Double?,
                 gpuJ: Double?, domains: [Domain], idleBaselineS: Double?, estimate: EnergyEstimateParameters?,
                 pollIntervalS: Double, samples: Int, notes: [String]) {
        self.source = source
        self.seconds = seconds
        self.grossJ = grossJ
        self.netJ = netJ
        self.packageJ = packageJ
        self.dramJ = dramJ
        self.gpuJ = gpuJ
        self.domains = domains
        self.idleBaselineS = idleBaselineS
        self.estimate = estimate
        self.pollIntervalS = pollIntervalS
        self.samples = samples
        self.notes = notes
    }

    public init(window: EnergyWindow, idle: IdleBaseline?, estimate: EnergyEstimateParameters?,
                pollIntervalS: Double, notes: [String]) {
        let domains = window.domains.map { domain in
            let idleW = idle?.watts[domain.name]
            return Domain(name: domain.name, source: domain.source, kind: domain.kind,
                          countsTowardTotal: domain.kind.countsTowardTotal, grossJ: domain.joules,
                          netJ: idleW.map { domain.joules - $0 * window.seconds }, idleW: idleW, wraps: domain.wraps)
        }
        self.domains = domains
        var sources: [String] = []
        for domain in domains where !sources.contains(domain.source.rawValue) { sources.append(domain.source.rawValue) }
        source = sources.joined(separator: "+")
        seconds = window.seconds
        let counted = domains.filter(\.countsTowardTotal)
        grossJ = counted.reduce(0) { $0 + $1.grossJ }
        netJ = counted.allSatisfy { $0.netJ != nil } && !counted.isEmpty ? counted.reduce(0) { $0 + $1.netJ! } : nil
        func sum(_ kind: EnergyDomainKind) -> Double? {
            // `domains` here is the local copy: self is not fully initialised yet.
            let parts = domains.filter { $0.kind == kind }
            return parts.isEmpty ? nil : parts.reduce(0) { $0 + $1.grossJ }
        }
        packageJ = sum(.package)
        dramJ = sum(.dram)
        gpuJ = sum(.gpu)
        idleBaselineS = idle?.seconds
        self.estimate = estimate
        self.pollIntervalS = pollIntervalS
        samples = window.samples
        var notes = notes
        for domain in window.domains where domain.discarded > 0 {
            notes.append("\(domain.discarded) reading(s) of \(domain.name) went backwards by more than a counter wrap "
                + "could explain in the time elapsed and were dropped as error readings")
        }
        if let net = netJ, net <= 0 {
            notes.append(String(format: "net energy %.4g J ≤ 0: the machine drew more during the idle baseline than "
                + "during the trial (other work running?); per-example figures use gross energy", net))
        }
        self.notes = notes
    }

    /// Net joules when there is a baseline, gross otherwise: the figure per-example numbers use.
    /// A net figure ≤ 0 is a disturbed baseline, not free inference: gross is used, with a note.
    public var bestJ: Double {
        if let netJ, netJ > 0 { return netJ }
        return grossJ
    }
}
