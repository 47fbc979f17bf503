"""Cross-checks Frontier's GLUE metrics (Sources/FrontierTasks/Metrics/TaskMetrics.swift) against
scikit-learn and SciPy, the libraries Hugging Face `evaluate`'s glue metric calls.

It draws random cases (fixed seed) -- binary and three-class predictions, some with a class the
task does not have (-1), constant predictions, single examples; regression scores with many
ties (STS-B golds are multiples of 0.2 and 0.25), constant sides, two points -- computes
accuracy, F1 of class 1, Matthews correlation, Pearson and Spearman with the reference
libraries, and writes inputs and expected values to Tests/FrontierTests/Fixtures/metrics/cases.json.
The Swift test `MetricsTests.matchesScikitLearnAndSciPy` reads that file, so CI checks the
agreement without Python; `--swift` also runs that test here and prints its max differences.
Undefined values (NaN in SciPy) are written as null.

Usage: /work/pyenv/bin/python tools/check_metrics.py [--swift] [--seed N]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "FrontierTests", "Fixtures", "metrics", "cases.json")


def finite_or_none(value):
    value = float(value)
    return None if math.isnan(value) else value


def classification_case(rng, kind):
    n = int(rng.integers(1, 200)) if kind != "single" else 1
    classes = 2 if rng.random() < 0.6 else 3
    labels = rng.integers(0, classes, n)
    if kind == "constant_prediction":
        predictions = np.full(n, int(rng.integers(0, classes)))
    elif kind == "constant_label":
        labels = np.full(n, int(rng.integers(0, classes)))
        predictions = rng.integers(0, classes, n)
    else:
        # Mostly right, as a trained model is, so F1 and MCC are far from 0.
        predictions = np.where(rng.random(n) < rng.uniform(0.3, 0.95), labels, rng.integers(0, classes, n))
        if kind == "foreign_class":  # a model class outside the task's labels
            predictions = np.where(rng.random(n) < 0.1, -1, predictions)
    labels, predictions = labels.tolist(), predictions.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-class cases warn; the values are still defined
        return {
            "predictions": predictions,
            "labels": labels,
            "accuracy": accuracy_score(labels, predictions),
            "f1": float(f1_score(labels, predictions, labels=[1], average=None, zero_division=0)[0]),
            "matthews_correlation": float(matthews_corrcoef(labels, predictions)),
        }


def regression_case(rng, kind):
    n = 2 if kind == "two" else int(rng.integers(3, 200))
    step = rng.choice([0.2, 0.25, 1.0])
    gold = np.round(rng.uniform(0, 5, n) / step) * step  # many ties, like STS-B
    predicted = gold + rng.normal(0, rng.uniform(0.1, 2.0), n)
    if kind == "constant_prediction":
        predicted = np.full(n, 2.5)
    elif kind == "tied_predictions":
        predicted = np.round(predicted)
    elif kind == "negative":
        predicted = 5 - gold
    elif kind == "float32":  # logits come out of the engine as Float
        predicted = predicted.astype(np.float32).astype(np.float64)
    predicted, gold = predicted.tolist(), gold.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pearson = pearsonr(predicted, gold)[0]
        spearman = spearmanr(predicted, gold)[0]
    return {"predictions": predicted, "scores": gold,
            "pearson": finite_or_none(pearson), "spearmanr": finite_or_none(spearman)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--swift", action="store_true", help="also run the Swift cross-check test and print its differences")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    classification = [classification_case(rng, kind)
                      for kind in ["random"] * 30 + ["foreign_class"] * 6 + ["constant_prediction"] * 3
                      + ["constant_label"] * 3 + ["single"] * 2]
    regression = [regression_case(rng, kind)
                  for kind in ["random"] * 20 + ["tied_predictions"] * 6 + ["float32"] * 4 + ["negative"] * 2
                  + ["constant_prediction"] * 2 + ["two"] * 2]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/check_metrics.py", "seed": args.seed,
                   "classification": classification, "regression": regression}, f, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(classification)} classification and {len(regression)} regression cases to {os.path.relpath(OUT, ROOT)}")
    if args.swift:
        command = ["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--scratch-path", ".build-glue",
                   "--filter", "MetricsTests"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        lines = [line for line in (result.stdout + result.stderr).splitlines() if "max |" in line or "error" in line.lower()]
        print("\n".join(lines))
        if result.returncode != 0:
            print(result.stdout[-4000:] + result.stderr[-4000:])
            sys.exit(result.returncode)


if __name__ == "__main__":
    main()
