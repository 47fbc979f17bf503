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
        for note in ReportTables.energyNotes(analysis) {
            let marks = note.hasPrefix(ReportTables.estimatedEnergyNotePrefix)
                ? " Estimated figures are marked <span class=\"est\">estimated</span> in tables and plots." : ""
            h += "<p class=\"warn energy-note\">\(e(note))\(marks)</p>\n"
        }
        let disturbed = analysis.configurations.filter(\.disturbed)
        if !disturbed.isEmpty {
            h += "<p class=\"warn\">\(disturbed.count) configuration\(disturbed.count == 1 ? " was" : "s were") measured through interference from other processes even after re-measuring (<span class=\"dist\">⚠ disturbed</span>): \(disturbed.count == 1 ? "its" : "their") latency, throughput and energy may be a neighbour's. Disturbed configurations dominate nothing on the frontiers and are left out of the summary's picks.</p>\n"
        }
        if !context.notes.isEmpty {
            h += "<ul class=\"notes\">" + context.notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        }
        h += "<nav><strong>Contents:</strong> <a href=\"#summary\">summary</a> · "
        h += analysis.groups.map { "<a href=\"#g-\(e(names[$0]!))\">\(e($0.description))</a>" }.joined(separator: " · ")
        if !analysis.training.isEmpty { h += " · <a href=\"#training\">training cost</a>" }
        h += " · <a href=\"#cross-device\">cross-device</a> · <a href=\"#failed\">failed trials (\(analysis.failedTrials.count))</a> · <a href=\"#appendix\">appendix</a></nav>\n</header>\n<main>\n"

        h += summaryTable(analysis, names: names)
        for group in analysis.groups {
            h += groupSection(analysis, group: group, id: names[group]!, plots: plots.filter { $0.group == group })
        }
        h += trainingSection(analysis)
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
                h += "<td>\(ReportFormat.points(b.metric, b.metricInterval, unit: "pt"))\(b.disturbed ? " <span class=\"dist\">⚠ disturbed</span>" : "")</td><td>\(energy(b.joulesPerExample, b, interval: b.joulesPerExampleInterval))</td><td>\(energy(b.joulesPerCorrect, b))</td><td>\(ms(b.latencyP50Ms, b.latencyP50MsInterval))</td>"
            } else {
                h += "<td colspan=\"4\" class=\"missing\">no accepted baseline</td>"
            }
            for n in within {
                let w = s.within.first { $0.points == n }
                h += "<td>" + (w?.energy.map { pick($0, value: energy($0.config.joulesPerExample, $0.config, interval: $0.config.joulesPerExampleInterval)) } ?? "–") + "</td>"
            }
            for n in within {
                let w = s.within.first { $0.points == n }
                h += "<td>" + (w?.latency.map { pick($0, value: ms($0.config.latencyP50Ms, $0.config.latencyP50MsInterval)) } ?? "–") + "</td>"
            }
            h += "<td>" + (s.knee.map { ref($0.config, value: energy($0.config.joulesPerExample, $0.config, interval: $0.config.joulesPerExampleInterval)) } ?? "–") + "</td>"
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
        h += ". One marker per configuration: the median of its repeats; whiskers span its 95 % interval (without one, the repeats' min–max). Points of one variant are shaded light to dark by parameter and labelled with it. Hover a marker for its technique.</p>\n"
        if let s = summary {
            if let chance = s.chanceLevel {
                let names = s.collapsedConfigKeys.map { k in e(configs.first { $0.configKey == k }?.technique ?? k) }
                h += "<p class=\"meta\">Chance level (the constant predictor on this dev set): \(ReportFormat.points(chance)) pt, the shaded band in the plots. "
                h += names.isEmpty ? "No configuration collapsed to it.</p>\n"
                    : "<span class=\"coll\">collapsed</span> to it, left out of the picks and the knee: \(names.joined(separator: "; ")).</p>\n"
            }
            if !s.disturbedConfigKeys.isEmpty {
                let names = s.disturbedConfigKeys.map { k -> String in
                    let c = configs.first { $0.configKey == k }
                    return e(c?.technique ?? k) + (c.map { $0.interference.isEmpty ? "" : " (" + e($0.interference.joined(separator: "; ")) + ")" } ?? "")
                }
                h += "<p class=\"warn\"><span class=\"dist\">⚠ disturbed</span>: \(names.joined(separator: "; ")).</p>\n"
            }
            for w in s.within { for note in w.notes { h += "<p class=\"warn\">\(e(note))</p>\n" } }
        }
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
        let noiseSets = sets.map { Set(analysis.frontier(group, $0)?.withinNoise ?? []) }
        let labels = ["E", "p50", "p99", "mem", "thr", "E+p50"]
        var h = "<details><summary>All configurations (\(configs.count))</summary><div class=\"scroll\"><table class=\"configs\"><thead><tr>"
        h += "<th>technique</th><th>variant</th><th>repeats</th><th title=\"median [95 % interval]; hover for the repeats' min–max\">metric (pt) [95 % CI]</th><th>J/example [95 % CI]</th><th>energy source · basis</th><th>J/correct</th><th>p50 ms [95 % CI]</th><th>p99 ms</th><th>examples/s [95 % CI]</th><th>peak RSS MB</th><th title=\"bytes of weights the worker held, exactly: what a quantised or sparse model occupies\">weights held MB</th><th title=\"size of the checkpoint file the trial loaded, before any technique\">checkpoint MB</th><th title=\"a tag with ~: on that frontier only within noise\">on frontiers</th><th>failed</th></tr></thead><tbody>\n"
        let ordered = configs.sorted { ($0.isBaseline ? 0 : 1, $0.technique, $0.configKey) < ($1.isBaseline ? 0 : 1, $1.technique, $1.configKey) }
        for c in ordered {
            let on = zip(labels, zip(frontierSets, noiseSets)).filter { $0.1.0.contains(c.configKey) }.map { label, sets in
                sets.1.contains(c.configKey) ? "<span class=\"tag\" title=\"within noise\">~\(label)</span>" : "<span class=\"tag\">\(label)</span>"
            }.joined(separator: " ")
            var flags = ""
            if c.collapsed { flags += " <span class=\"coll\" title=\"metric indistinguishable from the chance level \(ReportFormat.points(c.chanceLevel)) pt\">collapsed</span>" }
            if c.disturbed { flags += " <span class=\"dist\" title=\"\(e(c.interference.joined(separator: "; ")))\">⚠ disturbed</span>" }
            else if c.disturbedRepeats > 0 { flags += " <span class=\"src\">\(c.disturbedRepeats) of \(c.repeats) repeats disturbed</span>" }
            h += "<tr\(c.isBaseline ? " class=\"baseline\"" : "")><td>\(e(c.technique))\(c.isBaseline ? " <em>(baseline)</em>" : "")\(flags)</td><td>\(e(c.variant))</td><td>\(c.repeats)</td>"
            let source = [c.energySource, c.energyBasis].compactMap { $0 }.joined(separator: " · ")
            h += "<td>\(spreadText(c.metric, scale: 100))</td><td>\(spreadText(c.joulesPerExample))\(c.energyEstimated ? " <span class=\"est\">estimated</span>" : "")</td><td>\(e(source.isEmpty ? "–" : source))\(c.energyBasisMixed ? " <span class=\"dist\">mixed bases</span>" : "")</td>"
            h += "<td>\(spreadText(c.joulesPerCorrect))</td><td>\(spreadText(c.latencyP50Ms))</td><td>\(spreadText(c.latencyP99Ms))</td>"
            h += "<td>\(spreadText(c.throughputExamplesPerS))</td><td>\(spreadText(c.peakRssMb))</td>"
            h += "<td>\(c.weightBytesHeld.map { ReportFormat.number(Double($0) / 1e6) } ?? "–")</td>"
            h += "<td>\(c.modelBytes.map { ReportFormat.number(Double($0) / 1e6) } ?? "–")</td><td>\(on)</td><td>\(c.failedTrialIds.count)</td></tr>\n"
        }
        h += "</tbody></table></div></details>\n"
        return h
    }

    /// Configurations the sweep trained: what the training cost, and after how many queries the
    /// cheaper inference pays it back (amortised joules per query at 10³, 10⁶, 10⁹).
    static func trainingSection(_ analysis: FrontierAnalysis) -> String {
        guard !analysis.training.isEmpty else { return "" }
        var h = "<section id=\"training\">\n<h2>Training cost and break-even</h2>\n"
        h += "<p>Each configuration below was measured on a checkpoint the sweep trained (once, on the device class named). "
        h += "Break-even: training joules ÷ joules saved per query against the group's baseline; amortised: inference J/query plus training J ÷ queries. "
        h += "“never” means the configuration saves no energy per query.</p>\n"
        h += "<div class=\"scroll\"><table>\n<thead><tr><th>group</th><th>configuration</th><th>trained on</th><th>training</th>"
        h += "<th>examples/s</th><th>training energy</th><th>peak RSS</th><th>J/query</th><th>saved/query</th><th>break-even</th>"
        h += "<th>amortised 10³</th><th>10⁶</th><th>10⁹</th><th>energy frontier</th></tr></thead>\n<tbody>\n"
        func joules(_ v: Double?) -> String { v.map { ReportFormat.number($0) + " J" } ?? "–" }
        for row in analysis.training {
            let c = row.cost
            let source = c.energySource.map { $0 == "estimated" ? " <span class=\"est\">estimated</span>" : " <span class=\"src\">\(e($0))</span>" } ?? ""
            let breakEven: String
            if let q = row.breakEvenQueries {
                breakEven = ReportFormat.number(q) + " queries"
            } else {
                breakEven = row.savingPerQuery == nil ? "–" : "never"
            }
            h += "<tr><td>\(e(row.group.description))</td><td>\(e(row.technique))</td><td>\(e(c.deviceClass))</td>"
            h += "<td>\(ReportFormat.number(c.trainingS)) s\(c.resumed ? " (resumed)" : "")</td><td>\(ReportFormat.number(c.examplesPerS))</td>"
            h += "<td>\(joules(c.joules))\(source)</td><td>\(c.peakRssMb.map { ReportFormat.number($0) + " MB" } ?? "–")</td>"
            h += "<td>\(joules(row.joulesPerExample))</td><td>\(joules(row.savingPerQuery))</td><td>\(breakEven)</td>"
            for (key, _) in TrainingBreakEven.queryCounts { h += "<td>\(joules(row.amortised[key]))</td>" }
            h += "<td>\(row.onEnergyFrontier ? "yes" : "no")</td></tr>\n"
        }
        h += "</tbody></table></div>\n</section>\n"
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

    static func energy(_ joules: Double?, _ ref: ConfigRef, interval: ConfidenceInterval? = nil) -> String {
        guard joules != nil else { return "–" }
        let source = ref.energyEstimated ? " <span class=\"est\">estimated</span>" : ref.energySource.map { " <span class=\"src\">\(e($0))</span>" } ?? ""
        return ReportFormat.number(joules) + " J" + (interval.map { " <span class=\"spread\">" + ReportFormat.interval($0) + "</span>" } ?? "") + source
    }

    static func ms(_ value: Double?, _ interval: ConfidenceInterval? = nil) -> String {
        value == nil ? "–" : ReportFormat.number(value) + " ms" + (interval.map { " <span class=\"spread\">" + ReportFormat.interval($0) + "</span>" } ?? "")
    }

    /// A summary cell naming a configuration: its technique, a value, its metric, and its flags.
    static func ref(_ ref: ConfigRef, value: String, ratio: String? = nil) -> String {
        var flags = ""
        if ref.disturbed { flags += " <span class=\"dist\">⚠ disturbed</span>" }
        if ref.collapsed { flags += " <span class=\"coll\">collapsed</span>" }
        return "\(e(ref.technique))\(flags)<br><span class=\"val\">\(value)\(ratio.map { " (\($0))" } ?? "") · \(ReportFormat.points(ref.metric, ref.metricInterval, unit: "pt"))</span>"
    }

    /// A within-N pick: the reference cell with its ratio stated as the verdict allows, and the
    /// baseline measurement(s) it was divided by.
    static func pick(_ pick: FrontierSummary.Pick, value: String) -> String {
        let verdict = e(ReportFormat.verdict(pick))
        let stated = pick.indistinguishableFromBaseline ? "<strong class=\"tie\">\(verdict)</strong>" : verdict
        var h = ref(pick.config, value: value, ratio: stated)
        if pick.verdict != .baseline {
            h += "<br><span class=\"src\">against \(e(ReportFormat.baselineUsed(pick.baselineUsed)))</span>"
        }
        return h
    }

    static func stretch(_ s: FrontierSummary.Segment) -> String {
        "\(ReportFormat.number(s.fromJoules)) → \(ReportFormat.number(s.toJoules)) J: +\(ReportFormat.number(s.points, digits: 2)) pt over \(ReportFormat.number(s.doublings, digits: 2)) doublings (\(ReportFormat.number(s.pointsPerDoubling, digits: 2)) pt/doubling, \(s.segments) segment\(s.segments == 1 ? "" : "s"))"
    }

    /// "median [interval]" with the repeats' min–max in the hover title; without an interval,
    /// "median [min–max]" as before intervals existed.
    static func spreadText(_ spread: MeasureSpread?, scale: Double = 1) -> String {
        guard let spread else { return "–" }
        let f: (Double) -> String = scale == 100 ? { ReportFormat.points($0) } : { ReportFormat.number($0) }
        let median = f(spread.median)
        let range = spread.count > 1 && spread.max > spread.min ? "\(f(spread.min))–\(f(spread.max))" : nil
        if let i = spread.interval {
            let title = "95 % interval" + (range.map { "; repeats \($0)" } ?? "")
            return "\(median) <span class=\"spread\" title=\"\(title)\">[\(f(i.low)), \(f(i.high))]</span>"
        }
        guard let range else { return median }
        return "\(median) <span class=\"spread\" title=\"repeats' min–max\">[\(range)]</span>"
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
    .dist{background:#fde2c8;color:#8a3b00;border-radius:3px;padding:0 4px;font-size:11px;font-weight:600;white-space:nowrap}
    .coll{background:#e6e6e6;color:#444;border-radius:3px;padding:0 4px;font-size:11px;font-weight:600;white-space:nowrap}
    .tie{font-weight:600;color:#555}
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
