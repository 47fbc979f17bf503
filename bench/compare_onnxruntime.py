#!/usr/bin/env python3
"""Compare frontier-agent with ONNX Runtime on the same model, data and thread count, in one run.

    .venv-tools/bin/python bench/compare_onnxruntime.py                     # defaults below
    .venv-tools/bin/python bench/compare_onnxruntime.py --threads 1 --json results/bench-t1.json

Steps:
  1. Export the Hugging Face checkpoint (BertForSequenceClassification, fp32, eval) to ONNX once
     (legacy TorchScript exporter, opset 17, dynamic batch and sequence axes) into cache/onnx/.
     With --ort-fused (default on) also write a copy run through onnxruntime.transformers'
     BERT optimizer (fused Attention / SkipLayerNorm / EmbedLayerNorm / BiasGelu), the strongest
     stock ORT CPU configuration.
  2. ONNX Runtime, per variant: CPUExecutionProvider, intra_op_num_threads = --threads,
     inter_op_num_threads = 1, ORT_ENABLE_ALL, sequential execution.
       - throughput: SST-2 dev in dataset order, batches of --batch padded to the longest sequence in
         the batch (dynamic padding), one warm-up pass then --repeats timed passes; median.
       - latency: every sentence alone (batch 1, no padding), one warm-up pass, then one timed pass;
         p50 / p99 by nearest rank.
     Inputs are tokenized and padded before any timer starts, so ORT times cover model execution only.
     ORT logits are checked against PyTorch's.
  3. Ours: `frontier-agent bench --model M --task SST-2 --data D --batch B --threads T
     --max-seq-len S --repeats R`, whose stdout is one JSON object (see bench/README.md).
  4. A markdown table (stdout, and --out FILE) and optionally JSON (--json FILE).

Run it on an otherwise idle machine. CPU frequency still drifts; medians are reported.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOAL_THROUGHPUT_RATIO = 1.25  # ours / ORT examples per second, at least
GOAL_P50_RATIO = 0.8          # ours / ORT batch-1 p50 latency, at most


def default_shared() -> Path:
    return Path(os.environ.get("FRONTIER_SHARED", REPO.parent / "shared"))


def parse_args() -> argparse.Namespace:
    shared = default_shared()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", type=Path, default=REPO / ".build" / "release" / "frontier-agent",
                    help="frontier-agent binary (default .build/release/frontier-agent)")
    ap.add_argument("--model", type=Path, default=shared / "models" / "minilm-l6-sst2",
                    help="Hugging Face checkpoint folder (default ../shared/models/minilm-l6-sst2)")
    ap.add_argument("--data", type=Path, default=shared / "data" / "glue",
                    help="GLUE folder; SST-2 dev is DATA/SST-2/dev.tsv (default ../shared/data/glue)")
    ap.add_argument("--threads", type=int, default=2, help="compute threads for both engines (default 2)")
    ap.add_argument("--batch", type=int, default=32, help="batch size for the throughput pass (default 32)")
    ap.add_argument("--max-seq-len", type=int, default=128, help="truncation length in tokens (default 128)")
    ap.add_argument("--repeats", type=int, default=5, help="timed throughput passes after one warm-up (default 5)")
    ap.add_argument("--out", type=Path, help="also write the report here (JSON if the name ends in .json, else markdown)")
    ap.add_argument("--json", type=Path, help="write the full results as JSON here")
    ap.add_argument("--cache", type=Path, default=REPO / "cache" / "onnx",
                    help="where exported ONNX models are kept (default cache/onnx, git-ignored)")
    ap.add_argument("--ort-fused", dest="ort_fused", action="store_true", default=True,
                    help="also measure ORT on the graph fused by onnxruntime.transformers' BERT optimizer (default)")
    ap.add_argument("--no-ort-fused", dest="ort_fused", action="store_false",
                    help="measure only the plain exported graph under ORT_ENABLE_ALL")
    ap.add_argument("--skip-ort", action="store_true", help="run only our engine")
    ap.add_argument("--skip-ours", action="store_true", help="run only ONNX Runtime")
    ap.add_argument("--wait-idle", type=float, default=300.0,
                    help="before each measurement, wait up to this many seconds for other processes to go "
                         "idle (< 10%% CPU busy); 0 disables (default 300)")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure a phase again (up to this many times) when other processes used more than "
                         "5%% of the CPU during it (default 2)")
    ap.add_argument("--agent-timeout", type=float, default=3600.0, help="seconds before the agent run is abandoned")
    args = ap.parse_args()
    for name in ("threads", "batch", "max_seq_len", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


# --------------------------------------------------------------------------------------------------
# Data and tokenization

def read_sst2_dev(data_dir: Path) -> tuple[list[str], list[int]]:
    path = data_dir / "SST-2" / "dev.tsv"
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.read().split("\n")
    header = lines[0].split("\t")
    assert header == ["sentence", "label"], f"unexpected SST-2 header {header}"
    sentences, labels = [], []
    for line in lines[1:]:
        if not line:
            continue
        sentence, label = line.split("\t")
        sentences.append(sentence)  # raw field, not stripped (same text the agent reads)
        labels.append(int(label))
    return sentences, labels


def tokenize(model_dir: Path, sentences: list[str], max_len: int) -> list[list[int]]:
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    enc = tok(sentences, truncation=True, max_length=max_len, padding=False)
    return [list(ids) for ids in enc["input_ids"]]


def make_batches(seqs: list[list[int]], batch: int) -> list[dict[str, np.ndarray]]:
    """Dataset-order batches, each padded to its own longest sequence (dynamic padding)."""
    batches = []
    for start in range(0, len(seqs), batch):
        chunk = seqs[start:start + batch]
        n = max(len(s) for s in chunk)
        ids = np.zeros((len(chunk), n), dtype=np.int64)
        mask = np.zeros_like(ids)
        for b, s in enumerate(chunk):
            ids[b, :len(s)] = s
            mask[b, :len(s)] = 1
        batches.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    return batches


def single_inputs(seqs: list[list[int]]) -> list[dict[str, np.ndarray]]:
    out = []
    for s in seqs:
        ids = np.asarray([s], dtype=np.int64)
        out.append({"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
    return out


# --------------------------------------------------------------------------------------------------
# Export

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_torch_model(model_dir: Path):
    import torch
    from transformers import BertForSequenceClassification
    # Eager attention gives a plain MatMul/Softmax graph that ORT's BERT fusions recognise.
    model = BertForSequenceClassification.from_pretrained(
        str(model_dir), dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def export_onnx(model_dir: Path, cache: Path, fused: bool, log: list[str], load=None,
                outputs: dict[str, dict[int, str]] | None = None) -> dict[str, Path]:
    """Exports once into cache/; `load` (model_dir → eval-mode torch model) and `outputs` (name →
    dynamic axes) default to the sequence classifier and its logits."""
    import torch
    load = load or load_torch_model
    outputs = outputs or {"logits": {0: "batch"}}
    weights = model_dir / "model.safetensors"
    tag = f"{model_dir.name}-{sha256_file(weights)[:12]}-torch{torch.__version__.split('+')[0]}-opset17"
    folder = cache / tag
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "model.onnx"
    if not plain.exists():
        model = load(model_dir)
        dummy = torch.ones((2, 16), dtype=torch.long)
        axes = {"input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "token_type_ids": {0: "batch", 1: "sequence"},
                **outputs}
        tmp = folder / "model.onnx.tmp"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.onnx.export(model, (dummy, torch.ones_like(dummy), torch.zeros_like(dummy)), str(tmp),
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=list(outputs), dynamic_axes=axes, opset_version=17,
                              do_constant_folding=True, dynamo=False)
        for w in caught:
            first = str(w.message).splitlines()[0][:160]
            log.append(f"exporter {w.category.__name__}: {first}")
        tmp.rename(plain)
        log.append(f"exported {plain.relative_to(REPO) if plain.is_relative_to(REPO) else plain}")
        del model
    paths = {"ort": plain}
    if fused:
        fused_path = folder / "model.bert-fused.onnx"
        if not fused_path.exists():
            from onnxruntime.transformers import optimizer
            cfg = json.loads((model_dir / "config.json").read_text())
            opt = optimizer.optimize_model(str(plain), model_type="bert", num_heads=cfg["num_attention_heads"],
                                           hidden_size=cfg["hidden_size"], opt_level=0, use_gpu=False)
            stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            log.append(f"onnxruntime.transformers BERT fusions: {stats}")
            tmp = folder / "model.bert-fused.onnx.tmp"
            opt.save_model_to_file(str(tmp))
            tmp.rename(fused_path)
        paths["ort_fused"] = fused_path
    return paths


# --------------------------------------------------------------------------------------------------
# ONNX Runtime

def ort_session(path: Path, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def busy_fraction(seconds: float) -> float | None:
    """Share of all CPUs busy over the next `seconds` (Linux /proc/stat; None elsewhere)."""
    a = _cpu_times()
    if a is None:
        return None
    time.sleep(seconds)
    b = _cpu_times()
    total = b[0] - a[0]
    return 1.0 - (b[1] - a[1]) / total if total > 0 else 0.0


def wait_for_idle(max_wait: float, what: str, log: list[str], threshold: float = 0.10) -> None:
    """Wait until the machine is idle (< threshold busy over two consecutive 1 s samples)."""
    if max_wait <= 0:
        return
    start = time.monotonic()
    quiet = 0
    last = None
    announced = False
    while time.monotonic() - start < max_wait:
        last = busy_fraction(1.0)
        if last is None:
            return
        quiet = quiet + 1 if last < threshold else 0
        if quiet >= 2:
            waited = time.monotonic() - start
            if waited > 5:
                log.append(f"waited {waited:.0f} s for an idle machine before {what}")
            return
        if not announced and time.monotonic() - start > 3:
            print(f"waiting for other processes to go idle before {what} "
                  f"(CPU {last:.0%} busy; up to {max_wait:.0f} s, --wait-idle)", file=sys.stderr, flush=True)
            announced = True
    log.append(f"machine still busy ({last:.0%} of CPU) after waiting {max_wait:.0f} s before {what}: "
               f"timings are unreliable")


class Background:
    """Share of the machine's CPU used by *other* processes during a phase (Linux only).

    /proc/stat busy time minus this process's (and its waited-for children's) CPU time, over all CPUs.
    """

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.a = _cpu_times()
        self.own = self._own()

    @staticmethod
    def _own() -> float:
        import resource
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def own_cores(self, wall: float) -> float:
        """CPU seconds this process and its children used since construction, per wall second."""
        return (self._own() - self.own) / wall if wall > 0 else 0.0

    def fraction(self) -> float | None:
        b = _cpu_times()
        if self.a is None or b is None:
            return None
        total = b[0] - self.a[0]
        busy = total - (b[1] - self.a[1])
        own = (self._own() - self.own) * self.hz
        return max(0.0, (busy - own) / total) if total > 0 else 0.0


BUSY_LIMIT = 0.05  # share of the CPU other processes may use during a phase before it is retried


def measured_phase(what: str, fn, args, log: list[str], record: dict, cores: dict | None = None):
    """Run fn() after waiting for idle; redo it (up to --retries times) if other processes were busy.

    record[what]: share of the CPU other processes used; cores[what]: CPU seconds per wall second used
    by this process and its children during the phase (how many cores the engine really kept busy,
    spin-waiting included)."""
    result = None
    for attempt in range(args.retries + 1):
        wait_for_idle(args.wait_idle, what, log)
        bg = Background()
        t0 = time.perf_counter()
        result = fn()
        if cores is not None:
            cores[what] = bg.own_cores(time.perf_counter() - t0)
        f = bg.fraction()
        if f is None:
            return result
        record[what] = f
        if f <= BUSY_LIMIT:
            return result
        if attempt < args.retries:
            print(f"other processes used {f:.0%} of the CPU during {what}; measuring again", file=sys.stderr,
                  flush=True)
            log.append(f"{what}: attempt {attempt + 1} discarded, other processes used {f:.0%} of the CPU")
    log.append(f"other processes used {record[what]:.0%} of the CPU during {what}: timings are unreliable")
    return result


def nearest_rank(sorted_values: list[float], p: float) -> float:
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def useful_flops(seqs: list[list[int]], cfg: dict) -> float:
    """Multiply-add FLOPs on real tokens only: per layer 2·L·(4H² + 2HI) + 4·L²·H, plus pooler/classifier."""
    H, I, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    labels = len(cfg.get("id2label", {0: 0, 1: 1}))
    total = 0.0
    for s in seqs:
        L = len(s)
        total += layers * (2 * L * (4 * H * H + 2 * H * I) + 4 * L * L * H) + 2 * H * H + 2 * H * labels
    return total


def run_ort(name: str, path: Path, seqs, batches, singles, ref_logits: np.ndarray, labels: list[int],
            flops: float, args, log: list[str]) -> dict:
    sess = ort_session(path, args.threads)
    real_tokens = sum(len(s) for s in seqs)
    padded_tokens = sum(b["input_ids"].size for b in batches)
    background: dict[str, float] = {}

    def full_pass():
        return [sess.run(["logits"], b)[0] for b in batches]

    def throughput():
        out = np.concatenate(full_pass(), axis=0)  # warm-up pass, also used for the accuracy check
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            full_pass()
            times.append(time.perf_counter() - t0)
        return out, times

    def latency():
        for x in singles:  # warm-up
            sess.run(["logits"], x)
        lat = []
        for x in singles:
            t0 = time.perf_counter()
            sess.run(["logits"], x)
            lat.append((time.perf_counter() - t0) * 1e3)
        return lat

    cores: dict[str, float] = {}
    logits, times = measured_phase(f"{name} throughput", throughput, args, log, background, cores)
    lat = measured_phase(f"{name} latency", latency, args, log, background, cores)
    del sess
    med = statistics.median(times)
    lat_sorted = sorted(lat)
    preds = logits.argmax(axis=1)
    return {
        "engine": name,
        "model_file": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path),
        "examples": len(seqs),
        "real_tokens": real_tokens,
        "padded_tokens": padded_tokens,
        "pass_seconds": times,
        "throughput": {
            "examples_per_s": len(seqs) / med,
            "tokens_per_s": real_tokens / med,
            "useful_gflops_per_s": flops / med / 1e9,
        },
        "latency_ms": {
            "p50": nearest_rank(lat_sorted, 50),
            "p99": nearest_rank(lat_sorted, 99),
            "mean": statistics.fmean(lat),
        },
        "background_cpu_fraction": background,
        "cores_used": cores,
        "max_abs_diff_vs_torch": float(np.abs(logits - ref_logits).max()),
        "accuracy": float((preds == np.asarray(labels)).mean()),
    }


def torch_reference(model_dir: Path, batches, threads: int) -> np.ndarray:
    import torch
    torch.set_num_threads(threads)
    model = load_torch_model(model_dir)
    out = []
    with torch.no_grad():
        for b in batches:
            out.append(model(**{k: torch.from_numpy(v) for k, v in b.items()}).logits.numpy())
    del model
    return np.concatenate(out, axis=0)


# --------------------------------------------------------------------------------------------------
# Ours

def run_agent(args, log: list[str]) -> tuple[dict | None, str]:
    agent = args.agent
    if not (agent.exists() and os.access(agent, os.X_OK)):
        return None, (f"frontier-agent not found at {agent}: build it with `swift build -c release` "
                      f"(or pass --agent PATH); only ONNX Runtime was measured")
    cmd = [str(agent), "bench", "--model", str(args.model), "--task", "SST-2", "--data", str(args.data),
           "--batch", str(args.batch), "--threads", str(args.threads), "--max-seq-len", str(args.max_seq_len),
           "--repeats", str(args.repeats)]
    def run():
        print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=args.agent_timeout)
        except subprocess.TimeoutExpired:
            return None

    background: dict[str, float] = {}
    cores: dict[str, float] = {}
    proc = measured_phase("frontier-agent bench", run, args, log, background, cores)
    if proc is None:
        return None, f"frontier-agent bench did not finish within {args.agent_timeout:.0f} s"
    if proc.returncode != 0:
        return None, f"frontier-agent bench exited with status {proc.returncode}"
    text = proc.stdout.strip()
    try:
        result = json.loads(text)
    except json.JSONDecodeError:
        result = None
        for line in reversed(text.splitlines()):  # tolerate log lines before the JSON object
            line = line.strip()
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                    break
                except json.JSONDecodeError:
                    pass
        if result is None:
            return None, "could not parse frontier-agent bench output as JSON:\n" + text[-2000:]
    missing = [k for k in ("throughput", "latency_ms") if k not in result]
    if missing:
        return None, f"frontier-agent bench JSON lacks {missing}: {text[-2000:]}"
    result["background_cpu_fraction"] = background
    result["cores_used"] = cores
    return result, " ".join(cmd)


# --------------------------------------------------------------------------------------------------
# Report

def _fmt(x, digits=1):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def build_report(res: dict) -> str:
    cfg = res["config"]
    variants = [v for v in ("ort", "ort_fused") if res.get(v)]
    ours = res.get("ours")
    titles = {"ort": "ORT (ENABLE_ALL)", "ort_fused": "ORT (BERT-fused graph)"}
    lines = [
        f"## frontier-agent vs ONNX Runtime — {cfg['model']} on SST-2 dev ({res['examples']} sentences)",
        "",
        f"threads {cfg['threads']}, batch {cfg['batch']}, max-seq-len {cfg['max_seq_len']}, "
        f"repeats {cfg['repeats']} (median), onnxruntime {res['environment']['onnxruntime']}, "
        f"{res['environment']['cpu']}, {res['environment']['date_utc']}",
        "",
    ]
    header = ["metric"] + [titles[v] for v in variants] + (["ours"] if ours else [])
    rows = []

    def row(label, get_ort, get_ours, digits=1):
        r = [label] + [_fmt(get_ort(res[v]), digits) for v in variants]
        if ours:
            r.append(_fmt(get_ours(ours), digits))
        rows.append(r)

    row("throughput, examples/s", lambda o: o["throughput"]["examples_per_s"],
        lambda o: o["throughput"].get("examples_per_s"))
    row("throughput, real tokens/s", lambda o: o["throughput"]["tokens_per_s"],
        lambda o: o["throughput"].get("tokens_per_s"), 0)
    row("GFLOP/s (useful FLOPs)", lambda o: o["throughput"]["useful_gflops_per_s"],
        lambda o: o["throughput"].get("gflops_per_s"))
    row("batch-1 latency p50, ms", lambda o: o["latency_ms"]["p50"], lambda o: o["latency_ms"].get("p50"), 2)
    row("batch-1 latency p99, ms", lambda o: o["latency_ms"]["p99"], lambda o: o["latency_ms"].get("p99"), 2)
    row("batch-1 latency mean, ms", lambda o: o["latency_ms"]["mean"], lambda o: o["latency_ms"].get("mean"), 2)
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")

    for v in variants:
        o = res[v]
        used = ", ".join(f"{k.split(' ', 1)[1]} {c:.2f}" for k, c in o.get("cores_used", {}).items())
        lines.append(f"- {titles[v]}: max |logits − torch| = {o['max_abs_diff_vs_torch']:.2e}, "
                     f"accuracy {o['accuracy']:.4f}, padded tokens {o['padded_tokens']:,} for "
                     f"{o['real_tokens']:,} real; cores kept busy: {used}")
    if ours:
        # Older agents called these fraction_of_sgemm_peak / sgemm_peak_gflops.
        frac = ours.get("ratio_to_openblas_sgemm", ours.get("fraction_of_sgemm_peak"))
        peak = ours.get("openblas_sgemm_gflops", ours.get("sgemm_peak_gflops"))
        ob = ours.get("openblas") or {}
        used = ours.get("cores_used", {}).get("frontier-agent bench")
        lines.append(f"- ours: ratio to OpenBLAS sgemm {_fmt(frac, 3)} (OpenBLAS sgemm {_fmt(peak)} GFLOP/s), "
                     f"OpenBLAS core {ob.get('core', '?')}, OpenBLAS threads {ob.get('threads', '?')}; "
                     f"cores kept busy over the whole agent run (load, peak probe, both passes): {_fmt(used, 2)}")
        lines.append("")
        lines.append(f"| ratio | goal | " + " | ".join(titles[v] for v in variants) + " |")
        lines.append("| --- | --- | " + " | ".join("---:" for _ in variants) + " |")
        for key, label, goal in (("throughput", "ours / ORT examples/s", f"≥ {GOAL_THROUGHPUT_RATIO}"),
                                 ("p50", "ours / ORT p50 latency", f"≤ {GOAL_P50_RATIO}")):
            cells = []
            for v in variants:
                r = res["ratios"][v][key]
                ok = (r >= GOAL_THROUGHPUT_RATIO) if key == "throughput" else (r <= GOAL_P50_RATIO)
                cells.append(f"{r:.3f} {'✓' if ok else '✗'}")
            lines.append(f"| {label} | {goal} | " + " | ".join(cells) + " |")
    else:
        lines.append(f"- ours: not measured — {res['ours_note']}")
    if res.get("log"):
        lines.append("")
        lines.append("notes:")
        lines += [f"- {x}" for x in res["log"]]
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} logical CPUs)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    args = parse_args()
    args.model = args.model.resolve()
    args.data = args.data.resolve()
    log: list[str] = []

    warnings.filterwarnings("ignore", category=FutureWarning)
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    import onnxruntime


    sentences, labels = read_sst2_dev(args.data)
    seqs = tokenize(args.model, sentences, args.max_seq_len)
    batches = make_batches(seqs, args.batch)
    singles = single_inputs(seqs)
    cfg = json.loads((args.model / "config.json").read_text())
    flops = useful_flops(seqs, cfg)

    res = {
        "config": {"model": args.model.name, "model_dir": str(args.model), "data": str(args.data),
                   "task": "SST-2", "threads": args.threads, "batch": args.batch,
                   "max_seq_len": args.max_seq_len, "repeats": args.repeats},
        "examples": len(seqs),
        "environment": {"cpu": cpu_name(), "python": platform.python_version(),
                        "onnxruntime": onnxruntime.__version__, "transformers": transformers.__version__,
                        "date_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()},
        "goals": {"throughput_ratio_min": GOAL_THROUGHPUT_RATIO, "p50_ratio_max": GOAL_P50_RATIO},
        "log": log,
    }

    if not args.skip_ort:
        import torch
        res["environment"]["torch"] = torch.__version__
        paths = export_onnx(args.model, args.cache, args.ort_fused, log)
        ref = torch_reference(args.model, batches, args.threads)
        for name, path in paths.items():
            print(f"measuring {name} ({path.name}) ...", file=sys.stderr, flush=True)
            res[name] = run_ort(name, path, seqs, batches, singles, ref, labels, flops, args, log)

    if args.skip_ours:
        res["ours"], res["ours_note"] = None, "skipped (--skip-ours)"
    else:
        res["ours"], note = run_agent(args, log)
        if res["ours"] is None:
            res["ours_note"] = note
            print(note, file=sys.stderr)
        else:
            res["ours_command"] = note
            res["ratios"] = {}
            for v in ("ort", "ort_fused"):
                if res.get(v):
                    res["ratios"][v] = {
                        "throughput": res["ours"]["throughput"]["examples_per_s"] / res[v]["throughput"]["examples_per_s"],
                        "tokens": res["ours"]["throughput"]["tokens_per_s"] / res[v]["throughput"]["tokens_per_s"],
                        "p50": res["ours"]["latency_ms"]["p50"] / res[v]["latency_ms"]["p50"],
                        "p99": res["ours"]["latency_ms"]["p99"] / res[v]["latency_ms"]["p99"],
                    }
            if res["ours"].get("examples") not in (None, len(seqs)):
                log.append(f"ours reported {res['ours']['examples']} examples, ORT ran {len(seqs)}")
            real_tokens = sum(len(x) for x in seqs)
            if res["ours"].get("tokens") not in (None, real_tokens):
                log.append(f"ours reported {res['ours']['tokens']} tokens, the HF tokenizer gives {real_tokens}: "
                           f"the two engines did not see the same inputs")

    report = build_report(res)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n" if args.out.suffix == ".json" else report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
