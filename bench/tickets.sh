#!/usr/bin/env bash
# Lottery tickets and structured subnetworks on MiniLM-L6 (issue 16): runs the experiments of
# docs/tickets.md and regenerates its tables. Every run is resumable: run the same command again
# after an interruption (or in the next session) and it continues where it stopped.
#
#   bench/tickets.sh [--tasks "CoLA STS-B MRPC RTE SST-2"] [--seeds "42 43 44"]
#                    [--methods "imp one-shot random-pruning random-reinit structured"]
#                    [--control-levels LIST] [--pooler prune|dense] [--threads T] [--out DIR]
#                    [--record DIR] [--agent PATH] [--tables-only] [--plan]
#
# Per task and seed, in OUT/TASK/seed-S: imp/ (IMP to 90 % sparsity, 10 % of the original count per
# round, rewinding to θ0, the head kept), one-shot/, random-pruning/, random-reinit/ (the controls at
# IMP's per-matrix counts; --control-levels limits them, e.g. 3,5,7,9 for 30/50/70/90 %) and
# structured/ (prune-structured: good, random and bad subnetworks). The recipe per task is the one
# of the reference checkpoints in ../shared/models: SST-2 1 epoch, lr 8e-5, max length 64; the small
# tasks 3 epochs, lr 6e-5, max length 128; all batch 32, warm-up 6 %, AdamW with weight decay 0.01.
# --pooler dense runs IMP with the pooler left out of the prunable set (`imp --pooler dense`), and
# its controls, in OUT/TASK-pooler-dense/seed-S: on all-MiniLM-L6-v2 the pooler, unused by its mean
# pooling, is the smallest matrix by far, and global pruning empties it first (docs/tickets.md).
# Then bench/tickets_tables.py writes the tables (markdown on stdout, and docs/tickets-tables.md).
# --plan runs nothing: it lists, for the same options, the fine-tunes finished and left and about
# how long the rest takes (bench/tickets_plan.py).
#
# Cost on 2 cores (AMD EPYC Zen 4, 2026-12): one fine-tune of CoLA ≈ 2 min, STS-B ≈ 3, RTE ≈ 3.5,
# MRPC ≈ 4, SST-2 ≈ 6–7 (docs/tickets.md);
# IMP to 90 % is 10 fine-tunes, each control 9 (4 with --control-levels 3,5,7,9). The whole matrix
# is about 30 hours: run it task by task.
#
# The small per-level results (levels.jsonl, subnetworks.jsonl, steps.jsonl, tickets.json, and
# masks.jsonl: what each level's mask keeps per matrix, from bench/tickets_masks.py) are
# copied as each method finishes into RECORD (default bench/results/tickets, committed), so the
# tables survive a new checkout even when OUT (masks and checkpoints, hundreds of MB) does not;
# the tables are written from RECORD.
#
# Environment: FRONTIER_SHARED (default ../shared beside the checkout), FRONTIER_AGENT (default
# .build/release/frontier-agent).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared="${FRONTIER_SHARED:-$root/../shared}"
tasks="CoLA STS-B MRPC RTE SST-2" seeds="42 43 44" methods="imp one-shot random-pruning random-reinit structured"
control_levels="" pooler=prune threads=2 out="$root/cache/tickets" record="$root/bench/results/tickets" tables_only=0 plan=0
agent="${FRONTIER_AGENT:-$root/.build/release/frontier-agent}"
base="$root/cache/models/all-minilm-l6-v2"
data="$shared/data/glue"

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tasks) tasks="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --methods) methods="$2"; shift 2 ;;
        --control-levels) control_levels="$2"; shift 2 ;;
        --pooler) pooler="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --record) record="$2"; shift 2 ;;
        --agent) agent="$2"; shift 2 ;;
        --tables-only) tables_only=1; shift ;;
        --plan) plan=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

# Counts the masks of the method that just finished (OUT/TASK/seed-S/METHOD), then copies the small
# result files of OUT/TASK/seed-S into RECORD (same layout), never masks or weights.
record() {
    local src="$1" method="$2" dst="$record/${1#"$out"/}"
    if compgen -G "$src/$method/level-*/mask.safetensors" > /dev/null; then python3 "$root/bench/tickets_masks.py" "$src/$method"; fi
    for file in "$src"/*/levels.jsonl "$src"/*/masks.jsonl "$src"/*/subnetworks.jsonl "$src"/*/steps.jsonl "$src"/*/tickets.json; do
        [ -f "$file" ] || continue
        mkdir -p "$dst/$(basename "$(dirname "$file")")"
        cp "$file" "$dst/$(basename "$(dirname "$file")")/"
    done
}
tables() { python3 "$root/bench/tickets_tables.py" "$record" --write "$root/docs/tickets-tables.md"; }
if [ "$tables_only" = 1 ]; then tables; exit 0; fi
if [ "$plan" = 1 ]; then
    exec python3 "$root/bench/tickets_plan.py" --out "$out" --record "$record" --tasks "$tasks" --seeds "$seeds" \
        --methods "$methods" --control-levels "$control_levels" --pooler "$pooler"
fi
case "$pooler" in
    prune) suffix="" ;;
    dense) suffix="-pooler-dense"
           case " $methods " in *" structured "*) echo "error: --pooler dense is for imp and its controls, not structured" >&2; exit 64 ;; esac ;;
    *) echo "error: --pooler takes prune or dense, not $pooler" >&2; exit 64 ;;
esac

[ -x "$agent" ] || { echo "error: no frontier-agent at $agent (swift build -c release, or set FRONTIER_AGENT)" >&2; exit 64; }
if [ ! -f "$base/model.safetensors" ]; then bash "$root/scripts/fetch-base-model.sh" >/dev/null; fi

recipe() {
    case "$1" in
        SST-2) echo "--epochs 1 --lr 8e-5 --max-seq-len 64" ;;
        *) echo "--epochs 3 --lr 6e-5 --max-seq-len 128" ;;
    esac
}

for task in $tasks; do
    [ -f "$data/$task/train.tsv" ] || { echo "error: no $data/$task/train.tsv (set FRONTIER_SHARED)" >&2; exit 64; }
    for seed in $seeds; do
        dir="$out/$task$suffix/seed-$seed"
        mkdir -p "$dir"
        common="--batch 32 --warmup-ratio 0.06 --seed $seed --threads $threads --checkpoint-every 100 $(recipe "$task")"
        for method in $methods; do
            echo "== $task seed $seed: $method ($(date -u +%H:%M))" >&2
            case "$method" in
                imp)
                    # shellcheck disable=SC2086
                    "$agent" imp --base "$base" --task "$task" --data "$data" --out "$dir/imp" \
                        --target-sparsity 0.9 --per-round 0.1 --of original --pooler "$pooler" $common > "$dir/imp.json" ;;
                one-shot|random-pruning|random-reinit)
                    levels=()
                    [ -n "$control_levels" ] && levels=(--levels "$control_levels")
                    "$agent" imp-control --imp "$dir/imp" --control "$method" --out "$dir/$method" "${levels[@]}" > "$dir/$method.json" ;;
                structured)
                    # shellcheck disable=SC2086
                    "$agent" prune-structured --base "$base" --task "$task" --data "$data" --out "$dir/structured" \
                        --per-step 0.1 --threshold 0.9 $common > "$dir/structured.json" ;;
                *) echo "unknown method $method" >&2; exit 64 ;;
            esac
            record "$dir" "$method"
        done
    done
done
tables
