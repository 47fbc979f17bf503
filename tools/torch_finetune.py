#!/usr/bin/env python3
"""Fine-tune a BERT-family checkpoint on a GLUE task with PyTorch eager on the CPU: the reference our
engine's `frontier-agent finetune` is compared with (accuracy and speed; bench/finetune-vs-torch.sh).

    .venv-tools/bin/python tools/torch_finetune.py --task SST-2 --eval --out-json /tmp/sst2.json
    .venv-tools/bin/python tools/torch_finetune.py --task MRPC --eval                 # 3 epochs by default
    .venv-tools/bin/python tools/torch_finetune.py --task SST-2 --limit 2048 --no-shuffle --threads 2 \\
        --out-json /tmp/torch.json                                                     # the speed bench

Defaults are the recipe of models/minilm-l6-sst2/training.json (dev accuracy 90.02 at seed 42 under
transformers): the base MiniLM-L6 (`scripts/fetch-base-model.sh` puts it in cache/models/all-minilm-l6-v2),
full fine-tuning, lr 8e-5, batch 32, max length 64, warm-up 6 % of the steps (ceil, as transformers'
`get_warmup_steps`), AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01, none on biases and LayerNorm
weights, as HF Trainer groups them), linear warm-up then linear decay to 0, gradient-norm clipping at 1.0,
the model's own dropout, 1 epoch (3 for MRPC, RTE, STS-B, CoLA and WNLI). Batches are padded to their
longest sequence (as `DataCollatorWithPadding`), which is what a PyTorch user does.

Order of examples: shuffled each epoch with a torch.Generator seeded with --seed (HF Trainer's sampler
draws from a generator seeded the same way, though not necessarily the same permutation); --no-shuffle
keeps the train file's order; --order FILE takes the example indices (0-based data rows of train.tsv, one
per line, e.g. written by our engine) and uses exactly that sequence (its length sets the examples per
epoch; repeated for every epoch).

Speed is measured over the training loop only (collation, forward, backward, clipping, optimizer and
scheduler steps); loading and tokenizing are timed apart. Peak RSS is the process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Folder name, text columns, label column, label decoding; None header = CoLA's headerless layout.
TASKS = {
    "cola": ("CoLA", (3, None), 1, "int"),
    "sst2": ("SST-2", ("sentence", None), "label", "int"),
    "mrpc": ("MRPC", ("#1 String", "#2 String"), "Quality", "int"),
    "qqp": ("QQP", ("question1", "question2"), "is_duplicate", "int"),
    "stsb": ("STS-B", ("sentence1", "sentence2"), "score", "float"),
    "mnli": ("MNLI", ("sentence1", "sentence2"), "gold_label", ["entailment", "neutral", "contradiction"]),
    "qnli": ("QNLI", ("question", "sentence"), "label", ["entailment", "not_entailment"]),
    "rte": ("RTE", ("sentence1", "sentence2"), "label", ["entailment", "not_entailment"]),
    "wnli": ("WNLI", ("sentence1", "sentence2"), "label", "int"),
}
LABEL_NAMES = {
    "cola": ["unacceptable", "acceptable"], "sst2": ["negative", "positive"],
    "mrpc": ["not_equivalent", "equivalent"], "qqp": ["not_duplicate", "duplicate"],
    "mnli": ["entailment", "neutral", "contradiction"], "qnli": ["entailment", "not_entailment"],
    "rte": ["entailment", "not_entailment"], "wnli": ["not_entailment", "entailment"],
}
DEFAULT_EPOCHS = {"sst2": 1, "qqp": 1, "mnli": 1, "qnli": 1}  # others: 3


def task_key(name: str) -> str:
    k = name.lower().replace("-", "").replace("_", "")
    if k not in TASKS:
        raise SystemExit(f"unknown task {name!r}; one of {', '.join(v[0] for v in TASKS.values())}")
    return k


def read_glue(task: str, path: Path):
    """(text_a, text_b or None, gold) per data row; raw fields, split on tabs without quote handling."""
    _, (col_a, col_b), col_y, decode = TASKS[task]
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if isinstance(col_a, int):  # CoLA: no header
        header, data = None, rows
        ia, ib, iy = col_a, None, col_y
    else:
        header, data = rows[0], rows[1:]
        ia, iy = header.index(col_a), header.index(col_y)
        ib = header.index(col_b) if col_b else None
    out = []
    for r in data:
        y = r[iy]
        if decode == "int":
            gold = int(y)
        elif decode == "float":
            gold = float(y)
        else:
            gold = decode.index(y)
        out.append((r[ia], r[ib] if ib is not None else None, gold))
    return out


def metrics(task: str, preds, golds) -> dict:
    import numpy as np
    p, y = np.asarray(preds), np.asarray(golds)
    if task == "stsb":
        from scipy.stats import pearsonr, spearmanr
        return {"pearson": float(pearsonr(p, y)[0]), "spearmanr": float(spearmanr(p, y)[0])}
    out = {"accuracy": float((p == y).mean())}
    if task in ("mrpc", "qqp"):
        tp = int(((p == 1) & (y == 1)).sum()); fp = int(((p == 1) & (y == 0)).sum()); fn = int(((p == 0) & (y == 1)).sum())
        out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if task == "cola":
        tp = float(((p == 1) & (y == 1)).sum()); tn = float(((p == 0) & (y == 0)).sum())
        fp = float(((p == 1) & (y == 0)).sum()); fn = float(((p == 0) & (y == 1)).sum())
        d = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        out = {"matthews_correlation": (tp * tn - fp * fn) / d if d else 0.0}
    return out


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "cache" / "models" / "all-minilm-l6-v2",
                    help="checkpoint folder: the base model (a fresh head is added) or a fine-tuned one "
                         "(default: cache/models/all-minilm-l6-v2, from scripts/fetch-base-model.sh)")
    ap.add_argument("--task", default="SST-2", help="GLUE task: SST-2, MRPC, CoLA, STS-B, RTE, QNLI, WNLI, ... (default SST-2)")
    ap.add_argument("--data", type=Path, default=None,
                    help="GLUE root with <TASK>/train.tsv and dev.tsv (default: $FRONTIER_SHARED/data/glue or ../shared/data/glue)")
    ap.add_argument("--epochs", type=float, default=None, help="default 1 (SST-2, QQP, MNLI, QNLI) or 3 (the small tasks)")
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--warmup-ratio", type=float, default=0.06)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own choice)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N train examples (file order)")
    ap.add_argument("--no-shuffle", action="store_true", help="train in the train file's order")
    ap.add_argument("--order", type=Path, default=None,
                    help="file of 0-based train example indices, one per line: exactly this order (every epoch)")
    ap.add_argument("--no-dropout", action="store_true", help="set every dropout probability to 0")
    ap.add_argument("--eval", action="store_true", help="dev metrics at the end")
    ap.add_argument("--save", type=Path, default=None, help="save the fine-tuned model (save_pretrained + tokenizer) here")
    ap.add_argument("--out-json", type=Path, default=None, help="write the results (speed, memory, metrics) as JSON here")
    ap.add_argument("--log-every", type=int, default=50, help="print the loss every N steps on stderr (0: never)")
    args = ap.parse_args()

    t_start = time.monotonic()
    import numpy as np
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    task = task_key(args.task)
    folder = TASKS[task][0]
    data = args.data or Path(os.environ.get("FRONTIER_SHARED", REPO.parent / "shared")) / "data" / "glue"
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS.get(task, 3)
    train = read_glue(task, data / folder / "train.tsv")
    if args.limit is not None:
        train = train[:args.limit]
    if args.order is not None and args.no_shuffle:
        raise SystemExit("--order and --no-shuffle: choose one")
    order = None
    if args.order is not None:
        order = [int(x) for x in args.order.read_text().split()]
        bad = [i for i in order if not 0 <= i < len(train)]
        if bad:
            raise SystemExit(f"--order: index {bad[0]} outside the {len(train)} train examples")

    # Model: a fresh head (seeded) on the base, or the fine-tuned head as it is.
    transformers.set_seed(args.seed)
    regression = task == "stsb"
    cfg = AutoConfig.from_pretrained(str(args.model))
    has_head = any(a.endswith(("ForSequenceClassification",)) for a in (cfg.architectures or []))
    if not has_head:
        if regression:
            cfg.num_labels = 1
            cfg.problem_type = "regression"
        else:
            names = LABEL_NAMES[task]
            cfg.num_labels = len(names)
            cfg.id2label = dict(enumerate(names))
            cfg.label2id = {n: i for i, n in enumerate(names)}
    if args.no_dropout:
        for key in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                    "dropout", "attention_dropout", "seq_classif_dropout"):
            if hasattr(cfg, key):
                setattr(cfg, key, 0.0)
    model = AutoModelForSequenceClassification.from_pretrained(str(args.model), config=cfg, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(args.model))
    t_loaded = time.monotonic()

    def encode(rows):
        a = [r[0] for r in rows]
        b = [r[1] for r in rows] if rows and rows[0][1] is not None else None
        enc = tok(a, b, truncation=True, max_length=args.max_len, padding=False, return_token_type_ids=True)
        return enc["input_ids"], enc["token_type_ids"]

    train_ids, train_types = encode(train)
    train_y = [r[2] for r in train]
    t_tokenized = time.monotonic()

    def collate(idx):
        n = max(len(train_ids[i]) for i in idx)
        ids = torch.zeros((len(idx), n), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for b, i in enumerate(idx):
            L = len(train_ids[i])
            ids[b, :L] = torch.tensor(train_ids[i])
            types[b, :L] = torch.tensor(train_types[i])
            mask[b, :L] = 1
        y = torch.tensor([train_y[i] for i in idx], dtype=torch.float32 if regression else torch.long)
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": y}

    per_epoch = len(order) if order is not None else len(train)
    steps_per_epoch = math.ceil(per_epoch / args.batch)
    whole_epochs = math.ceil(epochs)
    total_steps = math.ceil(steps_per_epoch * epochs)
    warmup = math.ceil(total_steps * args.warmup_ratio)

    no_decay = lambda n: n.endswith("bias") or "LayerNorm.weight" in n or "layer_norm.weight" in n  # noqa: E731
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([
        {"params": [p for n, p in params if not no_decay(n)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0},
    ], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = transformers.get_linear_schedule_with_warmup(opt, warmup, total_steps)
    gen = torch.Generator()
    gen.manual_seed(args.seed)

    model.train()
    losses, examples, real_tokens, padded_tokens, step = [], 0, 0, 0, 0
    t_train = time.monotonic()
    for epoch in range(whole_epochs):
        if order is not None:
            seq = order
        elif args.no_shuffle:
            seq = list(range(len(train)))
        else:
            seq = torch.randperm(len(train), generator=gen).tolist()
        for start in range(0, len(seq), args.batch):
            if step >= total_steps:
                break
            batch = collate(seq[start:start + args.batch])
            out = model(**batch)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            loss = float(out.loss.detach())
            losses.append(loss)
            step += 1
            examples += batch["input_ids"].shape[0]
            real_tokens += int(batch["attention_mask"].sum())
            padded_tokens += batch["input_ids"].numel()
            if args.log_every and step % args.log_every == 0:
                el = time.monotonic() - t_train
                print(f"step {step}/{total_steps} epoch {epoch} loss {loss:.4f} lr {sched.get_last_lr()[0]:.3e} "
                      f"{examples / el:.1f} ex/s", file=sys.stderr, flush=True)
    train_s = time.monotonic() - t_train
    rss_after_train = peak_rss_mb()

    result = {
        "engine": "pytorch-eager",
        "task": task,
        "model": str(args.model),
        "regime": "full",
        "train_examples": per_epoch,
        "epochs": epochs,
        "steps": step,
        "warmup_steps": warmup,
        "lr": args.lr,
        "batch_size": args.batch,
        "max_len": args.max_len,
        "warmup_ratio": args.warmup_ratio,
        "weight_decay": args.weight_decay,
        "max_grad_norm": args.max_grad_norm,
        "seed": args.seed,
        "order": ("train file order" if args.no_shuffle else f"--order {args.order}" if order is not None
                  else "shuffled each epoch (torch.randperm, generator seeded with --seed)"),
        "dropout": "off" if args.no_dropout else "model config",
        "padding": "dynamic, to the longest sequence of each batch (DataCollatorWithPadding)",
        "examples_per_second": examples / train_s,
        "real_tokens_per_second": real_tokens / train_s,
        "padded_tokens_per_second": padded_tokens / train_s,
        "real_tokens": real_tokens,
        "padded_tokens": padded_tokens,
        "train_seconds": train_s,
        "load_seconds": t_loaded - t_start,
        "tokenize_seconds": t_tokenized - t_loaded,
        "peak_rss_mb": rss_after_train,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "mean_loss_last_50": float(np.mean(losses[-50:])) if losses else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": threads,
        "cpu": cpu_model(),
    }

    if args.eval:
        dev = read_glue(task, data / folder / "dev.tsv")
        model.eval()
        preds = []
        with torch.no_grad():
            for start in range(0, len(dev), 64):
                rows = dev[start:start + 64]
                a = [r[0] for r in rows]
                b = [r[1] for r in rows] if rows[0][1] is not None else None
                enc = tok(a, b, truncation=True, max_length=args.max_len, padding="longest", return_tensors="pt")
                logits = model(**enc).logits
                preds += logits[:, 0].tolist() if regression else logits.argmax(dim=1).tolist()
        m = metrics(task, preds, [r[2] for r in dev])
        result["dev_examples"] = len(dev)
        result["dev_metrics"] = m
        if "accuracy" in m:
            result["dev_accuracy"] = m["accuracy"]
        print("dev: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items()), file=sys.stderr)

    if args.save is not None:
        model.save_pretrained(str(args.save))
        tok.save_pretrained(str(args.save))
        info = {k: result[k] for k in ("task", "epochs", "lr", "batch_size", "max_len", "seed")}
        info.update({"train_examples": per_epoch, "base": str(args.model), "torch": torch.__version__})
        if "dev_accuracy" in result:
            info["dev_accuracy"] = result["dev_accuracy"]
            info["dev_examples"] = result["dev_examples"]
        (args.save / "training.json").write_text(json.dumps(info, indent=1) + "\n")

    result["peak_rss_mb_process"] = peak_rss_mb()  # with evaluation and saving, if any
    result["wall_seconds"] = time.monotonic() - t_start
    text = json.dumps(result, indent=1)
    if args.out_json is not None:
        args.out_json.parent.mkdir(parents=True, exist_ok=True)
        args.out_json.write_text(text + "\n")
    print(f"{examples} examples in {train_s:.1f} s: {result['examples_per_second']:.1f} examples/s, "
          f"{result['real_tokens_per_second']:.0f} real tokens/s ({result['padded_tokens_per_second']:.0f} padded), "
          f"peak RSS {result['peak_rss_mb']:.0f} MB, {threads} threads, torch {torch.__version__}", file=sys.stderr)
    if args.out_json is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
