#!/usr/bin/env bash
# What the lottery tickets cost to run (issue 16, "efficiency of the tickets"): every finished IMP
# level that bench/tickets.sh wrote goes through `frontier-agent run` twice, its pruned matrices on
# the sparse kernel (--sparse-kernel always) and on the dense one (never), over the whole dev set.
# Each result is the agent's own JSON: the dev metric, offline examples/s, single-stream p50,
# J/example with its energy source ("estimated" where no meter is readable) and whether the
# machine was disturbed meanwhile. Resumable: a level whose result file exists is skipped.
#
#   bench/tickets_efficiency.sh [--tasks "SST-2"] [--seeds "42"] [--threads T] [--out DIR]
#                               [--record DIR] [--agent PATH] [--limit N]
#
# Writes OUT/TASK/seed-S/imp/level-NN/efficiency-{sparse,dense}.json and copies each into RECORD
# (default bench/results/tickets, committed, the same layout), then the tables from RECORD
# (bench/tickets_tables.py, which adds an efficiency table per task). Level 0 is dense (no mask):
# it runs once, as the baseline. The retrained structured subnetworks of prune-structured
# (OUT/TASK/seed-S/structured/NAME) run twice as well: in their shrunk shape (head-pruning of the
# removed heads and ffn-pruning of the removed blocks applied at load, the smaller matrices really
# multiplied) and as the masked full-size checkpoint they were trained as:
# structured/NAME/efficiency-{shrunk,masked}.json. Run it on a quiet machine: the timings are the
# point.
#
# Environment: FRONTIER_SHARED (default ../shared beside the checkout), FRONTIER_AGENT (default
# .build/release/frontier-agent).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared="${FRONTIER_SHARED:-$root/../shared}"
tasks="SST-2" seeds="42" threads=2 out="$root/cache/tickets" record="$root/bench/results/tickets" limit=""
agent="${FRONTIER_AGENT:-$root/.build/release/frontier-agent}"
data="$shared/data/glue"

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tasks) tasks="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --record) record="$2"; shift 2 ;;
        --agent) agent="$2"; shift 2 ;;
        --limit) limit="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done
[ -x "$agent" ] || { echo "tickets_efficiency: $agent is not an executable (build with swift build -c release, or set FRONTIER_AGENT)" >&2; exit 66; }
[ -d "$data" ] || { echo "tickets_efficiency: $data: no GLUE folder (set FRONTIER_SHARED)" >&2; exit 66; }

# One measured trial; the JSON goes to FILE only when the agent finished (status ok or failed,
# both are results), through a temporary file so an interrupted run leaves nothing half-written.
measure() {
    local file=$1; shift
    if [ -s "$file" ]; then keep "$file"; return 0; fi
    local partial="$file.partial"
    echo "  $(basename "$(dirname "$file")") $(basename "$file" .json) ($(date +%H:%M:%S))" >&2
    local status=0
    local sizing=(--threads "$threads")
    [ -n "$limit" ] && sizing+=(--limit "$limit")
    [ "$1" = --spec ] && sizing=()   # the spec carries them
    "$agent" run "$@" "${sizing[@]}" > "$partial" 2>"$partial.log" || status=$?
    # Exit 1 is a failed trial with its JSON (kept: the table says why); anything else is ours.
    if [ "$status" -ne 0 ] && { [ "$status" -ne 1 ] || [ ! -s "$partial" ]; }; then
        echo "tickets_efficiency: frontier-agent run exited $status, see $partial.log" >&2
        exit 70
    fi
    mv "$partial" "$file"
    rm -f "$partial.log"
    keep "$file"
}

# Copies a result file of OUT into RECORD under the same relative path: the tables are written from
# RECORD, so they survive a new checkout, where OUT (masks and checkpoints) does not.
keep() {
    local copy="$record/${1#"$out"/}"
    mkdir -p "$(dirname "$copy")"
    cp "$1" "$copy"
}

for task in $tasks; do
    for seed in $seeds; do
        search="$out/$task/seed-$seed/imp" levels=()
        if [ -s "$search/levels.jsonl" ]; then
            echo "== $task seed $seed: $(wc -l < "$search/levels.jsonl") finished IMP levels" >&2
            # The folders of finished levels, from levels.jsonl (a level folder without a record
            # is still training).
            mapfile -t levels < <(python3 -c 'import json,sys; [print(json.loads(l)["folder"]) for l in open(sys.argv[1]) if l.strip()]' "$search/levels.jsonl")
        else
            echo "== $task seed $seed: no finished IMP level in $search (bench/tickets.sh makes them)" >&2
        fi
        for folder in "${levels[@]}"; do
            level="$search/$folder"
            if [ -f "$level/mask.safetensors" ]; then
                measure "$level/efficiency-sparse.json" --model "$level" --task "$task" --data "$data" --mask "$level/mask.safetensors" --sparse-kernel always
                measure "$level/efficiency-dense.json" --model "$level" --task "$task" --data "$data" --mask "$level/mask.safetensors" --sparse-kernel never
            else
                measure "$level/efficiency-dense.json" --model "$level" --task "$task" --data "$data"
            fi
        done
        structured="$out/$task/seed-$seed/structured"
        [ -s "$structured/subnetworks.jsonl" ] || continue
        echo "== $task seed $seed: structured subnetworks" >&2
        # One spec per retrained subnetwork: its removed heads and feed-forward blocks as techniques.
        PYTHONPATH="$root/bench" python3 - "$structured" "$task" "$data" "$threads" "$limit" <<'PY'
import json, sys
from pathlib import Path
from tickets_tables import read_lines, removed_structure
folder, task, data, threads, limit = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
for row in read_lines(folder / "subnetworks.jsonl"):
    if not row.get("folder"):
        continue
    heads, blocks = removed_structure(row["structure"])
    techniques = ([{"name": "head-pruning", "heads": heads}] if heads else []) + ([{"name": "ffn-pruning", "blocks": blocks}] if blocks else [])
    spec = {"model": str(folder / row["folder"]), "task": task, "data": data, "threads": threads, "techniques": techniques}
    if limit:
        spec["limit"] = int(limit)
    (folder / row["folder"] / "efficiency-shrunk.spec.json").write_text(json.dumps(spec, indent=2) + "\n")
PY
        for spec in "$structured"/*/efficiency-shrunk.spec.json; do
            [ -e "$spec" ] || continue
            sub=$(dirname "$spec")
            measure "$sub/efficiency-shrunk.json" --spec "$spec"
            measure "$sub/efficiency-masked.json" --model "$sub" --task "$task" --data "$data"
        done
    done
done
python3 "$root/bench/tickets_tables.py" "$record" --write "$root/docs/tickets-tables.md"
