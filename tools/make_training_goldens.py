#!/usr/bin/env python3
"""Generate the training goldens (Tests/FrontierTests/Golden/training/): PyTorch autograd gradients of
one step with dropout off, and a 200-step AdamW loss trajectory, for the Swift training engine to match.

Run with the tools venv (see tools/README.md):

    .venv-tools/bin/python tools/make_training_goldens.py                    # every case
    .venv-tools/bin/python tools/make_training_goldens.py --skip-shared      # only the random-weight ones
    .venv-tools/bin/python tools/make_training_goldens.py --full /tmp/grads  # also every gradient, complete,
                                                                             # as safetensors (not committed)

Cases (one JSON file each):

    grad_minilm_sst2.json          models/minilm-l6-sst2 (shared), 4 SST-2 dev sentences, cross-entropy
    grad_random_bert_base.json     BERT-base shape, PRNG weights (random_bert_base.json's model), 3 labels
    grad_random_distilbert.json    DistilBERT, PRNG weights (random_distilbert.json's model), 2 labels
    grad_random_bert_qa.json       BertForQuestionAnswering, PRNG weights, start/end cross-entropy
    grad_random_bert_regression.json  num_labels 1, MSE
    adamw200_minilm_sst2.json      200 AdamW steps from models/minilm-l6-sst2 on 4 fixed SST-2 train batches

Random-weight models are the four of tools/make_goldens.py (`random_model_specs()`), with every
dropout probability set to 0 and weights from tools/prng.py; the Swift tests rebuild them from `config`
and `tensors`. Gradients are computed in train mode with all dropouts 0, on one batch padded to its
longest sequence with an attention mask (padding positions get exactly zero gradient, so this equals
running the sequences unpadded); the loss is the one transformers computes (mean over the batch).

Each gradient case runs twice through torch.autograd: in fp32 (as PyTorch users run it) and with the
model cast to float64 (same fp32 weights and inputs). The float64 gradients are the ones written: they
are the exact gradients of the fp32 model, so a comparison measures our engine's error alone. Per
parameter (HF state_dict name, in `named_parameters()` order, every trainable parameter including the
embedding tables) the file has the shape, max |g|, the L2 norm, the values at deterministic flat indices
(see `sample_indices`), and `fp32_error`, how far PyTorch's own fp32 gradient is from the reference
(max abs difference over max abs). That last number matters: on the 12-layer random BERT-base the
attention collapses towards uniform, the query and key gradients of the top layers are tiny differences
of large terms, and PyTorch's fp32 gradient there is off by up to 13 % (layer 11 query bias); no fp32
engine can match those to 1e-4. Gradients that are exactly zero mathematically (attention key biases,
the QA span bias) are marked `exact_zero`.

The AdamW trajectory is torch's fp32 run (--adamw-fp64 also runs it in float64 and records how far fp32
rounding alone moves the loss: 4.6e-7 at most here).

The shared folder is ../shared beside the checkout, or --shared DIR, or env FRONTIER_SHARED; nothing
from it is copied (token ids of the few sentences used, and row indices, are written).

CI never runs this script; its output is committed with its own manifest.json.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import logging
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prng  # noqa: E402
from make_goldens import (  # noqa: E402
    REPO,
    default_shared,
    f32,
    f32_list,
    fill_from_prng,
    make_inputs,
    random_model_specs,
    read_sst2,
    saved_config,
    sha256_file,
    write_json,
)

import torch  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    BertForSequenceClassification,
    BertTokenizerFast,
    get_linear_schedule_with_warmup,
)

T0 = time.monotonic()
SIZE_LIMIT = 1_000_000  # bytes, all training golden files together (manifest included)
N_EVEN = 32              # evenly spaced flat indices per parameter
N_ROWS = 16              # embedding tables: rows touched by the batch, evenly spaced among them ...
COLS_PER_ROW = 2         # ... and this many columns in each
MAX_LEN = 64             # SST-2 cases: tokenizer max_length (truncation)
QA_LENGTH = 24           # every QA sequence has this length (see grad_random_bert_qa.json's description)

ADAMW = {
    "steps": 200, "lr": 5e-5, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
    "warmup_steps": 20, "max_grad_norm": 1.0, "batch_size": 8, "batches": 4,
}

SAMPLING = (f"flat row-major indices: round(linspace(0, n-1, {N_EVEN})) (all indices when n <= {N_EVEN}), plus the "
            "first index of max |g|; for embedding tables (word, position, token type) also, in up to "
            f"{N_ROWS} rows that the batch uses (evenly spaced among the sorted used rows), {COLS_PER_ROW} "
            "columns per row r: (r*131) mod H and (r*131 + H/2) mod H; sorted, unique")

REFERENCE_NOTE = (
    "gradients, loss and logits are torch.autograd's in float64: the same fp32 weights and inputs, the model cast with "
    ".double(), so they are the exact gradients of the fp32 model up to float64 rounding (written rounded to float32). "
    "fp32_error per parameter is max |g_torch_fp32 - g_fp64| / max |g_fp64|: how far PyTorch's own fp32 autograd is "
    "from this reference. Where it is large (deep random BERT-base: attention collapses towards uniform, so query/key "
    "gradients are tiny differences of large terms) no fp32 engine can get within 1e-4 of the reference; compare those "
    "parameters against a multiple of fp32_error")

# Gradients that are exactly 0 mathematically, so the reference value is float64 rounding noise (~1e-18)
# and a relative comparison is meaningless; marked "exact_zero" and compared in absolute terms.
#  - the attention key bias: adding a constant to every key shifts each query's scores by one constant,
#    which softmax ignores;
#  - in QA models, the span layer's bias and the last encoder block's output LayerNorm bias: each shifts
#    every start (end) logit of a sequence by one constant, which the softmax over positions ignores.
ZERO_GRADIENT_SUFFIXES = ("attention.self.key.bias", "attention.k_lin.bias")
QA_ZERO_GRADIENT_SUFFIXES = ("qa_outputs.bias",)
ZERO_GRADIENT_NOTE = ("parameters with \"exact_zero\": true (attention key biases; in QA models the span layer's bias "
                      "and the last block's output LayerNorm bias) have a "
                      "gradient of exactly 0 mathematically (a softmax ignores a constant added to all its inputs); the "
                      "reference values are float64 rounding noise, so compare them in absolute terms: ours' max |g| "
                      "<= 1e-6 x the largest max_abs of the model's parameters")

NO_DECAY_RULE = 'no weight decay on parameters whose name ends in "bias" or contains "LayerNorm.weight" (HF Trainer grouping)'


# --------------------------------------------------------------------------------------------------
# Models

def zero_dropout(config) -> None:
    """Every dropout probability of a BERT / DistilBERT config (and its heads) set to 0."""
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                "dropout", "attention_dropout", "seq_classif_dropout", "qa_dropout"):
        if hasattr(config, key):
            setattr(config, key, 0.0)


def check_no_dropout(model: torch.nn.Module) -> None:
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Dropout):
            assert mod.p == 0.0, f"{name}: dropout {mod.p}"
        # attention dropout in the eager attention functions reads these attributes
        for attr in ("dropout_prob", "attention_dropout"):
            v = getattr(mod, attr, None)
            if isinstance(v, float):
                assert v == 0.0, f"{name}.{attr} = {v}"


def load_shared_model(model_dir: Path):
    cfg = transformers.AutoConfig.from_pretrained(str(model_dir))
    zero_dropout(cfg)
    model = BertForSequenceClassification.from_pretrained(
        str(model_dir), config=cfg, dtype=torch.float32, attn_implementation="eager")
    check_no_dropout(model)
    model.train()
    return model


def random_model(spec: dict):
    cfg = copy.deepcopy(spec["config"])
    zero_dropout(cfg)
    torch.manual_seed(0)
    model = spec["cls"]._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    tensors = fill_from_prng(model)
    check_no_dropout(model)
    model.train()
    return model, [{"name": t["name"], "shape": t["shape"]} for t in tensors]


# --------------------------------------------------------------------------------------------------
# Batches

def padded(inputs: list[dict], uses_token_types: bool) -> dict:
    n = max(len(s["input_ids"]) for s in inputs)
    ids = torch.zeros((len(inputs), n), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for b, s in enumerate(inputs):
        L = len(s["input_ids"])
        ids[b, :L] = torch.tensor(s["input_ids"])
        types[b, :L] = torch.tensor(s["token_type_ids"])
        mask[b, :L] = 1
    kw = {"input_ids": ids, "attention_mask": mask}
    if uses_token_types:
        kw["token_type_ids"] = types
    return kw


def encode_unpadded(tok, texts: list[str]) -> list[dict]:
    enc = tok(texts, truncation=True, max_length=MAX_LEN, padding=False, return_token_type_ids=True)
    return [{"input_ids": list(map(int, i)), "token_type_ids": list(map(int, t))}
            for i, t in zip(enc["input_ids"], enc["token_type_ids"])]


def used_rows(name: str, inputs: list[dict]):
    if name.endswith("word_embeddings.weight"):
        return sorted({i for s in inputs for i in s["input_ids"]})
    if name.endswith("position_embeddings.weight"):
        return list(range(max(len(s["input_ids"]) for s in inputs)))
    if name.endswith("token_type_embeddings.weight"):
        return sorted({t for s in inputs for t in s["token_type_ids"]})
    return None


# --------------------------------------------------------------------------------------------------
# Gradients

def sample_indices(shape, grad: np.ndarray, rows) -> list[int]:
    n = grad.size
    if n <= N_EVEN:
        idx = set(range(n))
    else:
        idx = {int(i) for i in np.round(np.linspace(0, n - 1, N_EVEN)).astype(np.int64)}
    idx.add(int(np.argmax(np.abs(grad.reshape(-1)))))
    if rows is not None and len(shape) == 2:
        H = int(shape[1])
        pick = rows if len(rows) <= N_ROWS else [rows[int(k)] for k in np.round(np.linspace(0, len(rows) - 1, N_ROWS))]
        for r in pick:
            for c in range(COLS_PER_ROW):
                idx.add(int(r) * H + (int(r) * 131 + c * (H // 2)) % H)
    return sorted(idx)


def run_backward(model, batch: dict, targets: dict):
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        out = model(**batch, **targets)
        out.loss.backward()
    return out


def gradient_case(model, inputs: list[dict], uses_token_types: bool, targets: dict, head: str) -> tuple[dict, dict]:
    """One backward pass in fp32 (PyTorch as users run it) and in float64 (the reference written)."""
    batch = padded(inputs, uses_token_types)
    out32 = run_backward(model, batch, targets)
    m64 = copy.deepcopy(model).double()
    t64 = {k: (v.double() if v.is_floating_point() else v) for k, v in targets.items()}
    out64 = run_backward(m64, batch, t64)
    g32 = {n: p.grad.detach() for n, p in model.named_parameters()}
    g64 = {n: p.grad.detach() for n, p in m64.named_parameters()}
    assert list(g32) == list(g64)
    largest = max(float(g.abs().max()) for g in g64.values())
    zero_names = ZERO_GRADIENT_SUFFIXES
    if head == "question_answering":
        last_norm_bias = [n for n in g64 if n.endswith(("output.LayerNorm.bias", "output_layer_norm.bias"))
                          and "attention" not in n][-1]
        zero_names = zero_names + QA_ZERO_GRADIENT_SUFFIXES + (last_norm_bias,)

    entries, worst, worst_name = [], 0.0, ""
    for name, ref in g64.items():
        scale = float(ref.abs().max())
        entry = {"name": name, "shape": list(ref.shape)}
        if scale <= 1e-12 * largest:
            assert name.endswith(zero_names), f"{name}: unexpected all-zero gradient ({scale} vs {largest})"
            entry["exact_zero"] = True
        else:
            assert not name.endswith(zero_names), f"{name}: expected an exactly zero gradient ({scale} vs {largest})"
        err = float((g32[name].double() - ref).abs().max()) / scale if scale > 0 else 0.0
        if not entry.get("exact_zero") and err > worst:
            worst, worst_name = err, name
        flat = ref.numpy().reshape(-1)
        idx = sample_indices(ref.shape, flat, used_rows(name, inputs))
        entries.append({
            **entry,
            "max_abs": f32(scale),
            "l2": f32(np.sqrt(np.sum(flat ** 2))),
            "fp32_error": float(f"{err:.3g}") if not entry.get("exact_zero") else None,
            "samples": {"index": idx, "value": f32_list(flat[idx])},
        })
        if entry.get("exact_zero"):
            del entries[-1]["fp32_error"]

    loss32, loss64 = float(out32.loss.detach()), float(out64.loss.detach())
    result = {"reference": REFERENCE_NOTE, "loss": f32(loss64), "loss_torch_fp32": f32(loss32)}
    if head == "question_answering":
        result["start_logits"] = [f32_list(out64.start_logits[b, :len(s["input_ids"])].detach()) for b, s in enumerate(inputs)]
        result["end_logits"] = [f32_list(out64.end_logits[b, :len(s["input_ids"])].detach()) for b, s in enumerate(inputs)]
    else:
        result["logits"] = [f32_list(out64.logits[b].detach()) for b in range(len(inputs))]
    result["torch_fp32"] = {
        "worst_fp32_error": worst, "worst_parameter": worst_name,
        "parameters_with_fp32_error_over_1e-4": [e["name"] for e in entries if e.get("fp32_error", 0) > 1e-4],
        "loss_relative_error": abs(loss32 - loss64) / abs(loss64),
    }
    result["largest_max_abs"] = f32(largest)
    result["sampling"] = SAMPLING
    result["exact_zero"] = ZERO_GRADIENT_NOTE
    result["gradients"] = entries
    full = {"fp32": {n: g.clone().contiguous() for n, g in g32.items()},
            "fp64": {n: g.clone().contiguous() for n, g in g64.items()}}
    return result, full


HEAD_LOSS = {
    "sequence_classification": "cross-entropy of the logits against labels, mean over the batch (transformers' single_label_classification)",
    "regression": "MSE of logits.squeeze() against the float labels, mean over the batch (transformers' regression)",
    "question_answering": ("(CE(start_logits, start_positions) + CE(end_logits, end_positions)) / 2, each cross-entropy a mean "
                           "over the batch, softmax over the sequence positions (transformers' BertForQuestionAnswering)"),
}

DROPOUT_NOTE = ("train mode with every dropout probability 0 (hidden, attention, classifier / seq_classif / qa dropouts); "
                "eager attention, fp32; the batch is one tensor padded to its longest sequence with an attention mask, "
                "inputs are recorded unpadded")


# --------------------------------------------------------------------------------------------------
# Cases

def random_cases(out_dir: Path, full_dir: Path | None) -> list[Path]:
    specs = {s["file"]: s for s in random_model_specs()}
    paths = []

    def write_case(file: str, spec: dict, description: str, inputs, targets_json: dict, targets: dict, head: str):
        model, tensors = random_model(spec)
        result, full = gradient_case(model, inputs, spec["uses_token_types"], targets, head)
        obj = {
            "description": description,
            "prng": "tools/prng.py (FNV-1a 64 seed per tensor name, SplitMix64 per element)",
            "model_of": spec["file"],
            "config": saved_config(model),
            "tensors": tensors,
            "head": head,
            "loss_definition": HEAD_LOSS[head],
            "mode": DROPOUT_NOTE,
            "inputs": inputs,
            **targets_json,
            **result,
        }
        if not spec["uses_token_types"]:
            obj["note"] = "token_type_ids are all zeros and ignored by this model (DistilBERT has no token type embeddings)"
        path = out_dir / file
        write_json(path, obj)
        report(file, result)
        if full_dir is not None:
            save_full(full_dir / file.replace(".json", ".safetensors"), full)
        paths.append(path)

    # BERT-base shape, 3 labels: the five sequences of random_bert_base.json (lengths 3..130).
    inputs = make_inputs(with_token_types=True)
    labels = [0, 1, 2, 1, 0]
    write_case("grad_random_bert_base.json", specs["random_bert_base.json"],
               "Gradients of BertForSequenceClassification, BERT-base shape (12 x 768), vocab 1000, 3 labels, PRNG weights",
               inputs, {"labels": labels}, {"labels": torch.tensor(labels)}, "sequence_classification")

    inputs = make_inputs(with_token_types=False)
    labels = [1, 0, 1, 1, 0]
    write_case("grad_random_distilbert.json", specs["random_distilbert.json"],
               "Gradients of DistilBertForSequenceClassification, 6 x 768, vocab 1000, 2 labels, PRNG weights",
               inputs, {"labels": labels}, {"labels": torch.tensor(labels)}, "sequence_classification")

    # QA: every sequence the same length. transformers' QA loss softmaxes over every position of the
    # padded batch (padding included: the start/end logits of padding are not masked), while our engine
    # packs sequences without padding, so the two losses agree only without padding.
    rng = np.random.default_rng(1)
    inputs, starts, ends = [], [], []
    question = 8
    for _ in range(4):
        ids = rng.integers(1, 1000, size=QA_LENGTH).tolist()
        types = [0] * question + [1] * (QA_LENGTH - question)
        inputs.append({"input_ids": ids, "token_type_ids": types})
        s = int(rng.integers(question, QA_LENGTH - 1))
        e = int(rng.integers(s, min(s + 5, QA_LENGTH - 1) + 1))
        starts.append(s); ends.append(e)
    write_case("grad_random_bert_qa.json", specs["random_bert_qa.json"],
               ("Gradients of BertForQuestionAnswering (hidden 64, 2 layers, 4 heads), PRNG weights. All sequences in the "
                f"batch have the SAME length ({QA_LENGTH}): transformers' QA loss softmaxes over every position of the padded "
                "batch, padding included, while our engine packs sequences without padding, so the losses agree only when "
                "nothing is padded"),
               inputs, {"start_positions": starts, "end_positions": ends},
               {"start_positions": torch.tensor(starts), "end_positions": torch.tensor(ends)}, "question_answering")

    inputs = make_inputs(with_token_types=True)
    labels = [0.5, -1.0, 2.0, 0.25, 1.5]
    write_case("grad_random_bert_regression.json", specs["random_bert_regression.json"],
               "Gradients of BertForSequenceClassification with num_labels 1 (regression, MSE), hidden 32, 2 layers, PRNG weights",
               inputs, {"labels": labels}, {"labels": torch.tensor(labels, dtype=torch.float32)}, "regression")
    return paths


def pick_dev_sentences(lengths: list[int], labels: list[int]) -> list[int]:
    """First dev row (file order) in each length bucket: 4 sentences of different lengths."""
    rows = []
    for lo, hi in ((5, 9), (14, 20), (26, 34), (44, MAX_LEN)):
        rows.append(next(i for i, n in enumerate(lengths) if lo <= n <= hi))
    assert len({labels[i] for i in rows}) == 2, "both labels wanted in the batch"
    return rows


def minilm_grad_case(shared: Path, out_dir: Path, full_dir: Path | None, inputs_used: dict) -> Path:
    model_dir = shared / "models" / "minilm-l6-sst2"
    tsv = shared / "data" / "glue" / "SST-2" / "dev.tsv"
    for rel in ("models/minilm-l6-sst2/model.safetensors", "models/minilm-l6-sst2/tokenizer.json",
                "models/minilm-l6-sst2/config.json", "data/glue/SST-2/dev.tsv"):
        inputs_used[rel] = sha256_file(shared / rel)
    sentences, labels = read_sst2(tsv)
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    all_enc = encode_unpadded(tok, sentences)
    rows = pick_dev_sentences([len(e["input_ids"]) for e in all_enc], labels)
    inputs = [all_enc[i] for i in rows]
    batch_labels = [labels[i] for i in rows]
    model = load_shared_model(model_dir)
    result, full = gradient_case(model, inputs, True, {"labels": torch.tensor(batch_labels)}, "sequence_classification")
    path = out_dir / "grad_minilm_sst2.json"
    write_json(path, {
        "description": ("Gradients of models/minilm-l6-sst2 (BertForSequenceClassification, 6 x 384) on 4 SST-2 dev "
                        "sentences of different lengths"),
        "model": "models/minilm-l6-sst2",
        "data": "data/glue/SST-2/dev.tsv",
        "rows": rows,
        "row_note": "0-based data rows (header excluded): the first sentence in file order of 5-9, 14-20, 26-34 and 44-64 tokens",
        "tokenization": f"BertTokenizerFast of the model, [CLS]/[SEP], truncation to max_length {MAX_LEN}",
        "head": "sequence_classification",
        "loss_definition": HEAD_LOSS["sequence_classification"],
        "mode": DROPOUT_NOTE,
        "inputs": inputs,
        "labels": batch_labels,
        **result,
    })
    report(path.name, result)
    if full_dir is not None:
        save_full(full_dir / "grad_minilm_sst2.safetensors", full)
    return path


def adamw_case(shared: Path, out_dir: Path, inputs_used: dict, with_fp64: bool) -> Path:
    model_dir = shared / "models" / "minilm-l6-sst2"
    tsv = shared / "data" / "glue" / "SST-2" / "train.tsv"
    inputs_used["data/glue/SST-2/train.tsv"] = sha256_file(tsv)
    for rel in ("models/minilm-l6-sst2/model.safetensors", "models/minilm-l6-sst2/tokenizer.json",
                "models/minilm-l6-sst2/config.json"):
        inputs_used[rel] = sha256_file(shared / rel)
    sentences, labels = read_sst2(tsv)
    bs, nb = ADAMW["batch_size"], ADAMW["batches"]
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    enc = encode_unpadded(tok, sentences[:bs * nb])
    batches = [{"rows": list(range(k * bs, (k + 1) * bs)),
                "inputs": enc[k * bs:(k + 1) * bs],
                "labels": labels[k * bs:(k + 1) * bs]} for k in range(nb)]

    def train(dtype):
        torch.manual_seed(0)
        model = load_shared_model(model_dir).to(dtype)
        decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm.weight" in n)]
        no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm.weight" in n]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": ADAMW["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"], foreach=False)
        sched = get_linear_schedule_with_warmup(opt, ADAMW["warmup_steps"], ADAMW["steps"])
        steps = []
        for step in range(ADAMW["steps"]):
            b = batches[step % nb]
            out = run_backward(model, padded(b["inputs"], True), {"labels": torch.tensor(b["labels"])})
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), ADAMW["max_grad_norm"])
            lr = opt.param_groups[0]["lr"]
            opt.step()
            sched.step()
            steps.append((float(out.loss.detach()), float(norm), lr))
        return steps, model

    steps, _ = train(torch.float32)
    obj = {
        "description": ("200 AdamW steps of models/minilm-l6-sst2 (all parameters trainable, dropout 0) on 4 fixed batches "
                        "of 8 SST-2 train sentences used in order 0,1,2,3,0,1,..."),
        "model": "models/minilm-l6-sst2",
        "data": "data/glue/SST-2/train.tsv",
        "tokenization": f"BertTokenizerFast of the model, [CLS]/[SEP], truncation to max_length {MAX_LEN}",
        "loss_definition": HEAD_LOSS["sequence_classification"],
        "mode": DROPOUT_NOTE,
        "optimizer": {
            "name": "torch.optim.AdamW (foreach=False, amsgrad=False)",
            **{k: ADAMW[k] for k in ("lr", "betas", "eps", "weight_decay")},
            "no_decay": NO_DECAY_RULE,
            "update": ("per step t = 1, 2, ...: p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                       "p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)"),
        },
        "schedule": {
            "name": "transformers.get_linear_schedule_with_warmup",
            "warmup_steps": ADAMW["warmup_steps"], "total_steps": ADAMW["steps"],
            "lr_at_step": "s = 0-based step: lr * s / warmup for s < warmup, else lr * max(0, (total - s) / (total - warmup))",
            "note": "step 0 runs with lr 0: the parameters do not move, but AdamW's moments and step count t are updated",
        },
        "clipping": {"max_grad_norm": ADAMW["max_grad_norm"],
                     "how": "torch.nn.utils.clip_grad_norm_ over all parameters (L2 of all gradients together), "
                            "g *= min(1, max_norm / (norm + 1e-6)), before the optimizer step"},
        "steps": ADAMW["steps"],
        "batch_order": "step s uses batches[s % 4]",
        "batches": batches,
        "loss": [f32(s[0]) for s in steps],
        "grad_norm": [f32(s[1]) for s in steps],
        "lr": [s[2] for s in steps],
        "per_step": "loss: of the forward before the update; grad_norm: before clipping; lr: the one the update used",
    }
    if with_fp64:
        steps64, _ = train(torch.float64)
        diffs = [abs(a[0] - b[0]) for a, b in zip(steps, steps64)]
        obj["fp32_vs_fp64"] = {"max_abs_loss_difference": max(diffs),
                               "at_step": int(np.argmax(diffs)),
                               "note": "the same 200 steps in float64: how far fp32 rounding alone moves the loss"}
    path = out_dir / "adamw200_minilm_sst2.json"
    write_json(path, obj)
    print(f"[{time.monotonic() - T0:6.1f} s] {path.name}: loss {steps[0][0]:.6f} -> {steps[-1][0]:.6f}, grad norm {steps[0][1]:.4f} -> {steps[-1][1]:.4f}"
          + (f"; fp32 vs fp64 max |dloss| {obj['fp32_vs_fp64']['max_abs_loss_difference']:.2e}" if with_fp64 else ""))
    return path


# --------------------------------------------------------------------------------------------------

def report(name: str, result: dict) -> None:
    c = result["torch_fp32"]
    zeros = sum(1 for g in result["gradients"] if g.get("exact_zero"))
    print(f"[{time.monotonic() - T0:6.1f} s] {name}: loss {result['loss']}, {len(result['gradients'])} parameters "
          f"({zeros} exact zeros); torch fp32 vs fp64: worst {c['worst_fp32_error']:.2e} ({c['worst_parameter']}), "
          f"{len(c['parameters_with_fp32_error_over_1e-4'])} parameters over 1e-4, loss {c['loss_relative_error']:.2e}")


def save_full(path: Path, full: dict) -> None:
    """DIR/<case>.safetensors: torch's fp32 gradients under their parameter names; <case>.fp64.safetensors: the reference."""
    from safetensors.torch import save_file
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(full["fp32"], str(path))
    save_file(full["fp64"], str(path.with_suffix(".fp64.safetensors")))
    print(f"  full gradients -> {path} and {path.with_suffix('.fp64.safetensors').name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=default_shared(),
                    help="shared data folder (default: env FRONTIER_SHARED or ../shared beside the repo)")
    ap.add_argument("--out", type=Path, default=REPO / "Tests" / "FrontierTests" / "Golden" / "training",
                    help="output folder (default: Tests/FrontierTests/Golden/training)")
    ap.add_argument("--skip-shared", action="store_true",
                    help="only the random-weight cases; keep the existing MiniLM goldens untouched")
    ap.add_argument("--adamw-fp64", action="store_true",
                    help="also run the 200 AdamW steps in float64 and record how far fp32 rounding moves the loss "
                         "(several minutes more)")
    ap.add_argument("--full", type=Path, metavar="DIR",
                    help="also write every case's complete gradients as DIR/<case>.safetensors (not committed)")
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    prng.self_check()

    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    inputs_used: dict[str, str] = {}
    random_cases(out_dir, args.full)
    shared = args.shared.resolve()
    have_shared = (shared / "models" / "minilm-l6-sst2" / "model.safetensors").exists()
    if args.skip_shared or not have_shared:
        if not args.skip_shared:
            print(f"shared folder not found at {shared}: MiniLM training goldens not regenerated")
        inputs_used = dict(old.get("shared_inputs_sha256", {}))
    else:
        minilm_grad_case(shared, out_dir, args.full, inputs_used)
        adamw_case(shared, out_dir, inputs_used, with_fp64=args.adamw_fp64)

    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(out_dir.glob("*.json")) if p.name != "manifest.json"}
    cmd = [os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable]
    cmd += [os.path.relpath(os.path.abspath(sys.argv[0]), REPO)] + sys.argv[1:]
    manifest = {
        "generated_by": "tools/make_training_goldens.py",
        "command": " ".join(shlex.quote(c) for c in cmd),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
        "platform": f"{platform.system()} {platform.machine()}",
        "torch_threads": torch.get_num_threads(),
        "attention": "eager (HF reference implementation), fp32, train mode with every dropout probability 0",
        "prng_reference": prng.reference_values(),
        "files": files,
        "shared_inputs_sha256": dict(sorted(inputs_used.items())),
    }
    write_json(manifest_path, manifest)

    total = sum(f["bytes"] for f in files.values()) + manifest_path.stat().st_size
    for name, f in files.items():
        print(f"  {name:36s} {f['bytes']:>9,d} bytes")
    print(f"  {'manifest.json':36s} {manifest_path.stat().st_size:>9,d} bytes")
    print(f"total {total:,d} bytes (limit {SIZE_LIMIT:,d})")
    if total >= SIZE_LIMIT:
        print("ERROR: training golden files exceed the size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
