#!/usr/bin/env python3
"""Measures every efficiency technique on one model and task, in one run on one machine.

For each setting it runs `frontier-agent run` (a fresh worker process per trial: accuracy on
the dev set, then the offline scenario for at least --min-duration seconds) and writes a
Markdown table with accuracy, examples/s, speed-up over the dense fp32 baseline measured in
the same run, counted FLOPs per example and the non-zero parameter count. The baseline is
measured first and last; the table uses the median of its runs and prints the spread, so
drift on a shared machine shows.

    swift build -c release
    python3 bench/techniques.py --threads 2 --out docs/techniques.md

Raw results go to results/techniques/*.json (git-ignored).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTINGS = [
    ("dense fp32 (baseline)", []),
    ("magnitude 50% (global)", ["--sparsity", "0.5"]),
    ("magnitude 70% (global)", ["--sparsity", "0.7"]),
    ("magnitude 70%, sparse kernel forced", ["--sparsity", "0.7", "--sparse-kernel", "always"]),
    ("magnitude 90% (global)", ["--sparsity", "0.9"]),
    ("magnitude 90%, dense kernel", ["--sparsity", "0.9", "--sparse-kernel", "never"]),
    ("heads: 4 of 12 per layer removed", ["--prune-heads", "4"]),
    ("heads: 8 of 12 per layer removed", ["--prune-heads", "8"]),
    ("FFN: 50% of neurons removed", ["--prune-ffn", "0.5"]),
    ("layers: keep bottom 4 of 6", ["--keep-layers", "4"]),
    ("layers: keep 3 of 6 (alternate)", ["--keep-layers", "3", "--layer-strategy", "alternate"]),
    ("early exit, entropy < 0.1", ["--early-exit-entropy", "0.1"]),
    ("early exit, entropy < 0.3", ["--early-exit-entropy", "0.3"]),
    ("tokens: keep 50% from layer 2", ["--token-keep", "0.5", "--token-prune-from", "2"]),
    ("int8 dynamic", ["--quantize", "int8"]),
    ("magnitude 50% + int8", ["--sparsity", "0.5", "--quantize", "int8"]),
    ("magnitude 90% + int8", ["--sparsity", "0.9", "--quantize", "int8"]),
    ("fp16 weights", ["--quantize", "fp16"]),
    ("bf16", ["--quantize", "bf16"]),
    ("max 32 tokens", ["--max-seq-len", "32"]),
    ("dense fp32 (baseline, again)", []),
]


def run(agent, args, common, label, out_dir, index):
    command = [agent, "run"] + common + args + ["--trial-id", label]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"{label}: frontier-agent run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    with open(os.path.join(out_dir, f"{index:02d}.json"), "w") as f:
        json.dump(result, f, indent=1)
    status = result.get("status")
    print(f"{label}: {status} in {time.time() - started:.1f} s", file=sys.stderr)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = os.environ.get("FRONTIER_SHARED", os.path.join(ROOT, "..", "shared"))
    parser.add_argument("--agent", default=os.path.join(ROOT, ".build", "release", "frontier-agent"))
    parser.add_argument("--model", default=os.path.join(shared, "models", "minilm-l6-sst2"))
    parser.add_argument("--task", default="SST-2")
    parser.add_argument("--data", default=os.path.join(shared, "data", "glue"))
    parser.add_argument("--threads", default="2")
    parser.add_argument("--batch", default="32")
    parser.add_argument("--min-duration", default="4")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "techniques.md"))
    options = parser.parse_args()

    out_dir = os.path.join(ROOT, "results", "techniques")
    os.makedirs(out_dir, exist_ok=True)
    common = ["--model", options.model, "--task", options.task, "--data", options.data, "--threads", options.threads,
              "--batch", options.batch, "--scenario", "offline", "--min-duration", options.min_duration,
              "--idle-seconds", "0", "--energy", "estimated"]
    results = [(label, args, run(options.agent, args, common, label, out_dir, i)) for i, (label, args) in enumerate(SETTINGS)]

    baselines = [r["throughput_examples_per_s"] for label, _, r in results if label.startswith("dense fp32") and r["status"] == "ok"]
    base = statistics.median(baselines)
    base_flops = next(r["flops_per_example"] for label, _, r in results if label.startswith("dense fp32"))
    # The path each kernel family takes on this CPU, from a short `frontier-agent bench`.
    probe = subprocess.run([options.agent, "bench", "--model", options.model, "--task", options.task, "--data", options.data,
                            "--limit", "8", "--repeats", "1", "--threads", "1"], capture_output=True, text=True)
    paths = json.loads(probe.stdout).get("kernel_paths", {}) if probe.returncode == 0 else {}
    first = results[0][2]
    device = first["device"]

    lines = [
        f"# Efficiency techniques on {os.path.basename(options.model)}, {options.task} dev",
        "",
        f"Generated by `python3 bench/techniques.py --threads {options.threads}` on {device['cpu_model']} "
        f"({device['logical_cpus']} logical CPUs, device class `{device['device_class']}`), engine {first['engine_version']} "
        f"at {(device.get('git_commit') or 'unknown')[:10]}, {time.strftime('%Y-%m-%d')}. "
        f"CPU features the kernels dispatch on: {', '.join(device.get('cpu_flags') or ['none of those recorded'])}.",
        f"Batch {options.batch}, {options.threads} threads, offline scenario of at least {options.min_duration} s per trial, "
        "each trial in a fresh worker process. Speed-up is against the median of the dense fp32 baseline runs "
        f"of the same run ({', '.join(f'{b:.0f}' for b in baselines)} examples/s). FLOPs are counted by the engine "
        "as it runs (2 per multiply-add in GEMMs and attention).",
        "",
        "| technique | accuracy | examples/s | speed-up | GFLOP/example | FLOP ratio | non-zero params | kernels | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for label, args, r in results:
        if r["status"] != "ok":
            lines.append(f"| {label} | failed | | | | | | | {r.get('failure_reason', '')[:80]} |")
            continue
        accuracy = r["metrics"].get("accuracy", float("nan"))
        speed = r["throughput_examples_per_s"]
        flops = r["flops_per_example"]
        applied = r.get("techniques") or {}
        kernels = ", ".join(f"{k} {v}" for k, v in sorted((applied.get("kernels") or {"dense": 24}).items()))
        notes = list(applied.get("notes") or [])
        if r.get("mean_exit_layer") is not None:
            notes.append(f"mean exit layer {r['mean_exit_layer']:.2f}")
        note = "; ".join(notes)
        lines.append(
            f"| {label} | {accuracy:.4f} | {speed:.0f} | {speed / base:.2f}× | {flops / 1e9:.3f} | {base_flops / flops:.2f}× "
            f"| {r.get('non_zero_parameter_count') or r.get('parameter_count')} | {kernels} | {note} |")
    lines += ["", "`FLOP ratio` is the baseline's FLOPs over the technique's: the speed-up it could give if time followed FLOPs.", ""]
    if paths:
        lines += ["## Kernel paths on this CPU", "",
                  "Each kernel family picks its code path at run time from the CPU's features "
                  "(`frontier-agent bench`'s `kernel_paths`); `kernels` in the table above counts the encoder's "
                  "linear layers by the form they ran in.", "",
                  "| kernel family | path |", "| --- | --- |"]
        lines += [f"| {family} | {path} |" for family, path in sorted(paths.items())]
        lines.append("")
    with open(options.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
