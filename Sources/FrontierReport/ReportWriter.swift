import Foundation
import FrontierAnalysis

/// Writes a report folder:
///
///     trials.csv  frontier.csv  summary.json
///     report/index.html  report/<task>-<model>-<device>-<measure>.svg …
///
/// Everything is computed by the pure functions of `FrontierAnalysis`, `ReportTables` and
/// `ReportHTML`; this is the one place that touches the file system.
public enum ReportWriter {
    /// Writes the report into `dir` (created if needed; existing files of the same names are
    /// replaced, others left alone) and returns the files written.
    @discardableResult
    public static func write(records: [TrialRecord], context: ReportContext, to dir: URL) throws -> [URL] {
        let analysis = FrontierAnalysis(records: records, options: context.analysis)
        let plots = ReportHTML.plots(analysis)
        let html = ReportHTML.render(analysis, records: records, context: context, plots: plots)
        let reportDir = dir.appendingPathComponent("report", isDirectory: true)
        let fm = FileManager.default
        try fm.createDirectory(at: reportDir, withIntermediateDirectories: true)
        var written: [URL] = []
        func put(_ data: Data, _ url: URL) throws {
            try data.write(to: url, options: .atomic)
            written.append(url)
        }
        try put(Data(ReportTables.trialsCSV(records).utf8), dir.appendingPathComponent("trials.csv"))
        try put(Data(ReportTables.frontierCSV(analysis).utf8), dir.appendingPathComponent("frontier.csv"))
        try put(ReportTables.summaryJSON(analysis, records: records, context: context), dir.appendingPathComponent("summary.json"))
        try put(Data(html.utf8), reportDir.appendingPathComponent("index.html"))
        for plot in plots {
            try put(Data(plot.svg.utf8), reportDir.appendingPathComponent(plot.fileName))
        }
        return written
    }
}
