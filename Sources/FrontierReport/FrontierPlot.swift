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
/// group (the median of its repeats, whiskers over its 95 % interval, or without one the
/// repeats' min to max), coloured by variant and shaded light to dark by parameter within a
/// variant (each point labelled with the parameters that vary), the frontier as a staircase, the
/// baseline ringed, the knee marked on the energy plot, a band up to the chance level, disturbed
/// points ringed with a dashed orange circle, and on the energy plot one marker shape per energy
/// basis when more than one is present.
///
/// For checks: the `<svg>` has `class="plot"`, `data-expected-points` (configurations drawn,
/// each one `class="pt"` element) and `data-frontier-points`; the frontier is the one
/// `<path class="frontier">`, present whenever a frontier point is.
/// Self-contained: presentation attributes, no CSS or ids, so the file works alone and inline.
public enum FrontierPlot {
    static let width = 620.0
    static let plotLeft = 62.0, plotRight = 440.0, plotTop = 36.0
    static let legendLeft = 454.0
    /// Marker shapes by energy basis, in the bases' sorted order.
    static let shapes = ["circle", "square", "diamond", "triangle"]

    /// Per configuration of one group: a fill shaded from the variant's colour (lighter for the
    /// first by parameter order, darker for the last) and a label naming the
    /// parameters that vary within the variant; no label for a variant of one configuration.
    /// Parameters are ordered by value (`ParameterValue.precedes`), then by name.
    public static func shades(_ configs: [ConfigAggregate], colours: [String: String]) -> [String: (fill: String, label: String?)] {
        var out: [String: (fill: String, label: String?)] = [:]
        for (variant, members) in Dictionary(grouping: configs, by: \.variant) {
            let base = colours[variant] ?? "#888888"
            let names = Set(members.flatMap { $0.parameters.keys }).sorted()
            let varying = names.filter { name in
                let values = members.map { $0.parameters[name] }
                return values.contains { $0 != values[0] }
            }
            let sorted = members.sorted { a, b in
                for name in varying {
                    let (x, y) = (a.parameters[name], b.parameters[name])
                    if x == y { continue }
                    guard let x else { return true }
                    guard let y else { return false }
                    return ParameterValue.precedes(x, y)
                }
                return a.configKey < b.configKey
            }
            for (k, c) in sorted.enumerated() {
                // From 45 % towards white to 35 % towards black: pale palette colours (pink,
                // yellow) stay visible at the light end.
                let lightness = sorted.count == 1 ? 0 : 0.45 - 0.8 * Double(k) / Double(sorted.count - 1)
                var label: String?
                if sorted.count > 1, !varying.isEmpty {
                    let parts = varying.compactMap { name in c.parameters[name].map { (name, $0.description) } }
                    label = parts.count == 1 ? parts[0].1 : parts.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                }
                out[c.configKey] = (mix(base, lightness), label)
            }
        }
        return out
    }

    /// `hex` (#rrggbb) mixed with white: 0 keeps it, 1 is white; below 0 mixed with black, −1 black.
    static func mix(_ hex: String, _ white: Double) -> String {
        guard hex.count == 7, hex.hasPrefix("#"), let v = UInt32(hex.dropFirst(), radix: 16) else { return hex }
        let bytes: [UInt32] = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]
        var out = "#"
        for byte in bytes {
            let c = Double(byte)
            let mixed = Int((white >= 0 ? c + (255 - c) * white : c * (1 + white)).rounded())
            out += String(format: "%02x", mixed)
        }
        return out
    }

    /// One marker of `shape` centred on (x, y), `r` its radius, with `attributes` and `body`
    /// (a `<title>`) inside.
    static func marker(_ shape: String, x: Double, y: Double, r: Double, attributes: String, body: String = "") -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let open: String
        switch shape {
        case "square":
            let side = r * 1.7
            open = "<rect x=\"\(f(x - side / 2))\" y=\"\(f(y - side / 2))\" width=\"\(f(side))\" height=\"\(f(side))\" \(attributes)"
            return body.isEmpty ? open + "/>" : open + ">\(body)</rect>"
        case "diamond", "triangle":
            let a = r * 1.3, b = r * 1.2, c = r * 0.9
            let points: [(Double, Double)] = shape == "diamond"
                ? [(x, y - a), (x + a, y), (x, y + a), (x - a, y)]
                : [(x, y - a), (x + b, y + c), (x - b, y + c)]
            let d = "M" + points.map { "\(f($0.0)) \(f($0.1))" }.joined(separator: "L") + "Z"
            open = "<path d=\"\(d)\" \(attributes)"
            return body.isEmpty ? open + "/>" : open + ">\(body)</path>"
        default:
            open = "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" \(attributes)"
            return body.isEmpty ? open + "/>" : open + ">\(body)</circle>"
        }
    }

    public static func svg(configs: [ConfigAggregate], frontier: ParetoFrontier, knee: String? = nil,
                           colours: [String: String], title: String? = nil) -> String {
        let measure = frontier.measures[0]
        let group = frontier.group
        let mine = configs.filter { $0.group == group }.sorted { $0.configKey < $1.configKey }
        let drawn = mine.filter { frontierFinite($0.metricValue) != nil && frontierFinite($0.value(measure)) != nil }
        let missing = mine.count - drawn.count
        let metricName = mine.lazy.compactMap(\.metricName).first ?? "metric"
        let shade = shades(mine, colours: colours)
        let chance = MeasureSpread(mine.map(\.chanceLevel))?.median

        // Whiskers: the interval where there is one, else the repeats' min–max.
        func xRange(_ c: ConfigAggregate) -> (Double, Double) {
            let sx = c.spread(measure)!
            return sx.interval.map { ($0.low, $0.high) } ?? (sx.min, sx.max)
        }
        func yRange(_ c: ConfigAggregate) -> (Double, Double) {
            let sy = c.metric!
            return sy.interval.map { ($0.low * 100, $0.high * 100) } ?? (sy.min * 100, sy.max * 100)
        }
        let xValues = drawn.flatMap { c in [xRange(c).0, xRange(c).1] }
        var yValues = drawn.flatMap { c in [yRange(c).0, yRange(c).1] }
        if let chance, drawn.contains(where: \.collapsed) { yValues.append(chance * 100) }
        let xAxis = PlotAxis(values: xValues, allowLog: true)
        let yAxis = PlotAxis(values: yValues, allowLog: false)

        let estimated = measure.isEnergy ? drawn.filter(\.energyEstimated).count : 0
        let bases = measure.isEnergy ? Set(drawn.compactMap(\.energyBasis)).sorted() : []
        let shapeOf = Dictionary(uniqueKeysWithValues: bases.enumerated().map { ($1, shapes[$0 % shapes.count]) })
        let variants = Set(drawn.map(\.variant)).sorted()
        var legend: [(kind: String, label: String, colour: String)] = variants.map { ("variant", $0, colours[$0] ?? "#888") }
        if drawn.contains(where: { shade[$0.configKey]?.label != nil }) { legend.append(("shade", "shade: parameter ↑", "#888")) }
        if drawn.contains(where: \.isBaseline) { legend.append(("baseline", "dense fp32 baseline", "#000")) }
        if !frontier.configKeys.isEmpty { legend.append(("frontier", "Pareto frontier", "#222")) }
        if measure.isEnergy, knee != nil { legend.append(("knee", "knee", "#c0392b")) }
        if estimated > 0, estimated < drawn.count { legend.append(("estimated", "estimated energy", "#555")) }
        if drawn.contains(where: \.disturbed) { legend.append(("disturbed", "⚠ disturbed", "#d35400")) }
        let showChance = chance.map { $0 * 100 > yAxis.lo } ?? false
        if showChance { legend.append(("chance", "chance level", "#999")) }
        if bases.count > 1 { for b in bases { legend.append(("basis:" + shapeOf[b]!, "energy basis " + b, "#555")) } }
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
        // The chance band first, under everything: at or below it a model is the constant predictor.
        if showChance, let chance {
            let top = py(min(chance * 100, yAxis.hi))
            s += "<rect class=\"chance-band\" x=\"\(f(plotLeft))\" y=\"\(f(top))\" width=\"\(f(plotRight - plotLeft))\" height=\"\(f(plotBottom - top))\" fill=\"#ececec\"><title>chance level \(ReportFormat.points(chance)) pt: the constant predictor on this dev set; points here have collapsed</title></rect>"
            s += "<text x=\"\(f(plotRight - 4))\" y=\"\(f(top + 12))\" text-anchor=\"end\" fill=\"#777\">chance \(ReportFormat.points(chance))</text>\n"
        }
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
        if bases.count == 1 { xLabel += ", \(bases[0])" }
        if bases.count > 1 { xLabel += "; \(bases.count) BASES, see markers" }
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
        // (x of the higher point, y of the lower one), then out to the plot's worse edge. Only
        // through the points that raise the metric: a point on the frontier within noise below a
        // cheaper one would make the staircase step down.
        let byKey = Dictionary(drawn.map { ($0.configKey, $0) }, uniquingKeysWith: { a, _ in a })
        var best = -Double.infinity
        let path = frontier.configKeys.compactMap { byKey[$0] }.filter { c in
            guard c.metricValue! > best else { return false }
            best = c.metricValue!
            return true
        }
        if let first = path.first {
            var d = "M\(f(px(first.value(measure)!))) \(f(plotBottom))V\(f(py(first.metricValue! * 100)))"
            for c in path.dropFirst() { d += "H\(f(px(c.value(measure)!)))V\(f(py(c.metricValue! * 100)))" }
            d += "H\(f(measure.minimise ? plotRight : plotLeft))"
            s += "<path class=\"frontier\" d=\"\(d)\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.6\" stroke-linejoin=\"round\"/>\n"
        }

        // Points: whiskers first, then markers and labels, the rings and the knee on top.
        let onFrontier = Set(frontier.configKeys), withinNoise = Set(frontier.withinNoise)
        for c in drawn {
            let colour = colours[c.variant] ?? "#888"
            let x = px(c.value(measure)!), y = py(c.metricValue! * 100)
            let (x0, x1) = xRange(c), (y0, y1) = yRange(c)
            if x1 > x0 {
                s += "<line class=\"whisker\" x1=\"\(f(px(x0)))\" y1=\"\(f(y))\" x2=\"\(f(px(x1)))\" y2=\"\(f(y))\" stroke=\"\(colour)\" stroke-opacity=\"0.6\"/>"
            }
            if y1 > y0 {
                s += "<line class=\"whisker\" x1=\"\(f(x))\" y1=\"\(f(py(y0)))\" x2=\"\(f(x))\" y2=\"\(f(py(y1)))\" stroke=\"\(colour)\" stroke-opacity=\"0.6\"/>"
            }
        }
        for c in drawn {
            let colour = colours[c.variant] ?? "#888"
            let fill = shade[c.configKey]?.fill ?? colour
            let x = px(c.value(measure)!), y = py(c.metricValue! * 100)
            let hollow = measure.isEnergy && c.energyEstimated && estimated < drawn.count
            let standing = onFrontier.contains(c.configKey) ? (withinNoise.contains(c.configKey) ? ", on the frontier (within noise)" : ", on the frontier") : ""
            var tip = [c.technique + (c.isBaseline ? " (baseline)" : "") + standing,
                       "\(metricName) \(ReportFormat.points(c.metricValue, c.metricInterval, unit: "points"))",
                       "\(measure.label): \(ReportFormat.number(c.value(measure), c.interval(measure)))"
                           + (measure.isEnergy ? " (\(c.energySource ?? "source unknown")\(c.energyBasis.map { ", " + $0 } ?? ""))" : ""),
                       "\(c.repeats) repeat\(c.repeats == 1 ? "" : "s")"]
            if c.collapsed { tip.append("collapsed: indistinguishable from the chance level \(ReportFormat.points(c.chanceLevel)) pt") }
            if c.disturbed { tip.append("⚠ disturbed: \(c.disturbedRepeats) of \(c.repeats) repeats measured through interference" + (c.interference.isEmpty ? "" : " (" + c.interference.joined(separator: "; ") + ")")) }
            if measure == .peakRssMb, let held = c.weightBytesHeld { tip.append("weights held: \(ReportFormat.number(Double(held) / 1e6)) MB") }
            let shape = c.energyBasis.flatMap { shapeOf[$0] } ?? "circle"
            let attributes = "class=\"pt\" fill=\"\(hollow ? "#fff" : fill)\" stroke=\"\(hollow ? colour : "#fff")\" stroke-width=\"\(hollow ? "1.8" : "0.8")\" data-config=\"\(e(c.configKey))\""
            s += marker(shape, x: x, y: y, r: 4.5, attributes: attributes, body: "<title>\(e(tip.joined(separator: "\n")))</title>")
            if let label = shade[c.configKey]?.label {
                let short = label.count > 18 ? String(label.prefix(17)) + "…" : label
                s += "<text class=\"pt-label\" x=\"\(f(x + 6))\" y=\"\(f(y + 11))\" font-size=\"9\" fill=\"\(colour)\">\(e(short))</text>"
            }
            if c.disturbed {
                s += "<circle class=\"disturbed-mark\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"7.5\" fill=\"none\" stroke=\"#d35400\" stroke-width=\"1.4\" stroke-dasharray=\"2 2\"/>"
            }
            s += "\n"
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
            case "shade":
                for (i, w) in [0.45, 0.05, -0.35].enumerated() {
                    s += "<circle cx=\"\(f(legendLeft + 1 + 5 * Double(i)))\" cy=\"\(f(ly))\" r=\"3\" fill=\"\(mix("#555555", w))\"/>"
                }
            case "baseline":
                s += "<circle cx=\"\(f(legendLeft + 6))\" cy=\"\(f(ly))\" r=\"6\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.8\"/>"
            case "frontier":
                s += "<path d=\"M\(f(legendLeft - 2)) \(f(ly + 4))H\(f(legendLeft + 6))V\(f(ly - 4))H\(f(legendLeft + 14))\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.6\"/>"
            case "knee":
                s += "<path d=\"M\(f(legendLeft + 6)) \(f(ly - 5))l5 5l-5 5l-5 -5z\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.6\"/>"
            case "disturbed":
                s += "<circle cx=\"\(f(legendLeft + 6))\" cy=\"\(f(ly))\" r=\"6\" fill=\"none\" stroke=\"#d35400\" stroke-width=\"1.4\" stroke-dasharray=\"2 2\"/>"
            case "chance":
                s += "<rect x=\"\(f(legendLeft))\" y=\"\(f(ly - 5))\" width=\"12\" height=\"10\" fill=\"#ececec\" stroke=\"#ccc\"/>"
            case let kind where kind.hasPrefix("basis:"):
                s += marker(String(kind.dropFirst(6)), x: legendLeft + 6, y: ly, r: 4, attributes: "fill=\"#555\"")
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
