#!/usr/bin/env python3
"""Generate the golden files the Swift tests compare against (Tests/FrontierTests/Golden/).

Run from anywhere with the tools venv (see tools/README.md):

    .venv-tools/bin/python tools/make_goldens.py                # all goldens
    .venv-tools/bin/python tools/make_goldens.py --skip-shared  # only the random-weight ones

Random-weight models are built from `tools/prng.py` (the Swift tests rebuild bit-identical weights
from the same definition), so only their inputs and expected outputs are written. The real-model
goldens need the shared folder (`../shared` beside the checkout, or `--shared DIR`, or env
`FRONTIER_SHARED`); nothing from it is copied, only logits / token-id hashes derived from it.

CI never runs this script; its output is committed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import prng  # noqa: E402

import torch  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertTokenizerFast,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

SIZE_LIMIT = 1_000_000  # bytes, all golden files together
SEQ_LENGTHS = (3, 7, 16, 40, 130)
TWO_SEGMENT = (2, 4)  # indices (lengths 16 and 130) that get a 0-block then a 1-block of token types
N_HEAD_VALUES = 16  # "last_hidden_cls": first values of the final hidden state at position 0
N_LAYER_VALUES = 8  # "hidden_states_cls": first values at position 0 of every hidden state
PAD_VS_UNPAD_LIMIT = 1e-5
OWN_FILES = {"random_bert_base.json", "random_distilbert.json", "random_bert_qa.json",
             "random_bert_regression.json", "minilm_sst2_logits.json", "minilm_mrpc_logits.json",
             "tokenization.json"}


# --------------------------------------------------------------------------------------------------
# JSON output: float32 values written as their shortest round-trip decimal (<= 9 significant digits),
# lists of scalars on one line, everything else indented.

def f32(x) -> float:
    """Python float whose repr is the shortest decimal that round-trips the float32 value of x."""
    v = np.float32(x)
    if not np.isfinite(v):
        raise ValueError(f"non-finite value {v} in golden output")
    return float(str(v))


def f32_list(a) -> list:
    return [f32(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def _dump(obj, indent: int) -> str:
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(str(k))}: {_dump(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in obj):
            return json.dumps(list(obj), separators=(",", ":"), allow_nan=False)
        items = [pad + " " + _dump(x, indent + 1) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_json(path: Path, obj) -> None:
    text = _dump(obj, 0) + "\n"
    json.loads(text)  # sanity: valid JSON
    path.write_text(text, encoding="utf-8")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------
# Random-weight models

def persisted_tensors(model: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every state_dict entry that is a weight (buffers such as position_ids skipped)."""
    buffers = {name for name, _ in model.named_buffers()}
    out = []
    for name, t in model.state_dict().items():
        if name in buffers or name.endswith(("position_ids", "token_type_ids")):
            continue
        out.append((name, tuple(int(s) for s in t.shape)))
    return out


def fill_from_prng(model: torch.nn.Module) -> list[dict]:
    """Set every persisted tensor from tools/prng.py; returns the tensor list for the golden file."""
    tensors = persisted_tensors(model)
    values = {name: torch.from_numpy(prng.tensor_values(name, shape)) for name, shape in tensors}
    missing, unexpected = model.load_state_dict(values, strict=False)
    missing = [m for m in missing if not m.endswith(("position_ids", "token_type_ids"))]
    assert not missing and not unexpected, (missing, unexpected)
    described = []
    sd = model.state_dict()
    for name, shape in tensors:
        t = sd[name]
        assert t.dtype == torch.float32, (name, t.dtype)
        assert torch.equal(t, values[name]), f"{name} not set from the PRNG (tied or shared?)"
        flat = values[name].numpy().reshape(-1)
        described.append({
            "name": name,
            "shape": list(shape),
            "first": f32_list(flat[:4]),
            "sum": float(np.sum(flat, dtype=np.float64)),
        })
    return described


def make_inputs(with_token_types: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    seqs = []
    for k, n in enumerate(SEQ_LENGTHS):
        ids = rng.integers(0, 1000, size=n).tolist()
        if with_token_types and k in TWO_SEGMENT:
            first = n // 2
            types = [0] * first + [1] * (n - first)
        else:
            types = [0] * n
        seqs.append({"input_ids": ids, "token_type_ids": types})
    return seqs


def saved_config(model) -> dict:
    """config.json exactly as `model.save_pretrained` writes it (which also sets "architectures")."""
    model.config.architectures = [type(model).__name__]
    with tempfile.TemporaryDirectory() as d:
        model.config.save_pretrained(d)
        return json.loads((Path(d) / "config.json").read_text())


def padded_batch(inputs: list[dict], uses_token_types: bool):
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


def single(s: dict, uses_token_types: bool):
    ids = torch.tensor([s["input_ids"]])
    kw = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if uses_token_types:
        kw["token_type_ids"] = torch.tensor([s["token_type_ids"]])
    return kw


def run_random_model(name: str, model, description: str, uses_token_types: bool, qa: bool, out_dir: Path):
    model.eval()
    tensors = fill_from_prng(model)
    inputs = make_inputs(with_token_types=uses_token_types)
    result = {
        "description": description,
        "prng": "tools/prng.py (FNV-1a 64 seed per tensor name, SplitMix64 per element)",
        "config": saved_config(model),
        "tensors": tensors,
        "inputs": inputs,
    }
    if not uses_token_types:
        result["note"] = "token_type_ids are all zeros and ignored by this model (DistilBERT has no token type embeddings)"

    with torch.no_grad():
        batch = model(**padded_batch(inputs, uses_token_types), output_hidden_states=True)
        singles = [model(**single(s, uses_token_types), output_hidden_states=True) for s in inputs]

    max_diff = 0.0
    if qa:
        starts, ends, starts_u, ends_u = [], [], [], []
        for b, s in enumerate(inputs):
            L = len(s["input_ids"])
            st, en = batch.start_logits[b, :L], batch.end_logits[b, :L]
            su, eu = singles[b].start_logits[0], singles[b].end_logits[0]
            max_diff = max(max_diff, float((st - su).abs().max()), float((en - eu).abs().max()))
            starts.append(f32_list(st)); ends.append(f32_list(en))
            starts_u.append(f32_list(su)); ends_u.append(f32_list(eu))
        result["start_logits"] = starts
        result["end_logits"] = ends
        result["start_logits_unpadded"] = starts_u
        result["end_logits_unpadded"] = ends_u
    else:
        logits, logits_u = [], []
        for b in range(len(inputs)):
            lp, lu = batch.logits[b], singles[b].logits[0]
            max_diff = max(max_diff, float((lp - lu).abs().max()))
            logits.append(f32_list(lp)); logits_u.append(f32_list(lu))
        result["logits"] = logits
        result["logits_unpadded"] = logits_u
    result["max_abs_diff_padded_vs_unpadded"] = max_diff

    # Debug aids, all from the one-at-a-time (unpadded) run.
    last_cls, means, per_layer = [], [], []
    for b in range(len(inputs)):
        hs = singles[b].hidden_states  # (embeddings, layer 1, ..., layer N), each (1, L, H)
        last = hs[-1][0]
        last_cls.append(f32_list(last[0, :N_HEAD_VALUES]))
        means.append(f32(last.double().mean()))
        per_layer.append([f32_list(h[0, 0, :N_LAYER_VALUES]) for h in hs])
    result["debug_note"] = (
        "last_hidden_cls[s]: first 16 values of the final encoder hidden state (after the last LayerNorm) "
        "at position 0; hidden_mean[s]: mean over all tokens and features of that final hidden state; "
        "hidden_states_cls[s][k]: first 8 values at position 0 of hidden state k "
        "(k=0 embeddings output after LayerNorm, k=i output of layer i). All from the unpadded runs."
    )
    result["last_hidden_cls"] = last_cls
    result["hidden_mean"] = means
    result["hidden_states_cls"] = per_layer

    assert max_diff < PAD_VS_UNPAD_LIMIT, f"{name}: padded vs unpadded differ by {max_diff}"
    path = out_dir / name
    write_json(path, result)
    np_diff = numpy_reference_check(path)
    print(f"{name}: max |padded - unpadded| = {max_diff:.3e}; "
          f"max |float64 NumPy reference - golden| = {np_diff:.3e}")
    assert np_diff < 1e-4, f"{name}: the NumPy reference built from prng.py disagrees by {np_diff}"
    return path


# Independent check: a float64 NumPy forward pass built only from tools/prng.py and the config must
# reproduce the golden (so the PRNG spec plus the config are all a port needs).

def _np_layernorm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def _np_gelu(x):
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _np_attention(x, W, prefix, heads, q, k, v, o):
    L, H = x.shape
    d = H // heads
    proj = lambda n: (x @ W[prefix + n + ".weight"].T + W[prefix + n + ".bias"]).reshape(L, heads, d).transpose(1, 0, 2)
    Q, K, V = proj(q), proj(k), proj(v)
    s = Q @ K.transpose(0, 2, 1) / np.sqrt(d)
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    ctx = (s @ V).transpose(1, 0, 2).reshape(L, H)
    return ctx @ W[prefix + o + ".weight"].T + W[prefix + o + ".bias"]


def numpy_reference_check(path: Path) -> float:
    g = json.loads(path.read_text())
    c = g["config"]
    W = {t["name"]: prng.tensor_values(t["name"], t["shape"]).astype(np.float64) for t in g["tensors"]}
    worst = 0.0
    for si, s in enumerate(g["inputs"]):
        ids, tt = np.array(s["input_ids"]), np.array(s["token_type_ids"])
        L = len(ids)
        if c["model_type"] == "bert":
            p, eps = "bert.", c["layer_norm_eps"]
            x = (W[p + "embeddings.word_embeddings.weight"][ids] + W[p + "embeddings.position_embeddings.weight"][:L]
                 + W[p + "embeddings.token_type_embeddings.weight"][tt])
            x = _np_layernorm(x, W[p + "embeddings.LayerNorm.weight"], W[p + "embeddings.LayerNorm.bias"], eps)
            for layer in range(c["num_hidden_layers"]):
                q = f"{p}encoder.layer.{layer}."
                a = _np_attention(x, W, q + "attention.", c["num_attention_heads"],
                                  "self.query", "self.key", "self.value", "output.dense")
                x = _np_layernorm(x + a, W[q + "attention.output.LayerNorm.weight"],
                                  W[q + "attention.output.LayerNorm.bias"], eps)
                h = _np_gelu(x @ W[q + "intermediate.dense.weight"].T + W[q + "intermediate.dense.bias"])
                x = _np_layernorm(x + h @ W[q + "output.dense.weight"].T + W[q + "output.dense.bias"],
                                  W[q + "output.LayerNorm.weight"], W[q + "output.LayerNorm.bias"], eps)
            if "qa_outputs.weight" in W:
                o = x @ W["qa_outputs.weight"].T + W["qa_outputs.bias"]
                worst = max(worst, np.abs(o[:, 0] - g["start_logits"][si]).max(),
                            np.abs(o[:, 1] - g["end_logits"][si]).max())
            else:
                pooled = np.tanh(x[0] @ W[p + "pooler.dense.weight"].T + W[p + "pooler.dense.bias"])
                o = pooled @ W["classifier.weight"].T + W["classifier.bias"]
                worst = max(worst, np.abs(o - g["logits"][si]).max())
        else:  # distilbert: no token types, post-LN blocks, pre_classifier + ReLU on position 0
            p, eps = "distilbert.", 1e-12
            x = W[p + "embeddings.word_embeddings.weight"][ids] + W[p + "embeddings.position_embeddings.weight"][:L]
            x = _np_layernorm(x, W[p + "embeddings.LayerNorm.weight"], W[p + "embeddings.LayerNorm.bias"], eps)
            for layer in range(c["n_layers"]):
                q = f"{p}transformer.layer.{layer}."
                a = _np_attention(x, W, q + "attention.", c["n_heads"], "q_lin", "k_lin", "v_lin", "out_lin")
                x = _np_layernorm(x + a, W[q + "sa_layer_norm.weight"], W[q + "sa_layer_norm.bias"], eps)
                h = _np_gelu(x @ W[q + "ffn.lin1.weight"].T + W[q + "ffn.lin1.bias"])
                x = _np_layernorm(x + h @ W[q + "ffn.lin2.weight"].T + W[q + "ffn.lin2.bias"],
                                  W[q + "output_layer_norm.weight"], W[q + "output_layer_norm.bias"], eps)
            h = np.maximum(x[0] @ W["pre_classifier.weight"].T + W["pre_classifier.bias"], 0.0)
            o = h @ W["classifier.weight"].T + W["classifier.bias"]
            worst = max(worst, np.abs(o - g["logits"][si]).max())
        worst = max(worst, np.abs(x[0, :N_HEAD_VALUES] - g["last_hidden_cls"][si]).max())
    return float(worst)


def random_model_specs() -> list[dict]:
    """The four random-weight models: golden file name, model class, config, description, whether it
    uses token types, whether it has a span (QA) head. Shared with tools/make_training_goldens.py."""
    return [
        {"file": "random_bert_base.json", "cls": BertForSequenceClassification,
         "config": BertConfig(vocab_size=1000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                              intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
                              num_labels=3, layer_norm_eps=1e-12, hidden_act="gelu"),
         "description": "BertForSequenceClassification, BERT-base shape, vocab 1000, 3 labels, PRNG weights",
         "uses_token_types": True, "qa": False},
        {"file": "random_distilbert.json", "cls": DistilBertForSequenceClassification,
         "config": DistilBertConfig(vocab_size=1000, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                                    max_position_embeddings=512, num_labels=2, sinusoidal_pos_embds=False,
                                    activation="gelu"),
         "description": "DistilBertForSequenceClassification, 6 layers, dim 768, 2 labels, PRNG weights",
         "uses_token_types": False, "qa": False},
        {"file": "random_bert_qa.json", "cls": BertForQuestionAnswering,
         "config": BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=128, max_position_embeddings=512, type_vocab_size=2,
                              layer_norm_eps=1e-12, hidden_act="gelu"),
         "description": "BertForQuestionAnswering, hidden 64, 2 layers, 4 heads, PRNG weights",
         "uses_token_types": True, "qa": True},
        {"file": "random_bert_regression.json", "cls": BertForSequenceClassification,
         "config": BertConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=512, type_vocab_size=2,
                              num_labels=1, problem_type="regression", layer_norm_eps=1e-12, hidden_act="gelu"),
         "description": "BertForSequenceClassification, regression (num_labels 1), hidden 32, 2 layers, PRNG weights",
         "uses_token_types": True, "qa": False},
    ]


def random_goldens(out_dir: Path) -> list[Path]:
    torch.manual_seed(0)  # init values are overwritten, but keep construction deterministic anyway
    paths = []
    for spec in random_model_specs():
        m = spec["cls"]._from_config(spec["config"], attn_implementation="eager", dtype=torch.float32)
        paths.append(run_random_model(spec["file"], m, spec["description"], uses_token_types=spec["uses_token_types"],
                                      qa=spec["qa"], out_dir=out_dir))
    return paths


# --------------------------------------------------------------------------------------------------
# Shared data readers (raw fields, not stripped: SST-2 sentences keep their trailing space)

def read_sst2(path: Path) -> tuple[list[str], list[int]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["sentence", "label"], rows[0]
    rows = rows[1:]
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def read_mrpc(path: Path) -> tuple[list[str], list[str], list[int]]:
    with open(path, encoding="utf-8-sig", newline="") as f:  # strips the BOM
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], rows[0]
    rows = rows[1:]
    assert all(len(r) == 5 for r in rows)
    return [r[3] for r in rows], [r[4] for r in rows], [int(r[0]) for r in rows]


def read_squad(path: Path) -> tuple[list[str], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    questions, contexts, seen = [], [], set()
    for article in data:
        for para in article["paragraphs"]:
            ctx = para["context"]
            if ctx not in seen:
                seen.add(ctx)
                contexts.append(ctx)
            for qa in para["qas"]:
                questions.append(qa["question"])
    return questions, contexts


# --------------------------------------------------------------------------------------------------
# Real-model goldens

def load_real_model(model_dir: Path):
    # dtype=float32 explicitly: transformers 5 defaults to the stored dtype, and MRPC is stored fp16.
    model = BertForSequenceClassification.from_pretrained(
        str(model_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    for p in model.parameters():
        assert p.dtype == torch.float32
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    return model, tok


def real_logits(model, tok, texts_a, texts_b, max_length: int, batch: int = 32):
    logits, lengths = [], []
    with torch.no_grad():
        for start in range(0, len(texts_a), batch):
            a = texts_a[start:start + batch]
            b = texts_b[start:start + batch] if texts_b is not None else None
            enc = tok(a, b, truncation=True, max_length=max_length, padding="longest", return_tensors="pt")
            out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                        token_type_ids=enc["token_type_ids"])
            logits.append(out.logits.float().numpy())
            lengths.extend(int(x) for x in enc["attention_mask"].sum(dim=1))
    return np.concatenate(logits, axis=0), lengths


def real_goldens(shared: Path, out_dir: Path, inputs_used: dict) -> list[Path]:
    paths = []
    max_length = 128

    # (e) SST-2
    model_dir = shared / "models" / "minilm-l6-sst2"
    tsv = shared / "data" / "glue" / "SST-2" / "dev.tsv"
    inputs_used["models/minilm-l6-sst2/model.safetensors"] = sha256_file(model_dir / "model.safetensors")
    inputs_used["models/minilm-l6-sst2/tokenizer.json"] = sha256_file(model_dir / "tokenizer.json")
    inputs_used["models/minilm-l6-sst2/vocab.txt"] = sha256_file(model_dir / "vocab.txt")
    inputs_used["data/glue/SST-2/dev.tsv"] = sha256_file(tsv)
    sentences, labels = read_sst2(tsv)
    assert len(sentences) == 872
    model, tok = load_real_model(model_dir)
    logits, lengths = real_logits(model, tok, sentences, None, max_length)
    preds = logits.argmax(axis=1)
    acc = float((preds == np.array(labels)).mean())
    path = out_dir / "minilm_sst2_logits.json"
    write_json(path, {
        "model": "minilm-l6-sst2",
        "task": "SST-2",
        "data": "data/glue/SST-2/dev.tsv",
        "examples": len(sentences),
        "max_length": max_length,
        "batching": "batches of 32 in dataset order, padded to the longest in the batch, attention mask",
        "dtype": "float32",
        "logits": [f32_list(r) for r in logits],
        "predictions": [int(p) for p in preds],
        "labels": labels,
        "num_tokens": lengths,
        "accuracy": acc,
    })
    print(f"minilm_sst2_logits.json: accuracy {acc:.4f} over {len(sentences)}")
    paths.append(path)

    # (f) MRPC
    model_dir = shared / "models" / "minilm-l6-mrpc"
    tsv = shared / "data" / "glue" / "MRPC" / "dev.tsv"
    inputs_used["models/minilm-l6-mrpc/model.safetensors"] = sha256_file(model_dir / "model.safetensors")
    inputs_used["models/minilm-l6-mrpc/tokenizer.json"] = sha256_file(model_dir / "tokenizer.json")
    inputs_used["data/glue/MRPC/dev.tsv"] = sha256_file(tsv)
    a, b, labels = read_mrpc(tsv)
    assert len(a) == 408
    model, tok = load_real_model(model_dir)
    logits, lengths = real_logits(model, tok, a, b, max_length)
    preds = logits.argmax(axis=1)
    y = np.array(labels)
    acc = float((preds == y).mean())
    tp = int(((preds == 1) & (y == 1)).sum())
    fp = int(((preds == 1) & (y == 0)).sum())
    fn = int(((preds == 0) & (y == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    path = out_dir / "minilm_mrpc_logits.json"
    write_json(path, {
        "model": "minilm-l6-mrpc",
        "task": "MRPC",
        "data": "data/glue/MRPC/dev.tsv (text_a = '#1 String', text_b = '#2 String')",
        "examples": len(a),
        "max_length": max_length,
        "truncation": "longest_first",
        "batching": "batches of 32 in dataset order, padded to the longest in the batch, attention mask",
        "dtype": "float32 (fp16 weights upcast to fp32 at load)",
        "logits": [f32_list(r) for r in logits],
        "predictions": [int(p) for p in preds],
        "labels": labels,
        "num_tokens": lengths,
        "accuracy": acc,
        "f1": f1,
    })
    print(f"minilm_mrpc_logits.json: accuracy {acc:.4f}, F1 {f1:.4f} over {len(a)}")
    paths.append(path)
    return paths


def tokenization_golden(shared: Path, out_dir: Path, inputs_used: dict) -> Path:
    tok = BertTokenizerFast.from_pretrained(str(shared / "models" / "minilm-l6-sst2"))
    squad = shared / "data" / "squad" / "v1.1" / "dev-v1.1.json"
    inputs_used["data/squad/v1.1/dev-v1.1.json"] = sha256_file(squad)
    inputs_used.setdefault("data/glue/SST-2/dev.tsv", sha256_file(shared / "data/glue/SST-2/dev.tsv"))
    inputs_used.setdefault("data/glue/MRPC/dev.tsv", sha256_file(shared / "data/glue/MRPC/dev.tsv"))

    sst2, _ = read_sst2(shared / "data/glue/SST-2/dev.tsv")
    mrpc_a, mrpc_b, _ = read_mrpc(shared / "data/glue/MRPC/dev.tsv")
    questions, contexts = read_squad(squad)

    def encode(texts, pairs=None, offsets=False):
        return tok(texts, pairs, truncation=False, padding=False,
                   return_offsets_mapping=offsets, return_token_type_ids=True)

    def id_section(enc, n):
        ids = enc["input_ids"]
        assert len(ids) == n
        lines = "\n".join(" ".join(str(i) for i in row) for row in ids)
        return {
            "count": n,
            "total_tokens": sum(len(r) for r in ids),
            "max_tokens": max(len(r) for r in ids),
            "ids_sha256": sha256_text(lines),
            "first_ids": [list(map(int, r)) for r in ids[:20]],
        }

    def offset_section(enc, sec):
        offs = enc["offset_mapping"]
        lines = "\n".join(" ".join(f"{s}:{e}" for s, e in row) for row in offs)
        sec["offsets_sha256"] = sha256_text(lines)
        sec["first_offsets"] = [[[int(s), int(e)] for s, e in row] for row in offs[:3]]

    out = {
        "tokenizer": "BertTokenizerFast from models/minilm-l6-sst2 (uncased WordPiece, vocab 30522)",
        "settings": "add_special_tokens=True ([CLS] ... [SEP] or [CLS] a [SEP] b [SEP]), no truncation, no padding",
        "ids_sha256": "sha256 of UTF-8 '\\n'.join(' '.join(str(id) for id in ids) for each text), no trailing newline",
        "offsets_sha256": ("sha256 of UTF-8 '\\n'.join(' '.join(f'{start}:{end}' for each token) for each text); "
                           "offsets are Python str indices, i.e. Unicode code points (not UTF-16 units, not bytes); "
                           "special tokens have 0:0"),
        "texts": ("raw fields as read: TSV split on tab with no quote handling, MRPC BOM removed, "
                  "SST-2 sentences keep their trailing space; SQuAD contexts de-duplicated in file order"),
    }

    enc = encode(sst2, offsets=True)
    sec = id_section(enc, len(sst2)); offset_section(enc, sec)
    out["sst2_dev"] = sec

    enc = encode(mrpc_a, mrpc_b)
    sec = id_section(enc, len(mrpc_a))
    sec["type_ids_sha256"] = sha256_text("\n".join(" ".join(str(i) for i in r) for r in enc["token_type_ids"]))
    out["mrpc_dev"] = sec

    enc = encode(questions)
    out["squad_dev_questions"] = id_section(enc, len(questions))

    enc = encode(contexts, offsets=True)
    sec = id_section(enc, len(contexts)); offset_section(enc, sec)
    out["squad_dev_contexts"] = sec

    path = out_dir / "tokenization.json"
    write_json(path, out)
    print(f"tokenization.json: sst2 {len(sst2)}, mrpc {len(mrpc_a)}, squad questions {len(questions)}, "
          f"contexts {len(contexts)}")
    return path


# --------------------------------------------------------------------------------------------------

def default_shared() -> Path:
    return Path(os.environ.get("FRONTIER_SHARED", REPO.parent / "shared"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=default_shared(),
                    help="shared data folder (default: env FRONTIER_SHARED or ../shared beside the repo)")
    ap.add_argument("--out", type=Path, default=REPO / "Tests" / "FrontierTests" / "Golden",
                    help="output folder (default: Tests/FrontierTests/Golden)")
    ap.add_argument("--skip-shared", action="store_true",
                    help="only the random-weight goldens; keep existing real-model goldens untouched")
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_grad_enabled(False)
    prng.self_check()

    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    inputs_used: dict[str, str] = {}
    written = random_goldens(out_dir)

    shared = args.shared.resolve()
    have_shared = (shared / "models" / "minilm-l6-sst2" / "model.safetensors").exists()
    if args.skip_shared or not have_shared:
        if not args.skip_shared:
            print(f"shared folder not found at {shared}: real-model and tokenization goldens not regenerated")
        inputs_used = dict(old.get("shared_inputs_sha256", {}))
    else:
        written += real_goldens(shared, out_dir, inputs_used)
        written.append(tokenization_golden(shared, out_dir, inputs_used))

    files = {}
    for p in sorted(out_dir.glob("*.json")):
        if p.name == "manifest.json":
            continue
        files[p.name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        if p.name not in OWN_FILES:
            files[p.name]["note"] = "not written by make_goldens.py (listed for the total size check)"

    cmd = [os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable]
    cmd += [os.path.relpath(os.path.abspath(sys.argv[0]), REPO)] + sys.argv[1:]
    manifest = {
        "generated_by": "tools/make_goldens.py",
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
        "attention": "eager (HF reference implementation), fp32, eval mode",
        "prng_reference": prng.reference_values(),
        "files": files,
        "shared_inputs_sha256": inputs_used,
    }
    write_json(manifest_path, manifest)

    total = sum(f["bytes"] for f in files.values()) + manifest_path.stat().st_size
    for name, f in files.items():
        print(f"  {name:32s} {f['bytes']:>9,d} bytes")
    print(f"  {'manifest.json':32s} {manifest_path.stat().st_size:>9,d} bytes")
    print(f"total {total:,d} bytes (limit {SIZE_LIMIT:,d})")
    if total >= SIZE_LIMIT:
        print("ERROR: golden files exceed the size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
