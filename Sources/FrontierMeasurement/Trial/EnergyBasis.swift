/// Which joules a result's "energy per example" counts. Net (idle subtracted) falls back to
/// gross when the net reading is not positive, and the offline scenario's figure to the
/// single-stream one when offline did not run or read nothing: two numbers of different kinds
/// must never sit on one axis unmarked, so every result says which it is.
public struct EnergyBasis: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Accounting: String, Codable, Sendable { case net, gross }
    public enum Scenario: String, Codable, Sendable {
        case offline
        case singleStream = "single-stream"
    }

    public var accounting: Accounting
    public var scenario: Scenario

    public init(accounting: Accounting, scenario: Scenario) {
        self.accounting = accounting
        self.scenario = scenario
    }

    /// "net/offline", "gross/single-stream", …
    public var description: String { "\(accounting.rawValue)/\(scenario.rawValue)" }

    public init?(_ text: String) {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count == 2, let a = Accounting(rawValue: parts[0]), let s = Scenario(rawValue: parts[1]) else { return nil }
        self.init(accounting: a, scenario: s)
    }
}
