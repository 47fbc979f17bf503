#!/usr/bin/env bash
# Checks a Frontier report (or the live view) in headless Chromium.
#
#   scripts/check-report.sh REPORT_DIR [SCREENSHOT.png]
#   scripts/check-report.sh --url http://127.0.0.1:PORT/ [SCREENSHOT.png]
#
# REPORT_DIR is what `ReportWriter` wrote (holding report/index.html) or the report/ folder
# itself. The check fails when
#   - the page logs anything to the console (Chromium's "CONSOLE" log lines: script errors,
#     failed loads, console.* calls — the pages log nothing when healthy);
#   - a plot (<svg class="plot">) has a different number of markers (class="pt") than its
#     data-expected-points, or has frontier points (data-frontier-points > 0) but no
#     <path class="frontier"> with a non-empty d; or the page's data-expected-plots differs
#     from the number of plots;
#   - the screenshot is not written.
# With --url (the live view) the page is loaded twice, CHECK_REPORT_GAP_S seconds apart
# (default 5), with a few seconds of virtual time each so its script polls /api/status; the
# second load is repeated every CHECK_REPORT_GAP_S until done + failed has moved, for at most
# CHECK_REPORT_WAIT_S seconds (default 180: a trial of a real sweep takes longer than the gap).
# The check also fails when the script never refreshed the page (body data-refreshes stays 0)
# or, unless CHECK_REPORT_EXPECT_PROGRESS=0, when done + failed did not change between the loads.
#
# Needs python3 and Debian's chromium (installed with apt-get when missing). The window is
# CHECK_REPORT_WINDOW (default 1400,3000) wide and high; the screenshot shows that viewport.
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

mode=file
if [[ "${1:-}" == "--url" ]]; then
    mode=url
    shift
    [[ $# -ge 1 ]] || usage
    url="$1"
else
    [[ $# -ge 1 ]] || usage
    dir="$1"
    if [[ -f "$dir/report/index.html" ]]; then page="$dir/report/index.html"
    elif [[ -f "$dir/index.html" ]]; then page="$dir/index.html"
    else echo "check-report: no report/index.html or index.html in $dir" >&2; exit 1; fi
    url="file://$(cd "$(dirname "$page")" && pwd)/index.html"
fi
screenshot="${2:-}"
window="${CHECK_REPORT_WINDOW:-1400,3000}"
gap="${CHECK_REPORT_GAP_S:-5}"

command -v python3 >/dev/null || { echo "check-report: python3 is needed" >&2; exit 1; }

chromium_bin=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null; then chromium_bin="$candidate"; break; fi
done
if [[ -z "$chromium_bin" ]]; then
    echo "check-report: installing Debian's chromium" >&2
    if [[ "$(id -u)" == 0 ]]; then apt-get install -y chromium >&2; else sudo apt-get install -y chromium >&2; fi
    chromium_bin=chromium
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One headless run: $1 = output prefix, the rest = extra flags. stdout → $1.out, log → $1.log.
run_chromium() {
    local prefix="$1"
    shift
    timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --no-default-browser-check --hide-scrollbars --mute-audio \
        --user-data-dir="$work/profile-$(basename "$prefix")" \
        --enable-logging=stderr --v=0 --window-size="$window" "$@" "$url" \
        >"$prefix.out" 2>"$prefix.log" || {
        echo "check-report: chromium failed (exit $?); its log:" >&2
        tail -20 "$prefix.log" >&2
        return 1
    }
}

console_errors() {
    # Chromium logs every console message and script error as a line with "CONSOLE".
    if grep -h "CONSOLE" "$@" >"$work/console.txt"; then
        echo "check-report: the page logged to the console:" >&2
        cat "$work/console.txt" >&2
        return 1
    fi
}

budget=()
[[ "$mode" == url ]] && budget=(--virtual-time-budget=4500)

run_chromium "$work/dom1" "${budget[@]}" --dump-dom
logs=("$work/dom1.log")
if [[ "$mode" == url ]]; then
    # A real trial can take longer than the gap: reload every gap seconds until done + failed
    # moves (or, when no progress is expected, once), at most CHECK_REPORT_WAIT_S seconds.
    finished_in() { python3 -c '
import re, sys
body = re.search(r"<body[^>]*>", open(sys.argv[1], encoding="utf-8", errors="replace").read())
print(sum(int(n) for n in re.findall(r"data-(?:done|failed)=\"(\d+)\"", body.group(0))) if body else "none")' "$1" || echo none; }
    first_finished=$(finished_in "$work/dom1.out")
    deadline=$((SECONDS + ${CHECK_REPORT_WAIT_S:-180}))
    while :; do
        sleep "$gap"
        run_chromium "$work/dom2" "${budget[@]}" --dump-dom
        [[ "${CHECK_REPORT_EXPECT_PROGRESS:-1}" != 1 ]] && break
        [[ "$(finished_in "$work/dom2.out")" != "$first_finished" ]] && break
        (( SECONDS >= deadline )) && break
    done
    logs+=("$work/dom2.log")
fi

status=0
console_errors "${logs[@]}" || status=1

doms=("$work/dom1.out")
[[ "$mode" == url ]] && doms+=("$work/dom2.out")
python3 - "$mode" "${CHECK_REPORT_EXPECT_PROGRESS:-1}" "${doms[@]}" <<'PY' || status=1
import sys
from html.parser import HTMLParser

mode, expect_progress, paths = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.plots = []      # dicts: attrs, pts, frontier paths
        self.svg_depth = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.body = a
        if tag == "svg":
            if self.svg_depth == 0 and "plot" in classes:
                self.plots.append({"attrs": a, "pts": 0, "frontier": []})
                self.svg_depth = 1
            elif self.svg_depth:
                self.svg_depth += 1
            return
        if self.svg_depth and self.plots:
            if "pt" in classes:
                self.plots[-1]["pts"] += 1
            if tag == "path" and "frontier" in classes:
                self.plots[-1]["frontier"].append((a.get("d") or "").strip())
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg" and self.svg_depth:
            self.svg_depth -= 1
    def handle_endtag(self, tag):
        if tag == "svg" and self.svg_depth:
            self.svg_depth -= 1

def load(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    return page

failures = []
pages = [load(p) for p in paths]
first = pages[0]
if not first.body:
    failures.append("no <body> in the dumped DOM (did the page load?)")
for i, plot in enumerate(first.plots):
    a = plot["attrs"]
    name = "{} {} {} {}".format(a.get("data-task"), a.get("data-model"), a.get("data-device-class"), a.get("data-measure"))
    expected = int(a.get("data-expected-points", "-1"))
    frontier_points = int(a.get("data-frontier-points", "0"))
    ok = True
    if plot["pts"] != expected:
        failures.append(f"plot {i} ({name}): {plot['pts']} markers, expected {expected}")
        ok = False
    if frontier_points > 0:
        good = [d for d in plot["frontier"] if d.startswith("M") and len(d) > 3]
        if len(good) != 1:
            failures.append(f"plot {i} ({name}): {frontier_points} frontier points but {len(good)} frontier paths with a d")
            ok = False
    print(f"  {'ok ' if ok else 'BAD'} plot {i:2d} {name}: {plot['pts']} markers, frontier of {frontier_points}"
          + (f", path of {len(plot['frontier'][0])} chars" if plot["frontier"] else ""))
expected_plots = first.body.get("data-expected-plots")
if expected_plots is not None and int(expected_plots) != len(first.plots):
    failures.append(f"{len(first.plots)} plots on the page, data-expected-plots says {expected_plots}")
if mode == "url":
    second = pages[1]
    for n, page in enumerate(pages, 1):
        b = page.body
        print(f"  load {n}: done {b.get('data-done')}, failed {b.get('data-failed')}, total {b.get('data-total')}, "
              f"script refreshes {b.get('data-refreshes')}")
        if int(b.get("data-refreshes") or 0) < 1:
            failures.append(f"load {n}: the page's script never refreshed it from /api/status")
    finished = lambda b: int(b.get("data-done") or 0) + int(b.get("data-failed") or 0)
    if expect_progress and finished(first.body) == finished(second.body):
        failures.append("progress did not change between the two loads (set CHECK_REPORT_EXPECT_PROGRESS=0 for a finished sweep)")
print(f"  {len(first.plots)} plots, {sum(p['pts'] for p in first.plots)} markers checked")
for f in failures:
    print("check-report: " + f, file=sys.stderr)
sys.exit(1 if failures else 0)
PY

if [[ -n "$screenshot" ]]; then
    mkdir -p "$(dirname "$screenshot")"
    shot="$(cd "$(dirname "$screenshot")" && pwd)/$(basename "$screenshot")"
    rm -f "$shot"
    run_chromium "$work/shot" "${budget[@]}" --screenshot="$shot"
    console_errors "$work/shot.log" || status=1
    if [[ -s "$shot" ]] && [[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]]; then
        echo "  screenshot: $shot ($(wc -c <"$shot") bytes, window $window)"
    else
        echo "check-report: no PNG screenshot written to $shot" >&2
        status=1
    fi
fi

if [[ $status == 0 ]]; then echo "check-report: OK ($url)"; else echo "check-report: FAILED ($url)" >&2; fi
exit $status
