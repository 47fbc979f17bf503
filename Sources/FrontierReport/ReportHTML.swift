import Foundation
import FrontierAnalysis

/// `report/index.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
/// and the standalone SVG files beside it. Pure: values in, text out; everything from the data is
/// HTML-escaped.
public enum ReportHTML {
    /// One plot, inline in the page and written as `report/<fileName>`.
    public struct PlotFile: Sendable, Equatable {
        public var group: FrontierGroup
        public var measure: FrontierMeasure
        public var fileName: String
        public var svg: String
    }

    /// The measures plotted in the page's main view; the others go in a collapsed section.
    public static let mainMeasures: [FrontierMeasure] = [.joulesPerExample, .latencyP50Ms]

    /// `<task>-<model>-<device>` per group, sanitised; a clash gets `-2`, `-3`, … in group order.
    public static func baseNames(_ groups: [FrontierGroup]) -> [FrontierGroup: String] {
        var used: Set<String> = []
        var out: [FrontierGroup: String] = [:]
        for group in groups.sorted() {
            let base = [group.task, group.model, group.deviceClass].map(ReportFormat.fileName).joined(separator: "-")
            var name = base
            var n = 2
            while used.contains(name) { name = "\(base)-\(n)"; n += 1 }
            used.insert(name)
            out[group] = name
        }
        return out
    }

    /// Every group's plot for each of `measures` (default: every 2-D frontier), groups sorted,
    /// measures in `FrontierMeasure` order.
    public static func plots(_ analysis: FrontierAnalysis, measures: [FrontierMeasure] = FrontierMeasure.allCases) -> [PlotFile] {
        let colours = PlotPalette.assign(analysis.configurations.map(\.variant))
        let names = baseNames(analysis.groups)
        return analysis.groups.flatMap { group in
            FrontierMeasure.allCases.filter(measures.contains).compactMap { measure -> PlotFile? in
                guard let frontier = analysis.frontier(group, [measure]) else { return nil }
                let knee = measure.isEnergy ? analysis.summary(group)?.knee?.config.configKey : nil
                let svg = FrontierPlot.svg(configs: analysis.configurations(in: group), frontier: frontier, knee: knee,
                                           colours: colours)
                return PlotFile(group: group, measure: measure, fileName: "\(names[group]!)-\(measure.slug).svg", svg: svg)
            }
        }
    }

    static let e = ReportFormat.html

    public static func render(_ analysis: FrontierAnalysis, records: [TrialRecord], context: ReportContext,
                              plots: [PlotFile]) -> String {
        let names = baseNames(analysis.groups)
        let inline = plots.count
        let c = analysis.counts
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Frontier report: \(e(context.gridName))</title>
        <style>\(css)</style>
        </head>
        <body data-expected-plots="\(inline)" data-groups="\(analysis.groups.count)">
        <header>
        <h1>Frontier report: \(e(context.gridName))</h1>
        <p class="meta">Generated \(e(context.generatedAt))\(context.storePath.map { " from <code>\(e($0))</code>" } ?? ""). \
        \(c.total) trials: \(c.accepted) accepted, \(c.failed) failed, \(c.running) running, \(c.pending) pending; \
        \(analysis.configurations.count) configurations measured in \(analysis.groups.count) task × model × device class group\(analysis.groups.count == 1 ? "" : "s").</p>

        """
        if analysis.configurations.contains(where: \.energyEstimated) {
            h += "<p class=\"warn\">Some energies are <strong>estimated</strong> (CPU time × watts per core + idle watts), not metered; they are marked <span class=\"est\">estimated</span> in tables and plots.</p>\n"
        }
        if !context.notes.isEmpty {
            h += "<ul class=\"notes\">" + context.notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        }
        h += "<nav><strong>Contents:</strong> <a href=\"#summary\">summary</a> · "
        h += analysis.groups.map { "<a href=\"#g-\(e(names[$0]!))\">\(e($0.description))</a>" }.joined(separator: " · ")
        h += " · <a href=\"#cross-device\">cross-device</a> · <a href=\"#failed\">failed trials (\(analysis.failedTrials.count))</a> · <a href=\"#appendix\">appendix</a></nav>\n</header>\n<main>\n"

        h += summaryTable(analysis, names: names)
        for group in analysis.groups {
            h += groupSection(analysis, group: group, id: names[group]!, plots: plots.filter { $0.group == group })
        }
        h += crossDeviceSection(analysis)
        h += failedSection(analysis)
        h += appendix(context)
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    // MARK: - Sections

    static func summaryTable(_ analysis: FrontierAnalysis, names: [FrontierGroup: String]) -> String {
        let within = analysis.options.summary.withinPoints
        var h = "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"scroll\"><table class=\"summary\">\n<thead><tr>"
        h += "<th>task · model · device class</th><th>metric</th><th>baseline</th><th>baseline J/example</th><th>baseline J/correct</th><th>baseline p50</th>"
        for n in within { h += "<th>min energy within \(e(ReportFormat.tick(n))) pt</th>" }
        for n in within { h += "<th>min latency within \(e(ReportFormat.tick(n))) pt</th>" }
        h += "<th>knee (accuracy–energy)</th><th>diminishing returns (&lt; \(e(ReportFormat.tick(analysis.options.summary.diminishingPointsPerDoubling))) pt per doubling of energy)</th></tr></thead>\n<tbody>\n"
        for s in analysis.summaries {
            h += "<tr><td><a href=\"#g-\(e(names[s.group]!))\">\(e(s.group.description))</a></td><td>\(e(s.metricName ?? "–"))</td>"
            if let b = s.baseline {
                h += "<td>\(ReportFormat.points(b.metric)) pt</td><td>\(energy(b.joulesPerExample, b))</td><td>\(energy(b.joulesPerCorrect, b))</td><td>\(ms(b.latencyP50Ms))</td>"
            } else {
                h += "<td colspan=\"4\" class=\"missing\">no accepted baseline</td>"
            }
            for n in within {
                let w = s.within.first { $0.points == n }
                h += "<td>" + (w?.minEnergy.map { pick($0, value: energy($0.joulesPerExample, $0), ratio: w?.energyRatio) } ?? "–") + "</td>"
            }
            for n in within {
                let w = s.within.first { $0.points == n }
                h += "<td>" + (w?.minLatency.map { pick($0, value: ms($0.latencyP50Ms), ratio: w?.latencyRatio) } ?? "–") + "</td>"
            }
            h += "<td>" + (s.knee.map { pick($0.config, value: energy($0.config.joulesPerExample, $0.config), ratio: nil) } ?? "–") + "</td>"
            h += "<td>" + (s.diminishingReturns.isEmpty ? "none" : s.diminishingReturns.map(stretch).joined(separator: "<br>")) + "</td></tr>\n"
        }
        h += "</tbody></table></div>\n"
        h += "<details class=\"definitions\"><summary>Definitions</summary><dl>"
        for (term, text) in ReportTables.definitions(analysis.options).sorted(by: { $0.key < $1.key }) {
            h += "<dt>\(e(term.replacingOccurrences(of: "_", with: " ")))</dt><dd>\(e(text))</dd>"
        }
        h += "</dl></details>\n</section>\n"
        return h
    }

    static func groupSection(_ analysis: FrontierAnalysis, group: FrontierGroup, id: String, plots: [PlotFile]) -> String {
        let configs = analysis.configurations(in: group)
        let summary = analysis.summary(group)
        var h = "<section class=\"group\" id=\"g-\(e(id))\">\n<h2>\(e(group.description))</h2>\n"
        h += "<p class=\"meta\">\(configs.count) configuration\(configs.count == 1 ? "" : "s") with accepted trials"
        if let failed = summary?.failedTrials, failed > 0 { h += ", \(failed) failed trial\(failed == 1 ? "" : "s") (<a href=\"#failed\">listed below</a>)" }
        h += ". One marker per configuration: the median of its repeats; whiskers span the repeats' min–max. Hover a marker for its technique.</p>\n"
        for note in summary?.notes ?? [] { h += "<p class=\"warn\">\(e(note))</p>\n" }
        let main = plots.filter { mainMeasures.contains($0.measure) }
        let more = plots.filter { !mainMeasures.contains($0.measure) }
        h += "<div class=\"plots\">\n" + main.map(figure).joined() + "</div>\n"
        if !more.isEmpty {
            h += "<details><summary>More frontiers: latency p99, peak memory, throughput</summary><div class=\"plots\">\n"
                + more.map(figure).joined() + "</div></details>\n"
        }
        if let three = analysis.frontier(group, Pareto.energyLatency) {
            let byKey = Dictionary(configs.map { ($0.configKey, $0) }, uniquingKeysWith: { a, _ in a })
            h += "<p><strong>Metric–energy–latency p50 non-dominated set</strong> (\(three.configKeys.count)): "
            h += three.configKeys.map { e(byKey[$0]?.technique ?? $0) }.joined(separator: "; ") + ".</p>\n"
        }
        var exclusions: [String] = []
        for measures in Pareto.allMeasureSets {
            guard let f = analysis.frontier(group, measures), !f.excluded.isEmpty else { continue }
            exclusions.append("\(e(measures.map(\.rawValue).joined(separator: " + "))): " + f.excluded.map { x in
                "\(e(configs.first { $0.configKey == x.configKey }?.technique ?? x.configKey)) (no \(e(x.missing.joined(separator: ", "))))"
            }.joined(separator: "; "))
        }
        if !exclusions.isEmpty {
            h += "<p class=\"excluded\"><strong>Left out of frontiers for a missing value:</strong> " + exclusions.joined(separator: ". ") + ".</p>\n"
        }
        h += configTable(analysis, group: group, configs: configs)
        h += "</section>\n"
        return h
    }

    static func figure(_ plot: PlotFile) -> String {
        "<figure>\(plot.svg)<figcaption><a href=\"\(e(plot.fileName))\">\(e(plot.fileName))</a></figcaption></figure>\n"
    }

    static func configTable(_ analysis: FrontierAnalysis, group: FrontierGroup, configs: [ConfigAggregate]) -> String {
        let sets = Pareto.allMeasureSets
        let frontierSets = sets.map { Set(analysis.frontier(group, $0)?.configKeys ?? []) }
        let labels = ["E", "p50", "p99", "mem", "thr", "E+p50"]
        var h = "<details><summary>All configurations (\(configs.count))</summary><div class=\"scroll\"><table class=\"configs\"><thead><tr>"
        h += "<th>technique</th><th>variant</th><th>repeats</th><th>metric (pt) [min–max]</th><th>J/example</th><th>energy source</th><th>J/correct</th><th>p50 ms</th><th>p99 ms</th><th>examples/s</th><th>peak RSS MB</th><th title=\"size of the checkpoint file the trial loaded, before any technique\">checkpoint MB</th><th>on frontiers</th><th>failed</th></tr></thead><tbody>\n"
        let ordered = configs.sorted { ($0.isBaseline ? 0 : 1, $0.technique, $0.configKey) < ($1.isBaseline ? 0 : 1, $1.technique, $1.configKey) }
        for c in ordered {
            let on = zip(labels, frontierSets).filter { $0.1.contains(c.configKey) }.map { "<span class=\"tag\">\($0.0)</span>" }.joined(separator: " ")
            h += "<tr\(c.isBaseline ? " class=\"baseline\"" : "")><td>\(e(c.technique))\(c.isBaseline ? " <em>(baseline)</em>" : "")</td><td>\(e(c.variant))</td><td>\(c.repeats)</td>"
            h += "<td>\(spreadText(c.metric, scale: 100))</td><td>\(spreadText(c.joulesPerExample))\(c.energyEstimated ? " <span class=\"est\">estimated</span>" : "")</td><td>\(e(c.energySource ?? "–"))</td>"
            h += "<td>\(spreadText(c.joulesPerCorrect))</td><td>\(spreadText(c.latencyP50Ms))</td><td>\(spreadText(c.latencyP99Ms))</td>"
            h += "<td>\(spreadText(c.throughputExamplesPerS))</td><td>\(spreadText(c.peakRssMb))</td>"
            h += "<td>\(c.modelBytes.map { ReportFormat.number(Double($0) / 1e6) } ?? "–")</td><td>\(on)</td><td>\(c.failedTrialIds.count)</td></tr>\n"
        }
        h += "</tbody></table></div></details>\n"
        return h
    }

    static func crossDeviceSection(_ analysis: FrontierAnalysis) -> String {
        let x = analysis.crossDevice
        var h = "<section id=\"cross-device\">\n<h2>Cross-device comparison</h2>\n"
        guard x.deviceClasses.count > 1 else {
            return h + "<p>Only one device class (\(e(x.deviceClasses.first ?? "none"))) has accepted trials; nothing to compare.</p>\n</section>\n"
        }
        h += "<p>Each configuration on every device class that ran it: J/example and latency p50 (medians), with ratios against <strong>\(e(x.referenceDeviceClass ?? "–"))</strong>. Best = smallest.</p>\n"
        let blocks = Dictionary(grouping: x.rows) { "\($0.task)\u{0}\($0.model)" }
        for key in blocks.keys.sorted() {
            let rows = blocks[key]!
            h += "<h3>\(e(rows[0].task)) · \(e(rows[0].model))</h3>\n<div class=\"scroll\"><table class=\"cross\"><thead><tr><th>configuration</th>"
            for d in x.deviceClasses { h += "<th>\(e(d))</th>" }
            h += "<th>best energy</th><th>best latency</th></tr></thead><tbody>\n"
            for row in rows {
                h += "<tr\(row.isBaseline ? " class=\"baseline\"" : "")><td>\(e(row.technique))\(row.isBaseline ? " <em>(baseline)</em>" : "")</td>"
                for d in x.deviceClasses {
                    guard let cell = row.cell(d) else { h += "<td class=\"missing\">–</td>"; continue }
                    let j = ReportFormat.number(cell.joulesPerExample) + " J" + (cell.energyEstimated ? " <span class=\"est\">estimated</span>" : "")
                    h += "<td>\(j) (\(ReportFormat.ratio(cell.energyRatio)))<br>\(ms(cell.latencyP50Ms)) (\(ReportFormat.ratio(cell.latencyRatio)))</td>"
                }
                h += "<td>\(e(row.bestEnergy ?? "–"))</td><td>\(e(row.bestLatency ?? "–"))</td></tr>\n"
            }
            h += "</tbody></table></div>\n"
        }
        return h + "</section>\n"
    }

    static func failedSection(_ analysis: FrontierAnalysis) -> String {
        var h = "<section id=\"failed\">\n<h2>Failed trials (\(analysis.failedTrials.count))</h2>\n"
        guard !analysis.failedTrials.isEmpty else { return h + "<p>None.</p>\n</section>\n" }
        h += "<div class=\"scroll\"><table class=\"failed\"><thead><tr><th>trial</th><th>task · model · device class</th><th>technique</th><th>repeat</th><th>agent</th><th>finished</th><th>reasons</th></tr></thead><tbody>\n"
        for t in analysis.failedTrials {
            let reasons = t.failureReasons.isEmpty ? "(no reason given)" : t.failureReasons.map(e).joined(separator: "<br>")
            h += "<tr><td><code>\(e(t.trialId))</code></td><td>\(e(t.group.description))</td><td>\(e(t.technique))</td><td>\(t.repeatIndex)</td><td>\(e(t.agentId ?? "–"))</td><td>\(e(t.finishedAt ?? "–"))</td><td class=\"reasons\">\(reasons)</td></tr>\n"
        }
        return h + "</tbody></table></div>\n</section>\n"
    }

    static func appendix(_ context: ReportContext) -> String {
        var h = "<section id=\"appendix\">\n<h2>Appendix</h2>\n<h3>Grid file: \(e(context.gridName))</h3>\n"
        h += context.gridSource.map { "<pre>\(e($0))</pre>\n" } ?? "<p>Not recorded.</p>\n"
        h += "<h3>Device fingerprints</h3>\n"
        if context.devices.isEmpty { h += "<p>None recorded.</p>\n" }
        for (device, fingerprint) in context.devices.sorted(by: { $0.key < $1.key }) {
            h += "<h4>\(e(device))</h4>\n<pre>\(e(fingerprint))</pre>\n"
        }
        return h + "</section>\n"
    }

    // MARK: - Cells

    static func energy(_ joules: Double?, _ ref: ConfigRef) -> String {
        guard joules != nil else { return "–" }
        let source = ref.energyEstimated ? " <span class=\"est\">estimated</span>" : ref.energySource.map { " <span class=\"src\">\(e($0))</span>" } ?? ""
        return ReportFormat.number(joules) + " J" + source
    }

    static func ms(_ value: Double?) -> String { value == nil ? "–" : ReportFormat.number(value) + " ms" }

    static func pick(_ ref: ConfigRef, value: String, ratio: Double?) -> String {
        "\(e(ref.technique))<br><span class=\"val\">\(value)\(ratio.map { " (\(ReportFormat.ratio($0)))" } ?? "") · \(ReportFormat.points(ref.metric)) pt</span>"
    }

    static func stretch(_ s: FrontierSummary.Segment) -> String {
        "\(ReportFormat.number(s.fromJoules)) → \(ReportFormat.number(s.toJoules)) J: +\(ReportFormat.number(s.points, digits: 2)) pt over \(ReportFormat.number(s.doublings, digits: 2)) doublings (\(ReportFormat.number(s.pointsPerDoubling, digits: 2)) pt/doubling, \(s.segments) segment\(s.segments == 1 ? "" : "s"))"
    }

    static func spreadText(_ spread: MeasureSpread?, scale: Double = 1) -> String {
        guard let spread else { return "–" }
        let median = scale == 100 ? ReportFormat.points(spread.median) : ReportFormat.number(spread.median)
        guard spread.count > 1, spread.max > spread.min else { return median }
        let lo = scale == 100 ? ReportFormat.points(spread.min) : ReportFormat.number(spread.min)
        let hi = scale == 100 ? ReportFormat.points(spread.max) : ReportFormat.number(spread.max)
        return "\(median) <span class=\"spread\">[\(lo)–\(hi)]</span>"
    }

    static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fafafa}
    header,main{max-width:1400px;margin:0 auto;padding:0 20px}
    header{padding-top:12px}
    h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
    h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:12px 0 4px}
    .meta{color:#555;margin:4px 0}.warn{background:#fff4e5;border-left:4px solid #e69500;padding:6px 10px;margin:8px 0}
    nav{margin:10px 0;font-size:13px}a{color:#1f5fa8}
    .est{background:#b35900;color:#fff;border-radius:3px;padding:0 4px;font-size:11px;font-weight:600;white-space:nowrap}
    .src{color:#666;font-size:11px}.spread{color:#777;font-size:12px}.val{color:#444;font-size:12px}
    .scroll{overflow-x:auto}
    table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}
    th,td{border:1px solid #ddd;padding:4px 7px;text-align:left;vertical-align:top}
    th{background:#f0f2f5;font-weight:600}
    tbody tr:nth-child(even){background:#fafbfc}
    tr.baseline td{background:#f3f7ff}
    td.missing{color:#999}
    .tag{display:inline-block;background:#e8eef7;border-radius:3px;padding:0 4px;font-size:11px}
    .plots{display:flex;flex-wrap:wrap;gap:12px}
    figure{margin:0;background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:4px}
    figure svg{max-width:100%;height:auto;display:block}
    figcaption{font-size:11px;color:#777;text-align:right}
    details{margin:8px 0}summary{cursor:pointer;color:#1f5fa8}
    pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px}
    .excluded{font-size:13px;color:#555}
    dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:13px}dt{font-weight:600}dd{margin:0}
    """
}
