import Foundation
import FrontierAnalysis

/// The live view's page: progress, agents, recent failures and the current frontier plots, all
/// rendered here from the snapshot so it reads without scripts (a `<noscript>` meta refresh
/// reloads it every 5 s); with scripts it polls `api/status` every 2 s and swaps in new plots
/// from `plots` when trials finish. Self-contained: inline CSS and JS, nothing from elsewhere.
public enum LiveViewPage {
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

    static let e = ReportFormat.html

    public static func render(_ s: LiveSnapshot) -> String {
        let finished = s.done + s.failed
        let percent = s.total > 0 ? Double(finished) / Double(s.total) * 100 : 0
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <noscript><meta http-equiv="refresh" content="5"></noscript>
        <link rel="icon" href="data:,">
        <title>Frontier live: \(e(s.gridName))</title>
        <style>\(css)</style>
        </head>
        <body data-done="\(s.done)" data-failed="\(s.failed)" data-total="\(s.total)" data-refreshes="0">
        <header><h1>Frontier live: <span id="grid">\(e(s.gridName))</span></h1>
        <p class="meta">Started \(e(s.startedAt)). <span id="conn">Updated when loaded.</span></p></header>
        <main>
        <section id="progress">
        <div class="bar"><div id="bar" style="width:\(String(format: "%.1f", percent))%"></div></div>
        <p class="counts"><strong><span id="p-finished">\(finished)</span> / <span id="p-total">\(s.total)</span></strong> \
        (<span id="p-pct">\(String(format: "%.0f", percent))</span>%) — <span id="p-done">\(s.done)</span> done, \
        <span id="p-failed" class="bad">\(s.failed)</span> failed, <span id="p-running">\(s.running)</span> running, \
        <span id="p-pending">\(s.pending)</span> pending; ETA <span id="p-eta">\(e(duration(s.etaS)))</span></p>
        </section>
        <section><h2>Agents (<span id="agent-count">\(s.agents.count)</span>)</h2>
        <table><thead><tr><th>agent</th><th>device class</th><th>state</th><th>trial</th><th>last seen</th><th>completed</th></tr></thead>
        <tbody id="agents">

        """
        for a in s.agents {
            h += "<tr><td>\(e(a.id))</td><td>\(e(a.deviceClass))</td><td class=\"state-\(e(a.state))\">\(e(a.state))</td><td>\(e(a.trialId ?? "–"))</td><td>\(e(duration(a.lastSeenAgoS))) ago</td><td>\(a.completed)</td></tr>\n"
        }
        h += "</tbody></table></section>\n<section><h2>Recent failures</h2>\n<table><thead><tr><th>at</th><th>trial</th><th>label</th><th>reason</th></tr></thead>\n<tbody id=\"failures\">\n"
        for f in s.recentFailures {
            h += "<tr><td>\(e(f.at))</td><td>\(e(f.trialId))</td><td>\(e(f.label))</td><td>\(e(f.reason))</td></tr>\n"
        }
        h += "</tbody></table></section>\n<section><h2>Frontiers so far</h2>\n<div id=\"plots\">\n"
        h += plots(s.records)
        h += "</div></section>\n</main>\n<script>\(script)</script>\n</body>\n</html>\n"
        return h
    }

    /// The current accuracy–energy and accuracy–latency plots of every group, as a fragment.
    public static func plots(_ records: [TrialRecord]) -> String {
        let analysis = FrontierAnalysis(records: records)
        let plots = ReportHTML.plots(analysis, measures: ReportHTML.mainMeasures)
        guard !plots.isEmpty else { return "<p class=\"meta\">No accepted trials yet.</p>\n" }
        var h = ""
        for group in analysis.groups {
            h += "<h3>\(e(group.description))</h3>\n<div class=\"plots\">\n"
            for plot in plots where plot.group == group { h += "<figure>\(plot.svg)</figure>\n" }
            h += "</div>\n"
        }
        return h
    }

    /// "unknown", "42 s", "12 min 5 s", "3 h 12 min".
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "unknown" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fafafa}
    header,main{max-width:1400px;margin:0 auto;padding:0 20px}
    h1{font-size:20px;margin:12px 0 4px}h2{font-size:16px;margin:20px 0 6px}h3{font-size:14px;margin:14px 0 6px}
    .meta{color:#555;margin:2px 0}
    .bar{height:14px;background:#e4e7eb;border-radius:7px;overflow:hidden;margin:10px 0 6px}
    #bar{height:100%;background:#4e79a7;transition:width .5s}
    .counts{font-size:15px;margin:4px 0}.bad{color:#b03030}
    table{border-collapse:collapse;background:#fff;font-size:13px}
    th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f0f2f5}
    .state-running{color:#2b7a2b;font-weight:600}.state-lost{color:#b03030;font-weight:600}.state-idle{color:#777}
    .plots{display:flex;flex-wrap:wrap;gap:12px}
    figure{margin:0;background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:4px}
    figure svg{max-width:100%;height:auto;display:block}
    """

    /// Polls `api/status` every 2 s; rebuilds the tables with DOM text nodes (no HTML from data);
    /// fetches `plots` (server-rendered, escaped) when the finished count moves.
    static let script = """
    (function () {
      "use strict";
      var refreshes = 0, plotted = Number(document.body.getAttribute("data-done")) + Number(document.body.getAttribute("data-failed"));
      function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = String(value); } }
      function duration(s) {
        if (s === null || s === undefined || !isFinite(s) || s < 0) { return "unknown"; }
        s = Math.round(s);
        if (s < 60) { return s + " s"; }
        if (s < 3600) { return Math.floor(s / 60) + " min " + (s % 60) + " s"; }
        return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
      }
      function rows(id, items, cells) {
        var body = document.getElementById(id);
        if (!body) { return; }
        while (body.firstChild) { body.removeChild(body.firstChild); }
        items.forEach(function (item) {
          var tr = document.createElement("tr");
          cells(item).forEach(function (cell) {
            var td = document.createElement("td");
            td.textContent = String(cell[0]);
            if (cell[1]) { td.className = cell[1]; }
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
      }
      function render(s) {
        var finished = s.done + s.failed, pct = s.total > 0 ? finished / s.total * 100 : 0;
        set("grid", s.grid_name); set("p-finished", finished); set("p-total", s.total); set("p-pct", pct.toFixed(0));
        set("p-done", s.done); set("p-failed", s.failed); set("p-running", s.running); set("p-pending", s.pending);
        set("p-eta", duration(s.eta_s)); set("agent-count", s.agents.length);
        document.getElementById("bar").style.width = pct.toFixed(1) + "%";
        rows("agents", s.agents, function (a) {
          return [[a.id], [a.device_class], [a.state, "state-" + a.state], [a.trial_id || "\\u2013"],
                  [duration(a.last_seen_ago_s) + " ago"], [a.completed]];
        });
        rows("failures", s.recent_failures, function (f) { return [[f.at], [f.trial_id], [f.label], [f.reason]]; });
        refreshes += 1;
        document.body.setAttribute("data-done", String(s.done));
        document.body.setAttribute("data-failed", String(s.failed));
        document.body.setAttribute("data-total", String(s.total));
        document.body.setAttribute("data-refreshes", String(refreshes));
        set("conn", "Updated " + new Date().toLocaleTimeString() + ".");
        if (finished !== plotted) {
          plotted = finished;
          fetch("plots", { cache: "no-store" }).then(function (r) { return r.ok ? r.text() : null; })
            .then(function (html) { if (html !== null) { document.getElementById("plots").innerHTML = html; } })
            .catch(function () {});
        }
      }
      function poll() {
        fetch("api/status?records=0", { cache: "no-store" })
          .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
          .then(render)
          .catch(function () { set("conn", "Connection lost; retrying."); });
      }
      poll();
      setInterval(poll, 2000);
    })();
    """
}
