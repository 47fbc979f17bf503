import Foundation
import Testing
@testable import FrontierAnalysis
@testable import FrontierReport

/// The cost of training in the outputs: `trials.csv` carries it per trial, the analysis turns it
/// into a break-even number of queries against the baseline, and the HTML shows both.
@Suite struct TrainingCostReportTests {
    /// The synthetic sweep with "layers: keep 3 of 6" (0.44 of dense's energy) and "fp16 weights"
    /// (1.02: costs more than dense) measured on checkpoints that took 500 J to train.
    static func records() -> [TrialRecord] {
        SyntheticSweep.records(repeats: 1).map { r in
            var r = r
            if r.technique == "layers: keep 3 of 6" || r.technique == "fp16 weights" {
                r.training = TrainingCost(stage: "abc123", deviceClass: "amd-epyc-9654", trainingS: 40, wallS: 45, examplesPerS: 90,
                                          trainingJ: 450, totalJ: 500, energySource: "estimated", peakRssMb: 600)
            }
            return r
        }
    }

    @Test func breakEvenIsTrainingJoulesOverTheSavingPerQuery() throws {
        let analysis = FrontierAnalysis(records: Self.records())
        let rows = analysis.training.filter { $0.group.deviceClass == "amd-epyc-9654" }
        #expect(rows.count == 2)
        let layers = try #require(rows.first { $0.technique == "layers: keep 3 of 6" })
        let saving = try #require(layers.savingPerQuery)
        #expect(saving > 0)
        let queries = try #require(layers.breakEvenQueries)
        #expect(abs(queries - 500 / saving) < 1e-6 * queries)
        let j = try #require(layers.joulesPerExample)
        #expect(abs(layers.amortised["1e3"]! - (j + 500 / 1e3)) < 1e-12)
        #expect(abs(layers.amortised["1e9"]! - (j + 500 / 1e9)) < 1e-12)
        #expect(layers.amortised["1e3"]! > layers.amortised["1e6"]!)
        let fp16 = try #require(rows.first { $0.technique == "fp16 weights" })
        #expect(fp16.savingPerQuery.map { $0 < 0 } == true)
        #expect(fp16.breakEvenQueries == nil)  // never paid back
    }

    @Test func theOutputsCarryTheTrainingCost() throws {
        let records = Self.records()
        let analysis = FrontierAnalysis(records: records)
        let rows = ReportTests.parseCSV(ReportTables.trialsCSV(records))
        let header = rows[0]
        let stage = try #require(header.firstIndex(of: "training_stage"))
        let joules = try #require(header.firstIndex(of: "training_j"))
        let trained = rows.dropFirst().filter { $0[stage] == "abc123" }
        #expect(trained.count == 4)  // two configurations on two device classes
        #expect(trained.allSatisfy { $0[joules] == "500.0" }, "\(trained.map { $0[joules] })")
        #expect(rows.dropFirst().filter { $0[stage].isEmpty }.count == records.count - 4)
        let html = ReportHTML.render(analysis, records: records, context: ReportContext(gridName: "t", generatedAt: "now"), plots: [])
        #expect(html.contains("<h2>Training cost and break-even</h2>"))
        #expect(html.contains("never"))
        let json = String(decoding: try ReportTables.summaryJSON(analysis, records: records,
                                                                 context: ReportContext(gridName: "t", generatedAt: "now")), as: UTF8.self)
        #expect(json.contains("\"break_even_queries\""))
    }
}
