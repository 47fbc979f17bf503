#!/usr/bin/env python3
"""Generate Tests/FrontierTests/Golden/squad_random_qa.json: SQuAD v1.1 as transformers evaluates it.

    /work/pyenv/bin/python tools/make_squad_golden.py            # or .venv-tools/bin/python
    .venv-tools/bin/python tools/make_squad_golden.py --shared /data/shared --out /tmp/golden

What the Swift side (Tests/FrontierTests/SquadTests.swift) must reproduce, all from the real uncased vocab
(`models/minilm-l6-sst2`) and `data/squad/v1.1/dev-v1.1.json` of the shared folder:

1. `dev_features`: the features of **all** 10,570 dev questions exactly as `run_qa.py`'s
   `prepare_validation_features` builds them with `BertTokenizerFast` (question left-stripped, question
   first, truncation "only_second", max_length 384, stride 128, overflowing tokens, offset mapping with
   None outside the context), as one sha256 over every feature's ids, token types and offsets.
2. `questions`: 50 dev questions (see `choose_questions`: the first question of 18 evenly spread
   contexts that overflow into several windows and of every context that needs three, a question
   with leading whitespace, and questions spread evenly over the file) through a tiny random
   `BertForQuestionAnswering` (hidden 32, 2 layers, 2 heads, vocab 30522, weights from tools/prng.py)
   and a verbatim port of run_qa's `postprocess_qa_predictions` (utils_qa.py, v1 path): per question
   the per-feature input-id hashes and the chosen answer text (plus feature / token span / score). A
   question whose best answer beats the next different text by less than 1e-4 is swapped for the
   next question of the file (`replaced_for_margin`): it would test float rounding, not semantics.
3. `metrics`: the official SQuAD v1.1 `evaluate-v1.1.py` (normalize_answer, exact match, token F1,
   max over golds, x100) on synthetic predictions for every dev question, and a hash of every gold
   answer's normalised form.

Logits are taken from each feature **unpadded** (batch of one), so the top-20 start/end indices are
chosen among the feature's real tokens only. run_qa's default `pad_to_max_length=True` pads every
feature to 384 and lets the pad positions' logits compete for the top-20 (they are skipped afterwards
but take slots); `answers_differing_if_padded_to_384` records how many of the 50 answers that changes
for this random model (a trained model puts very low logits on padding, so it rarely matters there).

Nothing from the shared folder is copied: only hashes, ids of questions and the answer strings (spans
of dev contexts, which the Swift test reads from the same file).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import re
import string
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_goldens as mg  # noqa: E402  (write_json, f32, fill_from_prng, saved_config, sha256_file)
import prng  # noqa: E402

import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast  # noqa: E402

MAX_LENGTH = 384
DOC_STRIDE = 128
MAX_QUERY_LENGTH = 64  # BERT run_squad's setting; run_qa has none. Every dev question is shorter.
N_BEST = 20
MAX_ANSWER_LENGTH = 30
N_QUESTIONS = 50
N_MULTI_WINDOW = 18  # questions drawn from contexts that overflow into several windows
MIN_MARGIN = 1e-4
SIZE_LIMIT = 200_000


def sha256_text(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------
# Data

def read_dev(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    examples = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                examples.append({
                    "id": qa["id"],
                    "question": qa["question"],
                    "context": paragraph["context"],
                    "answers": {"text": [a["text"] for a in qa["answers"]],
                                "answer_start": [a["answer_start"] for a in qa["answers"]]},
                })
    return examples


# --------------------------------------------------------------------------------------------------
# run_qa.py: prepare_validation_features (pad_on_right, fast tokenizer), without padding

def prepare_validation_features(tokenizer, examples: list[dict], padding=False) -> dict:
    questions = [e["question"].lstrip() for e in examples]
    contexts = [e["context"] for e in examples]
    tokenized = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=MAX_LENGTH,
        stride=DOC_STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
    )
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    tokenized["example_id"] = []
    tokenized["example_index"] = []
    for i in range(len(tokenized["input_ids"])):
        sequence_ids = tokenized.sequence_ids(i)
        sample_index = sample_mapping[i]
        tokenized["example_id"].append(examples[sample_index]["id"])
        tokenized["example_index"].append(sample_index)
        tokenized["offset_mapping"][i] = [
            (o if sequence_ids[k] == 1 else None) for k, o in enumerate(tokenized["offset_mapping"][i])
        ]
    return tokenized


def feature_line(example_index: int, ids, types, offsets) -> str:
    """One feature as the Swift test serialises it (see `dev_features.format` in the golden)."""
    offs = " ".join("-" if o is None else f"{o[0]}:{o[1]}" for o in offsets)
    return f"{example_index}\t{' '.join(map(str, ids))}\t{' '.join(map(str, types))}\t{offs}"


# --------------------------------------------------------------------------------------------------
# utils_qa.py: postprocess_qa_predictions, version_2_with_negative=False, ported line for line (the
# null-answer bookkeeping, n-best JSON and probabilities do not change the v1 answer and are left out).
# Returns, per example id, the answer text plus where it came from (for the golden's diagnostics).

def postprocess_qa_predictions(examples, features, all_start_logits, all_end_logits,
                               n_best_size=N_BEST, max_answer_length=MAX_ANSWER_LENGTH):
    example_id_to_index = {k: i for i, k in enumerate(e["id"] for e in examples)}
    features_per_example = collections.defaultdict(list)
    for i, example_id in enumerate(features["example_id"]):
        features_per_example[example_id_to_index[example_id]].append(i)

    out = collections.OrderedDict()
    for example_index, example in enumerate(examples):
        feature_indices = features_per_example[example_index]
        prelim_predictions = []
        for local, feature_index in enumerate(feature_indices):
            start_logits = all_start_logits[feature_index]
            end_logits = all_end_logits[feature_index]
            offset_mapping = features["offset_mapping"][feature_index]
            start_indexes = np.argsort(start_logits)[-1: -n_best_size - 1: -1].tolist()
            end_indexes = np.argsort(end_logits)[-1: -n_best_size - 1: -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    if (
                        start_index >= len(offset_mapping)
                        or end_index >= len(offset_mapping)
                        or offset_mapping[start_index] is None
                        or len(offset_mapping[start_index]) < 2
                        or offset_mapping[end_index] is None
                        or len(offset_mapping[end_index]) < 2
                    ):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim_predictions.append({
                        "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                        "score": start_logits[start_index] + end_logits[end_index],
                        "feature": local, "start": start_index, "end": end_index,
                    })
        predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
        context = example["context"]
        for pred in predictions:
            offsets = pred.pop("offsets")
            pred["text"] = context[offsets[0]: offsets[1]]
        if len(predictions) == 0 or (len(predictions) == 1 and predictions[0]["text"] == ""):
            predictions.insert(0, {"text": "empty", "score": np.float32(0.0), "feature": -1, "start": -1, "end": -1})
        best = predictions[0]
        runner_up = next((p for p in predictions[1:] if p["text"] != best["text"]), None)
        margin = float(best["score"] - runner_up["score"]) if runner_up is not None else None
        out[example["id"]] = dict(best, margin=margin)
    return out


# --------------------------------------------------------------------------------------------------
# evaluate-v1.1.py (the official SQuAD v1.1 script), verbatim apart from the I/O

def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def official_evaluate(examples, predictions):
    f1 = exact_match = total = 0
    for e in examples:
        total += 1
        if e["id"] not in predictions:
            continue
        ground_truths = e["answers"]["text"]
        prediction = predictions[e["id"]]
        exact_match += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths)
        f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def synthetic_prediction(k: int, example: dict) -> str:
    """Deterministic predictions of every kind the metric has to score (mirrored in SquadTests.swift)."""
    context = example["context"]
    text, start = example["answers"]["text"][0], example["answers"]["answer_start"][0]
    end = start + len(text)
    if k % 97 == 0:
        return ""
    kind = k % 4
    if kind == 0:
        return text
    if kind == 1:
        return context[max(0, start - 7): end + 7]
    if kind == 2:
        return text[: len(text) // 2]
    return context[end: end + 20]


# --------------------------------------------------------------------------------------------------

def choose_questions(examples, features) -> list[int]:
    per_example = collections.Counter(features["example_index"])
    chosen: list[int] = []
    # Multi-window examples: the first question of each long context, spread evenly over those
    # contexts, and every context that needs three windows.
    first_per_context = {}
    for index, example in enumerate(examples):
        if per_example[index] > 1 and example["context"] not in first_per_context:
            first_per_context[example["context"]] = index
    multi = list(first_per_context.values())
    picks = {multi[round(i * (len(multi) - 1) / (N_MULTI_WINDOW - 1))] for i in range(N_MULTI_WINDOW)}
    picks |= {i for i in multi if per_example[i] >= 3}
    chosen += sorted(picks)
    # A question with leading whitespace (run_qa left-strips it).
    chosen.append(next(i for i, e in enumerate(examples) if e["question"] != e["question"].lstrip()))
    # The rest spread evenly over the file.
    k = 0
    while len(set(chosen)) < N_QUESTIONS:
        chosen.append(round(k * (len(examples) - 1) / (N_QUESTIONS - 1)))
        k += 1
    return sorted(set(chosen))


def span_logits(model, features):
    """Start / end logits of each feature run alone (no padding), float32."""
    starts, ends = [], []
    for i in range(len(features["input_ids"])):
        ids = torch.tensor([features["input_ids"][i]])
        out = model(input_ids=ids, token_type_ids=torch.tensor([features["token_type_ids"][i]]),
                    attention_mask=torch.ones_like(ids))
        s, e = out.start_logits[0].numpy().astype(np.float32), out.end_logits[0].numpy().astype(np.float32)
        # np.argsort's default (quicksort) is not stable: the order of equal logits is unspecified. Ties
        # below the top n_best + 1 cannot change the answer; any others make the golden ambiguous.
        for v in (s, e):
            counts = collections.Counter(v.tolist())
            for x, n in counts.items():
                assert n == 1 or int((v > x).sum()) > N_BEST, f"feature {i}: tied logits {x} in the top {N_BEST}"
        starts.append(s)
        ends.append(e)
    return starts, ends


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=mg.default_shared())
    ap.add_argument("--out", type=Path, default=REPO / "Tests" / "FrontierTests" / "Golden")
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.set_grad_enabled(False)
    prng.self_check()

    shared = args.shared.resolve()
    vocab_dir = shared / "models" / "minilm-l6-sst2"
    dev_path = shared / "data" / "squad" / "v1.1" / "dev-v1.1.json"
    tokenizer = BertTokenizerFast.from_pretrained(str(vocab_dir))
    assert tokenizer.padding_side == "right" and tokenizer.model_max_length >= MAX_LENGTH
    examples = read_dev(dev_path)

    # 1. Every dev feature.
    features = prepare_validation_features(tokenizer, examples)
    lines = [feature_line(features["example_index"][i], features["input_ids"][i], features["token_type_ids"][i],
                          features["offset_mapping"][i]) for i in range(len(features["input_ids"]))]
    per_example = collections.Counter(features["example_index"])
    question_lengths = [len(tokenizer(e["question"].lstrip(), add_special_tokens=False)["input_ids"]) for e in examples]
    assert max(question_lengths) <= MAX_QUERY_LENGTH, "a dev question needs truncating: run_qa and BERT would differ"
    windows = collections.Counter(per_example.values())
    dev_features = {
        "format": ("sha256 of '\\n'.join(line per feature, in order), line = example index (0-based, file order) TAB "
                   "input ids joined by ' ' TAB token type ids joined by ' ' TAB offsets joined by ' ', each "
                   "'start:end' (Unicode code points into the context) for context tokens and '-' for [CLS], "
                   "question, [SEP] (run_qa's None)"),
        "examples": len(examples),
        "features": len(lines),
        "examples_by_window_count": {str(k): v for k, v in sorted(windows.items())},
        "max_question_tokens": max(question_lengths),
        "questions_over_max_query_length": sum(n > MAX_QUERY_LENGTH for n in question_lengths),
        "left_stripped_questions": sum(e["question"] != e["question"].lstrip() for e in examples),
        "sha256": sha256_text("\n".join(lines)),
    }
    print(f"dev: {len(examples)} examples -> {len(lines)} features, windows per example {dict(windows)}")

    # 2. The random QA model on 50 questions.
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512, type_vocab_size=2,
                     layer_norm_eps=1e-12, hidden_act="gelu")
    model = BertForQuestionAnswering._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    tensors = mg.fill_from_prng(model)

    # A question whose best and runner-up answers are closer than MIN_MARGIN would test fp32 rounding
    # (logits agree to ~1e-5), not semantics: it is replaced by the next question of the file.
    chosen = choose_questions(examples, features)
    replaced = []
    while True:
        subset = [examples[i] for i in chosen]
        sub_features = prepare_validation_features(tokenizer, subset)
        starts, ends = span_logits(model, sub_features)
        answers = postprocess_qa_predictions(subset, sub_features, starts, ends)
        close = [i for i, e in zip(chosen, subset)
                 if answers[e["id"]]["margin"] is not None and answers[e["id"]]["margin"] < MIN_MARGIN]
        if not close:
            break
        for i in close:
            replaced.append(examples[i]["id"])
            chosen[chosen.index(i)] = next(j for j in range(i + 1, len(examples)) if j not in chosen)
        chosen.sort()

    # run_qa's default: every feature padded to 384, pad positions competing for the top-20.
    padded = prepare_validation_features(tokenizer, subset, padding="max_length")
    batch = {k: torch.tensor(padded[k]) for k in ("input_ids", "token_type_ids", "attention_mask")}
    out = model(**batch)
    answers_padded = postprocess_qa_predictions(subset, padded, out.start_logits.numpy(), out.end_logits.numpy())
    differing = sum(answers[e["id"]]["text"] != answers_padded[e["id"]]["text"] for e in subset)

    questions = []
    feature_examples = sub_features["example_index"]
    for local, (dev_index, example) in enumerate(zip(chosen, subset)):
        mine = [i for i, x in enumerate(feature_examples) if x == local]
        best = answers[example["id"]]
        questions.append({
            "id": example["id"],
            "dev_index": dev_index,
            "features": len(mine),
            "feature_lengths": [len(sub_features["input_ids"][i]) for i in mine],
            "feature_ids_sha256": [sha256_text(" ".join(map(str, sub_features["input_ids"][i]))) for i in mine],
            "answer": best["text"],
            "feature": best["feature"],
            "start": best["start"],
            "end": best["end"],
            "score": mg.f32(best["score"]),
            "margin": None if best["margin"] is None else round(best["margin"], 7),
        })
    total_features = sum(q["features"] for q in questions)
    min_margin = min(q["margin"] for q in questions if q["margin"] is not None)
    print(f"questions: {len(questions)}, features {total_features}, "
          f"multi-window {sum(q['features'] > 1 for q in questions)}, answers from a later window "
          f"{sum(q['feature'] > 0 for q in questions)}, min margin {min_margin:.2e}, "
          f"answers differing if padded to 384: {differing}")

    # 3. The official metric on synthetic predictions over the whole dev set.
    predictions = {e["id"]: synthetic_prediction(k, e) for k, e in enumerate(examples)}
    metrics = official_evaluate(examples, predictions)
    normalized = "\n".join(normalize_answer(t) for e in examples for t in e["answers"]["text"])
    print(f"official metric on synthetic predictions: {metrics}")

    golden = {
        "description": ("SQuAD v1.1 dev through run_qa.py's feature preparation and postprocess_qa_predictions "
                        "(transformers), a random BertForQuestionAnswering with the real uncased vocab, "
                        "and the official evaluate-v1.1.py"),
        "generated_by": "tools/make_squad_golden.py",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "torch": torch.__version__, "numpy": np.__version__},
        "shared_inputs_sha256": {
            "data/squad/v1.1/dev-v1.1.json": mg.sha256_file(dev_path),
            "models/minilm-l6-sst2/vocab.txt": mg.sha256_file(vocab_dir / "vocab.txt"),
            "models/minilm-l6-sst2/tokenizer.json": mg.sha256_file(vocab_dir / "tokenizer.json"),
        },
        "settings": {"max_length": MAX_LENGTH, "doc_stride": DOC_STRIDE, "max_query_length": MAX_QUERY_LENGTH,
                     "n_best_size": N_BEST, "max_answer_length": MAX_ANSWER_LENGTH},
        "dev_features": dev_features,
        "prng": "tools/prng.py (FNV-1a 64 seed per tensor name, SplitMix64 per element)",
        "config": mg.saved_config(model),
        "tensors": tensors,
        "logits": ("each feature run alone (no padding), fp32, eager attention; top-20 indices chosen among "
                   "its real tokens"),
        "answers_differing_if_padded_to_384": differing,
        "min_margin": MIN_MARGIN,
        "replaced_for_margin": replaced,
        "question_fields": ("dev_index: position in file order; feature_ids_sha256: sha256 of the feature's input "
                            "ids joined by ' '; answer: run_qa's text; feature/start/end: the window (0-based among "
                            "this question's features) and token indices of the answer; score: start + end logit "
                            "(float32); margin: best score minus the best score of a different text"),
        "questions": questions,
        "metrics": {
            "repr_note": ("*_repr: Python's repr of the same doubles, for bit-exact comparison (Foundation's JSON "
                          "parser on Linux can be off by an ulp)"),
            "predictions": ("for dev question k (file order) with first gold answer text t starting at s, "
                            "ending at e = s + len(t): '' if k % 97 == 0, else by k % 4: 0 -> t, "
                            "1 -> context[max(0, s - 7):e + 7], 2 -> t[:len(t) // 2], 3 -> context[e:e + 20] "
                            "(Python str slices, i.e. code points)"),
            "exact_match": metrics["exact_match"],
            "f1": metrics["f1"],
            "exact_match_repr": repr(metrics["exact_match"]),
            "f1_repr": repr(metrics["f1"]),
            "gold_answers": sum(len(e["answers"]["text"]) for e in examples),
            "normalized_gold_answers_sha256": sha256_text(normalized),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "squad_random_qa.json"
    mg.write_json(path, golden)
    size = path.stat().st_size
    print(f"{path.name}: {size:,d} bytes (limit {SIZE_LIMIT:,d})")
    return 0 if size < SIZE_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
