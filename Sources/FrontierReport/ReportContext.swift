import Foundation
import FrontierAnalysis

/// What a report says about where its trials came from, besides the trials themselves.
public struct ReportContext: Codable, Sendable, Equatable {
    public var gridName: String
    /// The grid file's text, shown in the appendix.
    public var gridSource: String?
    /// Device class → its fingerprint as pretty JSON.
    public var devices: [String: String]
    /// When the report was made (ISO 8601); passed in so the output is reproducible.
    public var generatedAt: String
    public var storePath: String?
    public var notes: [String]
    public var analysis: FrontierAnalysis.Options

    public init(gridName: String, gridSource: String? = nil, devices: [String: String] = [:], generatedAt: String,
                storePath: String? = nil, notes: [String] = [], analysis: FrontierAnalysis.Options = .init()) {
        self.gridName = gridName
        self.gridSource = gridSource
        self.devices = devices
        self.generatedAt = generatedAt
        self.storePath = storePath
        self.notes = notes
        self.analysis = analysis
    }
}
