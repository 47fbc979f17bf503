import Foundation
import FrontierAnalysis

/// Colours of the grid variants, the same in every plot of a report.
public enum PlotPalette {
    /// Tableau 10: distinguishable, and readable on white.
    public static let colours = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    /// Variant → colour, the variants sorted (they cycle past ten).
    public static func assign(_ variants: some Sequence<String>) -> [String: String] {
        var out: [String: String] = [:]
        for (i, variant) in Set(variants).sorted().enumerated() { out[variant] = colours[i % colours.count] }
        return out
    }
}

/// One frontier plot as SVG: the metric (× 100) against a measure for every configuration of a
/// group (the median of its repeats, whiskers from the repeats' min to max), coloured by variant,
/// the frontier as a staircase, the baseline ringed, the knee marked on the energy plot.
///
/// For checks: the `<svg>` has `class="plot"`, `data-expected-points` (configurations drawn,
/// each one `class="pt"` element) and `data-frontier-points`; the frontier is the one
/// `<path class="frontier">`, present whenever a frontier point is.
/// Self-contained: presentation attributes, no CSS or ids, so the file works alone and inline.
public enum FrontierPlot {
    static let width = 620.0
    static let plotLeft = 62.0, plotRight = 440.0, plotTop = 36.0
    static let legendLeft = 454.0

    public static func svg(configs: [ConfigAggregate], frontier: ParetoFrontier, knee: String? = nil,
                           colours: [String: String], title: String? = nil) -> String {
        let measure = frontier.measures[0]
        let group = frontier.group
        let mine = configs.filter { $0.group == group }.sorted { $0.configKey < $1.configKey }
        let drawn = mine.filter { frontierFinite($0.metricValue) != nil && frontierFinite($0.value(measure)) != nil }
        let missing = mine.count - drawn.count
        let metricName = mine.lazy.compactMap(\.metricName).first ?? "metric"

        let xValues = drawn.flatMap { c in [c.spread(measure)!.min, c.spread(measure)!.max] }
        let yValues = drawn.flatMap { c in [c.metric!.min * 100, c.metric!.max * 100] }
        let xAxis = PlotAxis(values: xValues, allowLog: true)
        let yAxis = PlotAxis(values: yValues, allowLog: false)

        let estimated = measure.isEnergy ? drawn.filter(\.energyEstimated).count : 0
        let variants = Set(drawn.map(\.variant)).sorted()
        var legend: [(kind: String, label: String, colour: String)] = variants.map { ("variant", $0, colours[$0] ?? "#888") }
        if drawn.contains(where: \.isBaseline) { legend.append(("baseline", "dense fp32 baseline", "#000")) }
        if !frontier.configKeys.isEmpty { legend.append(("frontier", "Pareto frontier", "#222")) }
        if measure.isEnergy, knee != nil { legend.append(("knee", "knee", "#c0392b")) }
        if estimated > 0, estimated < drawn.count { legend.append(("estimated", "estimated energy", "#555")) }
        let plotBottom = max(340.0, plotTop + 40 + 18 * Double(legend.count))
        let height = plotBottom + 58 + (missing > 0 ? 14 : 0)

        func px(_ v: Double) -> Double { plotLeft + xAxis.fraction(v) * (plotRight - plotLeft) }
        func py(_ v: Double) -> Double { plotBottom - yAxis.fraction(v) * (plotBottom - plotTop) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let e = ReportFormat.html

        let heading = title ?? "\(group.task) · \(group.model) · \(group.deviceClass): \(metricName) vs \(measure.label)"
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 \(f(width)) \(f(height))" \
        width="\(f(width))" height="\(f(height))" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" \
        font-size="11" data-task="\(e(group.task))" data-model="\(e(group.model))" \
        data-device-class="\(e(group.deviceClass))" data-measure="\(measure.rawValue)" \
        data-expected-points="\(drawn.count)" data-frontier-points="\(frontier.configKeys.count)" \
        data-x-scale="\(xAxis.log ? "log" : "linear")" role="img">
        <title>\(e(heading))</title>
        <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="#fff"/>
        <text x="\(f(plotLeft))" y="20" font-size="13" font-weight="600" fill="#222">\(e(heading))</text>

        """
        // Grid and ticks.
        for t in xAxis.ticks {
            let x = px(t)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"#e6e6e6\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(plotBottom + 15))\" text-anchor=\"middle\" fill=\"#444\">\(e(xAxis.label(t)))</text>\n"
        }
        for t in yAxis.ticks {
            let y = py(t)
            s += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(y))\" x2=\"\(f(plotRight))\" y2=\"\(f(y))\" stroke=\"#e6e6e6\"/>"
            s += "<text x=\"\(f(plotLeft - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#444\">\(e(yAxis.label(t)))</text>\n"
        }
        s += "<rect x=\"\(f(plotLeft))\" y=\"\(f(plotTop))\" width=\"\(f(plotRight - plotLeft))\" height=\"\(f(plotBottom - plotTop))\" fill=\"none\" stroke=\"#999\"/>\n"

        // Axis labels, with the energy's provenance.
        var xLabel = measure.label
        if estimated > 0 {
            xLabel = estimated == drawn.count ? "\(measure.label), ESTIMATED (not metered)"
                : "\(measure.label); hollow markers: ESTIMATED (not metered)"
        }
        if xAxis.log { xLabel += " — log scale" }
        s += "<text x=\"\(f((plotLeft + plotRight) / 2))\" y=\"\(f(plotBottom + 36))\" text-anchor=\"middle\" fill=\"#222\" font-size=\"12\">\(e(xLabel))</text>\n"
        let yMid = (plotTop + plotBottom) / 2
        s += "<text x=\"16\" y=\"\(f(yMid))\" transform=\"rotate(-90 16 \(f(yMid)))\" text-anchor=\"middle\" fill=\"#222\" font-size=\"12\">\(e(metricName)) × 100 (points)</text>\n"
        if estimated > 0 {
            // Under the legend, outside the plot area: inside it the badge collided with the
            // baseline's label whenever the baseline sat in the top-right corner.
            let badgeY = plotTop + 8 + 18 * Double(legend.count) + 10
            s += "<text class=\"estimated-badge\" x=\"\(f(legendLeft - 2))\" y=\"\(f(badgeY))\" text-anchor=\"start\" fill=\"#b35900\" font-weight=\"600\">estimated energy</text>\n"
        }
        if drawn.isEmpty {
            s += "<text x=\"\(f((plotLeft + plotRight) / 2))\" y=\"\(f(yMid))\" text-anchor=\"middle\" fill=\"#888\">no configuration has both the metric and \(e(measure.label))</text>\n"
        }
        if missing > 0 {
            s += "<text class=\"note\" x=\"\(f(plotLeft))\" y=\"\(f(plotBottom + 52))\" fill=\"#666\">\(missing) configuration\(missing == 1 ? "" : "s") without the metric or \(e(measure.label)) not shown</text>\n"
        }

        // The frontier: a staircase from the x axis up to the cheapest point, corners at
        // (x of the higher point, y of the lower one), then out to the plot's worse edge.
        let byKey = Dictionary(drawn.map { ($0.configKey, $0) }, uniquingKeysWith: { a, _ in a })
        let path = frontier.configKeys.compactMap { byKey[$0] }
        if let first = path.first {
            var d = "M\(f(px(first.value(measure)!))) \(f(plotBottom))V\(f(py(first.metricValue! * 100)))"
            for c in path.dropFirst() { d += "H\(f(px(c.value(measure)!)))V\(f(py(c.metricValue! * 100)))" }
            d += "H\(f(measure.minimise ? plotRight : plotLeft))"
            s += "<path class=\"frontier\" d=\"\(d)\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.6\" stroke-linejoin=\"round\"/>\n"
        }

        // Points: whiskers first, then markers, the baseline ring and the knee on top.
        let onFrontier = Set(frontier.configKeys)
        for c in drawn {
            let colour = colours[c.variant] ?? "#888"
            let x = px(c.value(measure)!), y = py(c.metricValue! * 100)
            let sx = c.spread(measure)!, sy = c.metric!
            if sx.count > 1, sx.max > sx.min {
                s += "<line x1=\"\(f(px(sx.min)))\" y1=\"\(f(y))\" x2=\"\(f(px(sx.max)))\" y2=\"\(f(y))\" stroke=\"\(colour)\" stroke-opacity=\"0.6\"/>"
            }
            if sy.count > 1, sy.max > sy.min {
                s += "<line x1=\"\(f(x))\" y1=\"\(f(py(sy.min * 100)))\" x2=\"\(f(x))\" y2=\"\(f(py(sy.max * 100)))\" stroke=\"\(colour)\" stroke-opacity=\"0.6\"/>"
            }
            let hollow = measure.isEnergy && c.energyEstimated && estimated < drawn.count
            let tip = [c.technique + (c.isBaseline ? " (baseline)" : "") + (onFrontier.contains(c.configKey) ? ", on the frontier" : ""),
                       "\(metricName) \(ReportFormat.points(c.metricValue)) points",
                       "\(measure.label): \(ReportFormat.number(c.value(measure)))" + (measure.isEnergy ? " (\(c.energySource ?? "source unknown"))" : ""),
                       "\(c.repeats) repeat\(c.repeats == 1 ? "" : "s")"].joined(separator: "\n")
            s += "<circle class=\"pt\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4.5\" fill=\"\(hollow ? "#fff" : colour)\" stroke=\"\(hollow ? colour : "#fff")\" stroke-width=\"\(hollow ? "1.8" : "0.8")\" data-config=\"\(e(c.configKey))\"><title>\(e(tip))</title></circle>\n"
        }
        if let b = drawn.first(where: \.isBaseline) {
            let x = px(b.value(measure)!), y = py(b.metricValue! * 100)
            s += "<circle class=\"baseline-mark\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"8\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.8\"/>"
            let anchorEnd = x > (plotLeft + plotRight) / 2
            s += "<text x=\"\(f(anchorEnd ? x - 11 : x + 11))\" y=\"\(f(y - 8))\" text-anchor=\"\(anchorEnd ? "end" : "start")\" fill=\"#000\">baseline</text>\n"
        }
        if measure.isEnergy, let knee, let k = byKey[knee] {
            let x = px(k.value(measure)!), y = py(k.metricValue! * 100)
            s += "<path class=\"knee-mark\" d=\"M\(f(x)) \(f(y - 9))l9 9l-9 9l-9 -9z\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.6\"/>"
            s += "<text x=\"\(f(x - 11))\" y=\"\(f(y - 9))\" text-anchor=\"end\" fill=\"#c0392b\">knee</text>\n"
        }

        // Legend.
        var ly = plotTop + 8
        for entry in legend {
            switch entry.kind {
            case "variant":
                s += "<circle cx=\"\(f(legendLeft + 6))\" cy=\"\(f(ly))\" r=\"4.5\" fill=\"\(entry.colour)\"/>"
            case "baseline":
                s += "<circle cx=\"\(f(legendLeft + 6))\" cy=\"\(f(ly))\" r=\"6\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.8\"/>"
            case "frontier":
                s += "<path d=\"M\(f(legendLeft - 2)) \(f(ly + 4))H\(f(legendLeft + 6))V\(f(ly - 4))H\(f(legendLeft + 14))\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.6\"/>"
            case "knee":
                s += "<path d=\"M\(f(legendLeft + 6)) \(f(ly - 5))l5 5l-5 5l-5 -5z\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.6\"/>"
            default:
                s += "<circle cx=\"\(f(legendLeft + 6))\" cy=\"\(f(ly))\" r=\"4.5\" fill=\"#fff\" stroke=\"#555\" stroke-width=\"1.8\"/>"
            }
            let label = entry.label.count > 24 ? String(entry.label.prefix(23)) + "…" : entry.label
            s += "<text x=\"\(f(legendLeft + 18))\" y=\"\(f(ly + 4))\" fill=\"#222\">\(e(label))<title>\(e(entry.label))</title></text>\n"
            ly += 18
        }
        s += "</svg>\n"
        return s
    }
}
