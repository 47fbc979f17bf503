#!/usr/bin/env bash
# Fine-tuning speed and memory: our engine (frontier-agent finetune) against PyTorch eager on the CPU,
# in the same invocation, with the same model, data, order, batch size and threads.
#
#   bench/finetune-vs-torch.sh [--limit N] [--threads T] [--batch B] [--max-len L] [--task TASK]
#                              [--base DIR] [--data DIR] [--agent PATH] [--python PATH] [--json FILE]
#
# Defaults: SST-2 train, its first 2048 examples in file order (no shuffle on either side), 1 epoch,
# batch 32, max length 64, 2 threads, the recipe of models/minilm-l6-sst2/training.json (lr 8e-5,
# warm-up 6 %, AdamW with weight decay 0.01, clipping at 1.0, seed 42), the base MiniLM-L6 from
# scripts/fetch-base-model.sh. Ours runs first, then PyTorch (tools/torch_finetune.py); each in its
# own process, so each peak RSS is that process's alone. Prints a table (examples/s, real tokens/s,
# peak RSS, ours/torch) naming the CPU. The goal (issue 15): ours ≥ 3× PyTorch's examples/s, with a
# peak RSS no higher than PyTorch's.
#
# Environment: FRONTIER_SHARED (default ../shared beside the checkout), FRONTIER_AGENT (default
# .build/release/frontier-agent), PYTHON or FRONTIER_TOOLS_VENV (default .venv-tools; see tools/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared="${FRONTIER_SHARED:-$root/../shared}"
limit=2048 threads=2 batch=32 max_len=64 task=SST-2 json_out=""
base="$root/cache/models/all-minilm-l6-v2"
data="$shared/data/glue"
agent="${FRONTIER_AGENT:-$root/.build/release/frontier-agent}"
python="${PYTHON:-${FRONTIER_TOOLS_VENV:-$root/.venv-tools}/bin/python}"
lr=8e-5 warmup=0.06 seed=42 epochs=1

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --limit) limit="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --max-len) max_len="$2"; shift 2 ;;
        --task) task="$2"; shift 2 ;;
        --base) base="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --agent) agent="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --json) json_out="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

[ -x "$agent" ] || { echo "error: no frontier-agent at $agent (swift build -c release, or set FRONTIER_AGENT)" >&2; exit 64; }
[ -x "$python" ] || { echo "error: no Python at $python (tools/setup_venv.sh, or set PYTHON / FRONTIER_TOOLS_VENV)" >&2; exit 64; }
if [ ! -f "$base/model.safetensors" ] && [ "$base" = "$root/cache/models/all-minilm-l6-v2" ]; then
    bash "$root/scripts/fetch-base-model.sh" >/dev/null
fi
[ -f "$base/model.safetensors" ] || { echo "error: no model at $base" >&2; exit 64; }
[ -f "$data/$task/train.tsv" ] || { echo "error: no $data/$task/train.tsv (set FRONTIER_SHARED or --data)" >&2; exit 64; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs a command and writes NAME.measure.json: wall seconds, the CPU seconds of the command (its
# process tree) and of everything else on the machine meanwhile (from /proc/stat), so a side slowed
# by other work shows it.
cat > "$tmp/measure.py" <<'PY'
import json, os, resource, subprocess, sys, time
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
out, cmd = sys.argv[1], sys.argv[2:]
b0, t0 = busy(), time.monotonic()
rc = subprocess.call(cmd)
wall, b1 = time.monotonic() - t0, busy()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
own = ru.ru_utime + ru.ru_stime
json.dump({"wall_s": wall, "cpu_s": own, "others_cpu_s": max(0.0, b1 - b0 - own), "rc": rc}, open(out, "w"))
sys.exit(rc)
PY

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
flags=$(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' | grep -xE 'avx2|avx512f|avx512_vnni|avx512_bf16|amx_tile|amx_bf16|amx_int8' | tr '\n' ' ' || true)
echo "CPU: $cpu (${flags:-no avx2/avx512/amx}), $(nproc) cores online; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

common_desc="$task train, first $limit examples in file order, 1 epoch, batch $batch, max length $max_len, lr $lr, warm-up $warmup, seed $seed, $threads threads"
echo "ours: frontier-agent finetune ($common_desc)" >&2
"$python" "$tmp/measure.py" "$tmp/ours.measure.json" "$agent" finetune --base "$base" --task "$task" --data "$data" --out "$tmp/ours" --regime full \
    --epochs "$epochs" --lr "$lr" --batch "$batch" --max-seq-len "$max_len" --warmup-ratio "$warmup" --seed "$seed" \
    --limit "$limit" --threads "$threads" --no-shuffle --checkpoint-every 0 --eval-limit 32 \
    > "$tmp/ours-summary.json"

echo "torch: tools/torch_finetune.py ($common_desc); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$python" "$tmp/measure.py" "$tmp/torch.measure.json" "$python" "$root/tools/torch_finetune.py" --model "$base" --task "$task" --data "$data" --epochs "$epochs" --lr "$lr" \
    --batch "$batch" --max-len "$max_len" --warmup-ratio "$warmup" --seed "$seed" --threads "$threads" \
    --limit "$limit" --no-shuffle --log-every 0 --out-json "$tmp/torch.json"

CPU="$cpu" FLAGS="$flags" JSON_OUT="$json_out" THREADS="$threads" "$python" - "$tmp/ours-summary.json" "$tmp/ours/training.json" "$tmp/torch.json" "$tmp/ours.measure.json" "$tmp/torch.measure.json" <<'PY'
import json, os, sys

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def find(obj, names):
    """First value under any of `names`, searching nested objects breadth-first."""
    queue = [obj]
    while queue:
        o = queue.pop(0)
        if isinstance(o, dict):
            for n in names:
                if isinstance(o.get(n), (int, float)):
                    return float(o[n])
            queue += [v for v in o.values() if isinstance(v, dict)]
    return None

summary, record, torch, ours_run, torch_run = (load(p) for p in sys.argv[1:6])
ours = {
    "examples_per_s": find(summary, ["examples_per_s", "examplesPerS"]) or find(record, ["examples_per_s", "examplesPerS"]),
    "tokens_per_s": find(summary, ["tokens_per_s", "tokensPerS"]) or find(record, ["tokens_per_s", "tokensPerS"]),
    "peak_rss_mb": find(summary, ["peak_rss_mb", "peakRssMb"]) or find(record, ["peak_rss_mb", "peakRssMb"]),
    "training_s": find(summary, ["training_s", "trainingS"]) or find(record, ["training_s", "trainingS"]),
}
theirs = {
    "examples_per_s": torch.get("examples_per_second"),
    "tokens_per_s": torch.get("real_tokens_per_second"),
    "padded_tokens_per_s": torch.get("padded_tokens_per_second"),
    "peak_rss_mb": torch.get("peak_rss_mb"),
    "training_s": torch.get("train_seconds"),
}

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)

def ratio(a, b):
    return None if a is None or not b else a / b

rows = [
    ("examples/s", "examples_per_s", ".1f"),
    ("real tokens/s", "tokens_per_s", ".0f"),
    ("peak RSS (MB)", "peak_rss_mb", ".0f"),
    ("training time (s)", "training_s", ".1f"),
]
print(f"\nCPU: {os.environ['CPU']} [{os.environ['FLAGS'].strip() or 'no avx2/avx512/amx'}]; "
      f"torch {torch.get('torch', '?')}, {torch.get('threads', '?')} threads")
print("| | ours (frontier-agent) | PyTorch eager | ours / PyTorch |")
print("| --- | ---: | ---: | ---: |")
for label, key, spec in rows:
    print(f"| {label} | {fmt(ours[key], spec)} | {fmt(theirs[key], spec)} | {fmt(ratio(ours[key], theirs[key]), '.2f')} |")
print(f"| padded tokens/s (PyTorch) | | {fmt(theirs['padded_tokens_per_s'], '.0f')} | |")
def busy(run):
    return (run["cpu_s"] / run["wall_s"], run["others_cpu_s"] / run["wall_s"]) if run.get("wall_s") else (None, None)
(ob, oo), (tb, to) = busy(ours_run), busy(torch_run)
print(f"| cores kept busy by the run (whole process) | {fmt(ob, '.2f')} | {fmt(tb, '.2f')} | |")
print(f"| cores used by other processes meanwhile | {fmt(oo, '.2f')} | {fmt(to, '.2f')} | |")
disturbed = [n for n, o in (("ours", oo), ("PyTorch", to)) if o is not None and o > 0.1 * int(os.environ["THREADS"])]
if disturbed:
    print(f"\nWARNING: other processes used more than 10 % of {os.environ['THREADS']} cores during: "
          f"{', '.join(disturbed)}; the ratio is not trustworthy, run again on a quiet machine")
speed, memory = ratio(ours["examples_per_s"], theirs["examples_per_s"]), ratio(ours["peak_rss_mb"], theirs["peak_rss_mb"])
print(f"\ngoal: examples/s ratio >= 3 -> {fmt(speed, '.2f')} ({'met' if speed and speed >= 3 else 'NOT met'}); "
      f"peak RSS ratio <= 1 -> {fmt(memory, '.2f')} ({'met' if memory and memory <= 1 else 'NOT met'})")
if os.environ.get("JSON_OUT"):
    with open(os.environ["JSON_OUT"], "w") as f:
        json.dump({"cpu": os.environ["CPU"], "flags": os.environ["FLAGS"].split(), "ours": ours, "torch": theirs,
                   "ours_process": ours_run, "torch_process": torch_run,
                   "ours_summary": summary, "torch_full": torch, "ratio_examples_per_s": speed, "ratio_peak_rss": memory}, f, indent=1)
PY
