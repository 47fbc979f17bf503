import ArgumentParser
import Foundation
import FrontierAnalysis
import FrontierReport
import FrontierStore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a sweep's frontiers: trials.csv, frontier.csv, summary.json and report/index.html.",
        discussion: """
            Reads the store (also while the sweep runs) and writes, into --out (default: the store \
            folder): every trial with every measure (trials.csv), the Pareto-optimal configurations per \
            task × model × device class (frontier.csv), the summary per task × model × device class (baseline, \
            cheapest configuration within 1 and 2 points of it, knee, diminishing returns, cross-device \
            ratios: summary.json), and one self-contained HTML report with the plots, also as .svg files.
            """
    )

    @Option(help: "The store folder.")
    var store: String

    @Option(help: "Where to write (default: the store folder).")
    var out: String?

    func run() throws {
        do {
            let s = try SweepStore(folder: URL(fileURLWithPath: store), readOnly: true)
            let dir = try Self.write(store: s, to: URL(fileURLWithPath: out ?? store))
            note("frontier: wrote \(dir.appendingPathComponent("report/index.html").path)")
        } catch {
            note("Error: \(error)")
            throw ExitCode(1)
        }
    }

    static func write(store: SweepStore, to dir: URL) throws -> URL {
        let records = try TrialRecordMapping.records(from: store)
        let grid = try store.gridInfo()
        var devices: [String: String] = [:]
        for agent in try store.agents() where devices[agent.deviceClass] == nil {
            devices[agent.deviceClass] = Self.pretty(agent.fingerprintJSON)
        }
        let context = ReportContext(gridName: grid?.name ?? "sweep", gridSource: grid?.source, devices: devices,
                                    generatedAt: ISO8601DateFormatter().string(from: Date()), storePath: store.folder.path)
        try ReportWriter.write(records: records, context: context, to: dir)
        return dir
    }

    static func pretty(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }
}
