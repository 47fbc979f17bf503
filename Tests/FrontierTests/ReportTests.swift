import Foundation
import Testing
@testable import FrontierAnalysis
@testable import FrontierReport
@testable import FrontierSupport


/// A made-up sweep that exercises everything the report draws: two device classes (one metered
/// with baselines measured beside each trial, one estimated and saying why), repeats with spread,
/// a baseline, failures, a configuration without latency, one measured through interference,
/// one collapsed to the majority class, typed parameters.
enum SyntheticSweep {
    /// The grid parameters of `techniques[i]`.
    static let parameters: [[String: ParameterValue]] = [
        [:], ["sparsity": 0.5], ["sparsity": 0.7], ["sparsity": 0.9], ["mode": "dynamic"], ["dtype": "fp16"],
        ["removed": 4], ["removed": 8], ["removed": 0.5], ["keep": 3], ["entropy": 0.1], ["entropy": 0.3],
        ["keep": 0.5, "from_layer": 2], ["max_tokens": 32],
    ]
    /// SST-2's majority class on its dev set.
    static let chance = 0.509
    static let examples = 872

    static let techniques: [(variant: String, label: String, accuracy: Double, energy: Double, latency: Double)] = [
        ("dense", "dense fp32", 0.900, 1.00, 3.5),
        ("magnitude", "magnitude sparsity=0.5", 0.876, 0.98, 3.4),
        ("magnitude", "magnitude sparsity=0.7", 0.71, 0.62, 2.6),
        ("magnitude", "magnitude sparsity=0.9", 0.51, 0.31, 1.2),
        ("int8", "int8 dynamic", 0.899, 0.42, 1.6),
        ("fp16", "fp16 weights", 0.900, 1.02, 3.6),
        ("heads", "heads: 4 of 12 removed", 0.891, 0.86, 3.1),
        ("heads", "heads: 8 of 12 removed", 0.83, 0.72, 2.7),
        ("ffn", "FFN: 50% removed", 0.827, 0.66, 2.4),
        ("layers", "layers: keep 3 of 6", 0.80, 0.44, 1.7),
        ("early-exit", "early exit, entropy < 0.1", 0.881, 0.58, 2.0),
        ("early-exit", "early exit, entropy < 0.3", 0.841, 0.40, 1.45),
        ("tokens", "tokens: keep 50% from layer 2", 0.852, 0.69, 2.5),
        ("seq-len", "max 32 tokens", 0.86, 0.36, 1.3),
    ]

    /// Device classes with an energy and a latency factor and their energy source.
    static let devices: [(name: String, energy: Double, latency: Double, source: String)] = [
        ("amd-epyc-9654", 0.05, 1.0, "rapl"), ("arm-neoverse-n1", 0.08, 1.9, "estimated"),
    ]

    static func records(repeats: Int = 3, seed: UInt64 = 7) -> [TrialRecord] {
        var random = SplitMix64(seed: seed)
        func jitter(_ amount: Double) -> Double { 1 + amount * (Double(random.unit()) * 2 - 1) }
        var out: [TrialRecord] = []
        for device in devices {
            for (i, t) in techniques.enumerated() {
                for r in 0..<repeats {
                    let key = "p\(i)"
                    var record = TrialRecord(
                        trialId: "\(key)-r\(r)@\(device.name)", pointKey: "\(key)-r\(r)", configKey: key, task: "SST-2",
                        model: "minilm-l6", deviceClass: device.name, variant: t.variant, technique: t.label,
                        parameters: parameters[i], isBaseline: i == 0, repeatIndex: r, status: .accepted,
                        metricName: "accuracy", metric: t.accuracy * jitter(0.002), metrics: ["accuracy": t.accuracy],
                        joulesPerExample: t.energy * device.energy * jitter(0.04), energySource: device.source,
                        latencyP50Ms: t.latency * device.latency * jitter(0.03),
                        latencyP99Ms: t.latency * device.latency * 1.3 * jitter(0.05),
                        throughputExamplesPerS: 1000 / (t.latency * device.latency) * jitter(0.03),
                        peakRssMb: 180 + 30 * t.energy * jitter(0.01), modelBytes: 90_000_000,
                        agentId: "agent-\(device.name)", finishedAt: "2026-12-01T10:\(10 + i):0\(r)Z")
                    if i == 7, device.name.hasPrefix("arm") { record.latencyP50Ms = nil } // no latency measured
                    record.examples = examples
                    record.chanceLevel = chance
                    record.weightBytesHeld = i == 4 ? 23_000_000 : 90_000_000
                    if device.source == "estimated" {
                        record.energyNotes = ["no RAPL zones under /sys/class/powercap on this machine"]
                        record.energyBasis = "gross/offline"
                    } else {
                        record.energyBasis = "net/offline"
                        let latency = record.latencyP50Ms!, spread = 0.01 * latency
                        record.latencyP50MsInterval = ConfidenceInterval(low: latency - spread, high: latency + spread, level: 0.95)
                        // The baseline measured on the same agent just before this trial.
                        let base = techniques[0].latency * device.latency * jitter(0.03)
                        record.pairedBaseline = PairedBaselineRef(
                            id: "agent-\(device.name)/baseline#\(3 * i + r)", agentId: "agent-\(device.name)",
                            measuredAt: "2026-12-01T10:\(10 + i):0\(r)Z", trialsBefore: r,
                            latencyP50Ms: base, latencyP50MsInterval: ConfidenceInterval(low: base * 0.99, high: base * 1.01, level: 0.95),
                            joulesPerExample: techniques[0].energy * device.energy * jitter(0.04))
                        if i == 13 { // measured while a neighbour compiled
                            record.disturbed = true
                            record.remeasuredWindows = 2
                            record.interferenceSummary = "other processes 0.93 cores, steal 0%"
                        }
                    }
                    if i == 3, r == 2 {
                        record.status = .failed
                        record.failureReasons = ["worker exceeded the memory limit: 2100 MiB resident > 2048 MiB",
                                                 "retry 2: timed out after 600.0 s <see log>"]
                    }
                    out.append(record)
                }
            }
        }
        out.append(TrialRecord(trialId: "p99-r0@amd-epyc-9654", configKey: "p99", task: "SST-2", model: "minilm-l6",
                               deviceClass: "amd-epyc-9654", variant: "layers", technique: "layers: keep 1 of 6",
                               status: .failed, failureReasons: ["crashed: signal 11"], metric: nil))
        out.append(TrialRecord(trialId: "p98-r0@amd-epyc-9654", configKey: "p98", task: "SST-2", model: "minilm-l6",
                               deviceClass: "amd-epyc-9654", status: .pending))
        return out
    }

    static let context = ReportContext(
        gridName: "bert-efficiency-demo",
        gridSource: "name: bert-efficiency-demo\ntasks: [SST-2]\nmodels: [minilm-l6]\nrepeats: 3\n# <b>not bold</b>\n",
        devices: ["amd-epyc-9654": "{\n  \"cpu\" : \"AMD EPYC 9654\"\n}", "arm-neoverse-n1": "{\n  \"cpu\" : \"Neoverse-N1\"\n}"],
        generatedAt: "2026-12-01T12:00:00Z", storePath: "/var/lib/frontier/sweep.sqlite",
        notes: ["Synthetic data for the report's own tests."])
}

@Suite struct ReportTests {
    // MARK: - CSV

    @Test func csvQuotesWhatRFC4180Requires() {
        #expect(ReportCSV.field("plain") == "plain")
        #expect(ReportCSV.field("a,b") == "\"a,b\"")
        #expect(ReportCSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ReportCSV.field("two\nlines") == "\"two\nlines\"")
        #expect(ReportCSV.field("cr\r\nlf") == "\"cr\r\nlf\"")
        #expect(ReportCSV.field(" padded") == "\" padded\"")
        #expect(ReportCSV.field("") == "")
        #expect(ReportCSV.record(["a", "b,c", ""]) == "a,\"b,c\",\r\n")
    }

    /// A strict RFC 4180 reader, to read back what the writer wrote.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\r", chars.first == "\n" { chars.removeFirst(); row.append(field); rows.append(row); row = []; field = "" }
            else { field.unicodeScalars.append(c) }
        }
        return rows
    }

    @Test func trialsCSVRoundTripsAwkwardText() throws {
        let awkward = "magnitude, \"global\"\nsparsity=0.9"
        let records = [TrialRecord(trialId: "t1", technique: awkward, parameters: ["scope": "a,b"], status: .failed,
                                   failureReasons: ["out of memory", "then \"crashed\""], metric: nil),
                       TrialRecord(trialId: "t2", metric: 0.5, metrics: ["accuracy": 0.5, "f1": 0.25], joulesPerExample: 1e-5)]
        let rows = Self.parseCSV(ReportTables.trialsCSV(records))
        #expect(rows.count == 3)
        let header = rows[0]
        #expect(rows.allSatisfy { $0.count == header.count })
        func cell(_ row: Int, _ name: String) -> String? { header.firstIndex(of: name).map { rows[row][$0] } }
        #expect(cell(1, "technique") == awkward)
        #expect(cell(1, "param.scope") == "a,b")
        #expect(cell(1, "failure_reasons") == "out of memory | then \"crashed\"")
        #expect(cell(1, "status") == "failed")
        #expect(cell(1, "metric") == "")
        #expect(cell(2, "metric.f1") == "0.25")
        #expect(cell(2, "joules_per_example").flatMap(Double.init) == 1e-5)
        #expect(cell(2, "metrics") == "{\"accuracy\":0.5,\"f1\":0.25}")
    }

    @Test func frontierCSVGivesEveryConfigurationItsStanding() {
        let records = [ParetoFrontierTests.trial("a", 0.9, j: 1), ParetoFrontierTests.trial("b", 0.8, j: 2),
                       ParetoFrontierTests.trial("c", 0.7)]
        let rows = Self.parseCSV(ReportTables.frontierCSV(FrontierAnalysis(records: records)))
        let header = rows[0]
        let i = { (name: String) in header.firstIndex(of: name)! }
        let energy = rows.dropFirst().filter { $0[i("frontier")] == "j_per_example" }
        #expect(energy.map { $0[i("config_key")] } == ["a", "b", "c"])
        #expect(energy.map { $0[i("standing")] } == ["frontier", "dominated", "excluded"])
        #expect(energy.map { $0[i("rank")] } == ["1", "", ""])
        #expect(energy[2][i("missing")] == "j_per_example")
        #expect(rows.count == 1 + 3 * Pareto.allMeasureSets.count)
    }

    // MARK: - Escaping, numbers, names

    @Test func htmlEscapesEverythingThatMatters() {
        #expect(ReportFormat.html("<script>alert(\"x\") & 'y'</script>")
            == "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        #expect(ReportFormat.html("caf\u{E9} \u{1}") == "caf\u{E9} \u{FFFD}")
    }

    @Test func numbersAndTicks() {
        #expect(ReportFormat.number(0.012345) == "0.0123")
        #expect(ReportFormat.number(123.456) == "123")
        #expect(ReportFormat.number(nil) == "–")
        #expect(ReportFormat.number(.nan) == "–")
        #expect(ReportFormat.points(0.9002) == "90.02")
        #expect(ReportFormat.tick(0.5, step: 0.1) == "0.5")
        #expect(ReportFormat.tick(20, step: 5) == "20")
        #expect(ReportFormat.tick(0.0002) == "2e-4")
        #expect(ReportFormat.exact(0.1) == "0.1")
        #expect(ReportFormat.exact(nil) == "")
    }

    @Test func fileNamesAreSanitised() {
        #expect(ReportFormat.fileName("SST-2") == "sst-2")
        #expect(ReportFormat.fileName("a/b c:d") == "a-b-c-d")
        #expect(ReportFormat.fileName("../..") == "x")
        #expect(ReportFormat.fileName("  ") == "x")
        #expect(ReportFormat.fileName("<script>") == "script")
        let names = ReportHTML.baseNames([FrontierGroup(task: "a b", model: "m", deviceClass: "d"),
                                          FrontierGroup(task: "a-b", model: "m", deviceClass: "d")])
        #expect(Set(names.values) == ["a-b-m-d", "a-b-m-d-2"])
    }

    // MARK: - Axes

    @Test func linearAxesGetNiceTicks() {
        let axis = PlotAxis(values: [0.13, 0.87], allowLog: true)
        #expect(!axis.log)
        #expect(axis.step == 0.2)
        #expect(axis.ticks.count == 6) // 0, 0.2, …, 1
        #expect(abs(axis.lo - 0) < 1e-12 && abs(axis.hi - 1) < 1e-12)
        let flat = PlotAxis(values: [5, 5], allowLog: true)
        #expect(flat.lo < 5 && flat.hi > 5)
        #expect(PlotAxis.niceStep(0.13) == 0.2)
        #expect(PlotAxis.niceStep(7) == 10)
    }

    @Test func wideRangesGetALogAxis() {
        let axis = PlotAxis(values: [0.012, 4.5], allowLog: true)
        #expect(axis.log)
        #expect(abs(axis.lo - 0.01) < 1e-12)
        #expect(abs(axis.hi - 5) < 1e-12)
        #expect(axis.ticks.contains { abs($0 - 0.1) < 1e-12 } && axis.ticks.contains { abs($0 - 1) < 1e-12 })
        #expect(!PlotAxis(values: [0.012, 4.5], allowLog: false).log)
        #expect(!PlotAxis(values: [1, 9.9], allowLog: true).log) // under 10×
        #expect(PlotAxis(values: [1e-4, 10], allowLog: true).ticks.count == 6) // decades only past three
    }

    // MARK: - SVG

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func svgHasOneMarkerPerConfigurationAndAFrontierPath() throws {
        let records = [ParetoFrontierTests.trial("a", 0.9, j: 1, baseline: true), ParetoFrontierTests.trial("b", 0.8, j: 0.5),
                       ParetoFrontierTests.trial("c", 0.7, j: 0.6), ParetoFrontierTests.trial("d", 0.6, p50: 1)]
        let analysis = FrontierAnalysis(records: records)
        let plots = ReportHTML.plots(analysis)
        #expect(plots.map(\.measure) == FrontierMeasure.allCases)
        let energy = try #require(plots.first { $0.measure == .joulesPerExample }).svg
        #expect(Self.count("class=\"pt\"", in: energy) == 3)
        #expect(energy.contains("data-expected-points=\"3\""))
        #expect(energy.contains("data-frontier-points=\"2\""))
        #expect(Self.count("<path class=\"frontier\" d=\"M", in: energy) == 1)
        #expect(energy.contains("class=\"baseline-mark\""))
        #expect(energy.contains("1 configuration without the metric or energy per example (J) not shown"))
        #expect(energy.contains("data-x-scale=\"linear\""))
        #expect(!energy.contains("estimated"))
        let latency = try #require(plots.first { $0.measure == .latencyP50Ms }).svg
        #expect(latency.contains("data-expected-points=\"1\""))
        let memory = try #require(plots.first { $0.measure == .peakRssMb }).svg
        #expect(memory.contains("data-expected-points=\"0\""))
        #expect(!memory.contains("class=\"frontier\""))
        #expect(!memory.contains("NaN") && !energy.contains("nan"))
    }

    @Test func estimatedEnergyIsLabelledInThePlot() throws {
        let all = FrontierAnalysis(records: [ParetoFrontierTests.trial("a", 0.9, j: 1, source: "estimated"),
                                             ParetoFrontierTests.trial("b", 0.8, j: 20, source: "estimated")])
        let svg = try #require(ReportHTML.plots(all).first { $0.measure == .joulesPerExample }).svg
        #expect(svg.contains("ESTIMATED (not metered)"))
        #expect(svg.contains("class=\"estimated-badge\""))
        #expect(svg.contains("data-x-scale=\"log\""))
        let mixed = FrontierAnalysis(records: [ParetoFrontierTests.trial("a", 0.9, j: 1, source: "estimated"),
                                               ParetoFrontierTests.trial("b", 0.8, j: 0.5, source: "rapl")])
        let mixedSVG = try #require(ReportHTML.plots(mixed).first { $0.measure == .joulesPerExample }).svg
        #expect(mixedSVG.contains("hollow markers: ESTIMATED"))
        #expect(Self.count("fill=\"#fff\" stroke=\"#", in: mixedSVG) >= 1)
    }

    @Test func pointsOfOneVariantCanBeToldApart() throws {
        let analysis = FrontierAnalysis(records: SyntheticSweep.records())
        let svg = try #require(ReportHTML.plots(analysis).first { $0.measure == .latencyP50Ms }).svg
        // Magnitude pruning at 0.5, 0.7 and 0.9: three shades of one colour, each labelled.
        let colours = PlotPalette.assign(analysis.configurations.map(\.variant))
        let shades = FrontierPlot.shades(analysis.configurations(in: analysis.groups[0]), colours: colours)
        let fills = ["p1", "p2", "p3"].map { shades[$0]!.fill }
        #expect(Set(fills).count == 3)
        #expect(!fills.contains(colours["magnitude"]!)) // shades of it, lighter to darker
        #expect(["p1", "p2", "p3"].map { shades[$0]!.label } == ["0.5", "0.7", "0.9"])
        #expect(shades["p0"]!.label == nil) // a variant of one configuration
        #expect(shades["p12"]!.label == nil)
        for fill in fills { #expect(svg.contains("fill=\"\(fill)\"")) }
        #expect(svg.contains(">0.9</text>"))
        // Collapsed magnitude 0.9 sits in the chance band; the disturbed point is ringed.
        #expect(svg.contains("class=\"chance-band\""))
        #expect(Self.count("class=\"disturbed-mark\"", in: svg) == 1)
        #expect(svg.contains("⚠ disturbed"))
        #expect(svg.contains("collapsed: indistinguishable from the chance level 50.90 pt"))
    }

    @Test func energiesOfTwoBasesAreNeverUnmarked() throws {
        var a = ParetoFrontierTests.trial("a", 0.9, j: 1)
        a.energyBasis = "net/offline"
        var b = ParetoFrontierTests.trial("b", 0.8, j: 0.5)
        b.energyBasis = "gross/offline"
        let svg = try #require(ReportHTML.plots(FrontierAnalysis(records: [a, b])).first { $0.measure == .joulesPerExample }).svg
        #expect(svg.contains("2 BASES, see markers"))
        #expect(svg.contains("energy basis gross/offline") && svg.contains("energy basis net/offline"))
        // The second basis (sorted: net/offline) is drawn as squares.
        let rects = svg.components(separatedBy: "<rect ").dropFirst().map { String($0.prefix { $0 != ">" }) }
        #expect(rects.contains { $0.contains("class=\"pt\"") && $0.contains("data-config=\"a\"") })
        #expect(Self.count("class=\"pt\"", in: svg) == 2)
        let one = try #require(ReportHTML.plots(FrontierAnalysis(records: [a])).first { $0.measure == .joulesPerExample }).svg
        #expect(one.contains("energy per example (J), net/offline"))
        #expect(!one.components(separatedBy: "<rect ").contains { $0.prefix { $0 != ">" }.contains("class=\"pt\"") })
    }

    @Test func aSinglePointStillDrawsAFrontier() throws {
        let svg = try #require(ReportHTML.plots(FrontierAnalysis(records: [ParetoFrontierTests.trial("a", 0.9, j: 1)]))
            .first { $0.measure == .joulesPerExample }).svg
        #expect(svg.contains("data-expected-points=\"1\""))
        #expect(Self.count("<path class=\"frontier\" d=\"M", in: svg) == 1)
    }

    // MARK: - The page and the folder

    @Test func htmlEscapesDataEverywhere() {
        var evil = ParetoFrontierTests.trial("x", 0.9, j: 1, baseline: true)
        evil.technique = "<script>alert(1)</script>"
        evil.task = "<img src=x onerror=alert(1)>"
        var failed = ParetoFrontierTests.trial("y", nil, status: .failed)
        failed.failureReasons = ["<iframe src=\"http://evil\">"]
        let context = ReportContext(gridName: "<b>grid</b>", gridSource: "</pre><script>x()</script>",
                                    devices: ["cpu": "{\"a\": \"<tag>\"}"], generatedAt: "now", notes: ["<i>n</i>"])
        let analysis = FrontierAnalysis(records: [evil, failed])
        let html = ReportHTML.render(analysis, records: [evil, failed], context: context, plots: ReportHTML.plots(analysis))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<iframe"))
        #expect(!html.contains("<b>grid"))
        #expect(!html.contains("<tag>"))
        #expect(!html.contains("<i>n"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&lt;iframe src=&quot;http://evil&quot;&gt;"))
    }

    @Test func writesTheWholeReportFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let records = SyntheticSweep.records()
        let written = try ReportWriter.write(records: records, context: SyntheticSweep.context, to: dir)
        let names = Set(written.map { $0.path.replacingOccurrences(of: dir.path + "/", with: "") })
        #expect(names.isSuperset(of: ["trials.csv", "frontier.csv", "summary.json", "report/index.html",
                                      "report/sst-2-minilm-l6-amd-epyc-9654-energy.svg",
                                      "report/sst-2-minilm-l6-arm-neoverse-n1-latency-p50.svg"]))
        #expect(names.count == 4 + 2 * FrontierMeasure.allCases.count)

        let html = try String(contentsOf: dir.appendingPathComponent("report/index.html"), encoding: .utf8)
        #expect(html.contains("data-expected-plots=\"10\""))
        #expect(Self.count("<svg ", in: html) == 10)
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url("))
        #expect(html.contains("worker exceeded the memory limit"))
        #expect(html.contains("&lt;see log&gt;"))
        #expect(html.contains("&lt;b&gt;not bold&lt;/b&gt;"))
        #expect(html.contains("AMD EPYC 9654"))
        #expect(html.contains("estimated"))
        #expect(html.contains("crashed: signal 11"))
        #expect(html.contains("Energy is estimated, not metered, for 14 of 28 configurations (device class arm-neoverse-n1): no RAPL zones under /sys/class/powercap on this machine."))
        #expect(html.contains("<span class=\"dist\">⚠ disturbed</span>"))
        #expect(html.contains("<span class=\"coll\""))
        #expect(html.contains("against 3 paired baselines"))
        #expect(html.contains("weights held MB"))
        // Every inline plot's markers match its data attribute.
        for svg in html.components(separatedBy: "<svg ").dropFirst() {
            let body = svg.components(separatedBy: "</svg>")[0]
            let expected = body.components(separatedBy: "data-expected-points=\"")[1].prefix { $0.isNumber }
            #expect(Self.count("class=\"pt\"", in: body) == Int(expected))
            #expect(Self.count("class=\"frontier\"", in: body) == 1)
        }

        let data = try Data(contentsOf: dir.appendingPathComponent("summary.json"))
        let document = try JSONCoding.decoder.decode(ReportTables.SummaryDocument.self, from: data)
        #expect(document.analysis == FrontierAnalysis(records: records))
        #expect(document.trials.count == records.count)
        #expect(document.analysis.failedTrials.count == 3)
        #expect(document.analysis.summaries.count == 2)
        #expect(document.analysis.crossDevice.rows.count == SyntheticSweep.techniques.count)
        #expect(document.format == "frontier-summary/2")
        #expect(document.energyNotes.first?.contains("no RAPL zones") == true)
        #expect(document.analysis.summaries[1].energyNotes == ["no RAPL zones under /sys/class/powercap on this machine"])
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"sparsity\" : 0.9") || json.contains("\"sparsity\":0.9"))

        if let out = ProcessInfo.processInfo.environment["FRONTIER_REPORT_OUT"], !out.isEmpty {
            try ReportWriter.write(records: records, context: SyntheticSweep.context, to: URL(fileURLWithPath: out))
            print("wrote the synthetic report to \(out)")
        }
    }

    @Test func statusTextNamesTheHeadlines() {
        let analysis = FrontierAnalysis(records: SyntheticSweep.records())
        let text = ReportText.status(analysis, gridName: "demo")
        #expect(text.hasPrefix("grid demo: 86 trials — 82 accepted, 3 failed, 0 running, 1 pending"))
        #expect(text.contains("SST-2 · minilm-l6 · amd-epyc-9654: 14 configurations, 2 failed trials"))
        #expect(text.contains("≤1 pt energy     int8 dynamic"))
        #expect(text.contains("(estimated)"))
        // Paired baselines are named; the repeats' three here.
        #expect(text.contains("against 3 paired baselines (agent-amd-epyc-9654/baseline#12 measured 10:14:00, just before; agent-amd-epyc-9654/baseline#13 measured 10:14:01, 1 trial earlier"))
        #expect(text.contains("chance level      50.90 pt; collapsed to it: magnitude sparsity=0.9"))
        #expect(text.contains("⚠ disturbed       max 32 tokens"))
        #expect(text.contains("energy            estimated for all 14 configurations: no RAPL zones under /sys/class/powercap on this machine"))
    }

    @Test func statusTextNeverClaimsASavingInsideTheNoise() {
        var records = ParetoFrontierTests.bf16AndFp32()
        let text = ReportText.status(FrontierAnalysis(records: records))
        #expect(text.contains("≤1 pt latency    technique bf16: 4.61 ms [4.55, 4.70] (indistinguishable from baseline: 1.00× [0.96, 1.0]), 90.23 pt [85.98, 93.30]"))
        // One paired baseline, named with when it was measured.
        records[1].pairedBaseline = PairedBaselineRef(id: "agent-1/baseline#3", measuredAt: "2026-12-01T12:03:10Z",
                                                      trialsBefore: 2, latencyP50Ms: 9.2,
                                                      latencyP50MsInterval: ConfidenceInterval(low: 9.1, high: 9.3, level: 0.95))
        let paired = ReportText.status(FrontierAnalysis(records: records))
        #expect(paired.contains("(0.50× [0.49, 0.52]), 90.23 pt"))
        #expect(paired.contains(" — against baseline agent-1/baseline#3 measured 12:03:10, 2 trials earlier"))
    }

    @Test func trialsCSVHasTypedParametersAndTheNewFields() throws {
        let records = SyntheticSweep.records()
        let rows = Self.parseCSV(ReportTables.trialsCSV(records))
        let header = rows[0]
        func cell(_ row: [String], _ name: String) -> String? { header.firstIndex(of: name).map { row[$0] } }
        let sparse = try #require(rows.first { cell($0, "trial_id") == "p3-r0@amd-epyc-9654" })
        #expect(cell(sparse, "parameters") == #"{"sparsity":0.9}"#)
        #expect(cell(sparse, "param.sparsity") == "0.9")
        #expect(cell(sparse, "chance_level") == "0.509")
        #expect(cell(sparse, "energy_basis") == "net/offline")
        #expect(cell(sparse, "paired_baseline_id") == "agent-amd-epyc-9654/baseline#9")
        #expect(cell(sparse, "weight_bytes_held") == "90000000")
        #expect(cell(sparse, "metric_low").flatMap(Double.init).map { $0 < 0.51 } == true) // Wilson from 872 examples
        let disturbed = try #require(rows.first { cell($0, "trial_id") == "p13-r1@amd-epyc-9654" })
        #expect(cell(disturbed, "disturbed") == "true" && cell(disturbed, "remeasured_windows") == "2")
        #expect(cell(disturbed, "interference") == "other processes 0.93 cores, steal 0%")
        let two = try #require(rows.first { cell($0, "trial_id") == "p12-r0@amd-epyc-9654" })
        #expect(cell(two, "parameters") == #"{"from_layer":2,"keep":0.5}"#)
    }

}
