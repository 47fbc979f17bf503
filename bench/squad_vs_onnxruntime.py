#!/usr/bin/env python3
"""Long sequences: SQuAD v1.1 dev features through frontier-agent and ONNX Runtime, same model, one run.

    .venv-tools/bin/python bench/squad_vs_onnxruntime.py                       # 2 threads, batch 32
    .venv-tools/bin/python bench/squad_vs_onnxruntime.py --questions 512 --out results/squad.md

What it measures (issue 18's long-sequence goal: ours ≥ 1.25× ONNX Runtime):
  1. The model: MiniLM-L6 (cache/models/all-minilm-l6-v2, scripts/fetch-base-model.sh) with a
     question-answering head drawn at random (torch seed 0), saved once as
     cache/models/minilm-l6-random-qa. A random head is enough: the time is the encoder's.
  2. The inputs: the first --questions dev questions featurised as evaluation does (HF fast
     tokenizer, question first, truncation "only_second", max length 384, stride 128, overflowing
     windows), in file order. Features of a SQuAD context run to 384 tokens, so attention (len²)
     weighs far more than on SST-2's 25-token sentences.
  3. ONNX Runtime: the legacy TorchScript export (opset 17, dynamic axes) and the BERT-fused graph
     of onnxruntime.transformers (fused Attention), CPUExecutionProvider, intra-op threads =
     --threads, ORT_ENABLE_ALL; batches of --batch features padded to the longest in the batch;
     one warm-up pass, --repeats timed passes, the median. Inputs are built before any timer.
  4. Ours: `frontier-agent bench --task squad --batch B --threads T --repeats R` on the same
     checkpoint and questions (its featurizer matches HF's on every dev question; sequences are
     packed without padding), whose JSON reports features/s; then the same with
     FRONTIER_ATTENTION=plain (the unblocked attention kernel) for what blocked attention is worth.
Prints a markdown table (and --out FILE). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import compare_onnxruntime as common  # noqa: E402  (export helpers, ORT session, CPU name)

GOAL = 1.25


def parse_args() -> argparse.Namespace:
    shared = common.default_shared()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", type=Path, default=REPO / ".build" / "release" / "frontier-agent")
    ap.add_argument("--base", type=Path, default=REPO / "cache" / "models" / "all-minilm-l6-v2")
    ap.add_argument("--data", type=Path, default=shared / "data" / "squad" / "v1.1",
                    help="folder holding dev-v1.1.json")
    ap.add_argument("--questions", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    return ap.parse_args()


def qa_model(base: Path) -> Path:
    out = REPO / "cache" / "models" / "minilm-l6-random-qa"
    if (out / "model.safetensors").exists():
        return out
    if not (base / "model.safetensors").exists():
        subprocess.run(["bash", str(REPO / "scripts" / "fetch-base-model.sh")], check=True, stdout=subprocess.DEVNULL)
    import torch
    from transformers import BertForQuestionAnswering
    torch.manual_seed(0)
    model = BertForQuestionAnswering.from_pretrained(str(base))
    tmp = out.with_suffix(".tmp")
    model.save_pretrained(str(tmp), safe_serialization=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (base / name).exists():
            shutil.copy(base / name, tmp / name)
    tmp.rename(out)
    return out


def features(model_dir: Path, data: Path, questions: int) -> list[tuple[list[int], list[int]]]:
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    rows = []
    for article in json.loads((data / "dev-v1.1.json").read_text())["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append((qa["question"].lstrip(), paragraph["context"]))
    rows = rows[:questions]
    enc = tok([q for q, _ in rows], [c for _, c in rows], truncation="only_second", max_length=384, stride=128,
              return_overflowing_tokens=True, padding=False)
    return [(list(i), list(t)) for i, t in zip(enc["input_ids"], enc["token_type_ids"])]


def batches(feats, batch: int):
    out = []
    for start in range(0, len(feats), batch):
        chunk = feats[start:start + batch]
        n = max(len(ids) for ids, _ in chunk)
        ids = np.zeros((len(chunk), n), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for b, (i, t) in enumerate(chunk):
            ids[b, :len(i)] = i
            types[b, :len(t)] = t
            mask[b, :len(i)] = 1
        out.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    return out


def export(model_dir: Path, log: list[str]) -> dict[str, Path]:
    """compare_onnxruntime's export, with the question-answering model and its two outputs."""
    import torch
    from transformers import BertForQuestionAnswering

    def load(folder: Path):
        return BertForQuestionAnswering.from_pretrained(str(folder), dtype=torch.float32,
                                                        attn_implementation="eager").eval()

    per_token = {0: "batch", 1: "sequence"}
    return common.export_onnx(model_dir, REPO / "cache" / "onnx", True, log, load=load,
                              outputs={"start_logits": per_token, "end_logits": per_token})


def time_ort(path: Path, data, threads: int, repeats: int) -> list[float]:
    session = common.ort_session(path, threads)
    for b in data:
        session.run(None, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for b in data:
            session.run(None, b)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    args = parse_args()
    log: list[str] = []
    model = qa_model(args.base)
    feats = features(model, args.data, args.questions)
    tokens = sum(len(i) for i, _ in feats)
    data = batches(feats, args.batch)
    padded = sum(b["input_ids"].size for b in data)
    paths = export(model, log)
    rows = {}
    for name, path in paths.items():
        times = time_ort(path, data, args.threads, args.repeats)
        rows[name] = {"features_per_s": len(feats) / statistics.median(times), "pass_seconds": times}
        print(f"{name}: {rows[name]['features_per_s']:.1f} features/s", file=sys.stderr)
    cmd = [str(args.agent), "bench", "--model", str(model), "--task", "squad", "--data", str(args.data),
           "--limit", str(args.questions), "--batch", str(args.batch), "--threads", str(args.threads),
           "--repeats", str(args.repeats)]
    print("running: " + " ".join(cmd), file=sys.stderr)
    ours = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout)
    # The same build with the unblocked attention kernel, to show what the blocked one is worth.
    plain_env = dict(os.environ, FRONTIER_ATTENTION="plain")
    plain = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=plain_env).stdout)
    if ours["examples"] != len(feats):
        log.append(f"feature counts differ: ours {ours['examples']}, HF {len(feats)}")
    ours_rate = ours["throughput"]["examples_per_s"]
    lines = [
        f"SQuAD v1.1 dev, first {args.questions} questions = {len(feats)} features, {tokens} tokens "
        f"({padded} with ORT's padding); batch {args.batch}, {args.threads} threads; "
        f"{common.cpu_name()} ({platform.machine()}); median of {args.repeats} passes.",
        "",
        "| engine | features/s | ours ÷ engine |",
        "| --- | ---: | ---: |",
        f"| frontier-agent (ours) | {ours_rate:.1f} | — |",
        f"| frontier-agent, plain attention kernel (FRONTIER_ATTENTION=plain) | {plain['throughput']['examples_per_s']:.1f} | "
        f"{ours_rate / plain['throughput']['examples_per_s']:.2f}× |",
    ]
    for name, row in rows.items():
        label = "ORT (ENABLE_ALL)" if name == "ort" else "ORT (BERT-fused graph)"
        ratio = ours_rate / row["features_per_s"]
        lines.append(f"| {label} | {row['features_per_s']:.1f} | {ratio:.2f}× {'(goal met)' if ratio >= GOAL else f'(goal {GOAL}×)'} |")
    lines += [""] + [f"- {entry}" for entry in log]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
