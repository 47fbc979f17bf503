#!/usr/bin/env python3
"""Tables of the lottery-ticket experiments (docs/tickets.md), from the folders bench/tickets.sh writes:

    OUT/TASK/seed-S/{imp,one-shot,random-pruning,random-reinit}/levels.jsonl
    OUT/TASK/seed-S/structured/subnetworks.jsonl

    python3 bench/tickets_tables.py cache/tickets [--write docs/tickets-tables.md]

Per task: the dev metric at each sparsity for IMP and the three controls as mean ± sample std over
the seeds that reached it (n beside it), the highest sparsity where IMP is *matching* (its mean
within one std of the dense fine-tuned model's, Chen et al.'s definition) beside Chen et al.'s
BERT-base figure, and whether their ordering (IMP above random pruning above random
re-initialisation) holds at each sparsity. Then the structured subnetworks (full, good, random,
bad) beside Prasanna et al.'s BERT-base SST-2. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

METRIC = {"CoLA": "matthews_correlation", "STS-B": "pearson", "SST-2": "accuracy", "MRPC": "accuracy", "RTE": "accuracy"}
CHEN_MATCHING = {"SST-2": 0.60, "MRPC": 0.50, "CoLA": 0.50, "STS-B": 0.50, "RTE": 0.60}
PRASANNA_SST2 = {"full": 0.93, "good": 0.87, "random": 0.89, "bad": 0.86}
METHODS = ["imp", "one-shot", "random-pruning", "random-reinit"]
POOLER_DENSE = "-pooler-dense"  # the folder suffix of bench/tickets.sh --pooler dense


def base_task(task: str) -> str:
    return task.removesuffix(POOLER_DENSE)


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not JSON ({error})")
    return rows


def metric_value(row: dict, metric: str) -> tuple[float | None, bool]:
    """The row's dev metric, and whether it was undefined. The agent writes an undefined metric as
    "nan": STS-B's Pearson correlation when a collapsed model predicts one constant score. Such a
    level counts as 0 (no correlation), as MCC counts a model that predicts one class."""
    value = row.get("metrics", {}).get(metric)
    if isinstance(value, str) and value.lower() == "nan" or isinstance(value, float) and value != value:
        return 0.0, True
    if value is not None and not isinstance(value, (int, float)):
        sys.exit(f"{row.get('folder', '?')}: {metric} is {value!r}, not a number")
    return value, False


def summary(values: list[float]) -> str:
    if not values:
        return "—"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.2f} ± {100 * std:.2f} ({len(values)})"


def compare(a: float, b: float) -> str:
    """'>' or '<' between two means, '=' where they are equal to the table's two decimals (both
    collapsed to one class, say)."""
    if round(100 * a, 2) == round(100 * b, 2):
        return "="
    return ">" if a > b else "<"


def pooler_kept(root: Path, task: str) -> tuple[dict[int, list[int]], int]:
    """{level: [pooler weights its IMP mask keeps, per seed]} and the pooler's size, from the
    masks.jsonl bench/tickets_masks.py writes (empty where no search has one)."""
    kept: dict[int, list[int]] = {}
    size = 0
    for seed_dir in sorted((root / task).glob("seed-*")):
        for row in read_lines(seed_dir / "imp" / "masks.jsonl"):
            names = [name for name in row["kept"] if ".pooler." in name]
            if names:
                kept.setdefault(row["level"], []).append(sum(row["kept"][n] for n in names))
                size = sum(row["total"][n] for n in names)
    return kept, size


def collect(root: Path, task: str) -> tuple[dict, list[dict], list[str]]:
    """{method: {level: (sparsity, [values per seed])}}, the structured rows of every seed, and the
    levels whose metric was undefined (metric_value)."""
    metric = METRIC.get(base_task(task), "accuracy")
    levels: dict[str, dict[int, tuple[float, list[float]]]] = {m: {} for m in METHODS}
    structured: list[dict] = []
    undefined_at: list[str] = []
    for seed_dir in sorted((root / task).glob("seed-*")):
        for method in METHODS:
            for row in read_lines(seed_dir / method / "levels.jsonl"):
                value, undefined = metric_value(row, metric)
                if value is None:
                    continue
                if undefined:
                    undefined_at.append(f"{seed_dir.name} {method} {100 * row['sparsity']:.0f} %")
                sparsity, values = levels[method].setdefault(row["level"], (row["sparsity"], []))
                values.append(value)
        for row in read_lines(seed_dir / "structured" / "subnetworks.jsonl"):
            row["seed"] = seed_dir.name
            structured.append(row)
    return levels, structured, undefined_at


def task_section(task: str, levels: dict, structured: list[dict], undefined_at: list[str],
                 dense_seeds: list[float] | None = None, pooler: tuple[dict[int, list[int]], int] = ({}, 0)) -> list[str]:
    """`dense_seeds`: the dense fine-tunes matching is judged against, when not this section's
    own level 0 (the pooler variant's level 0 is the same run as the task's: nothing is pruned).
    `pooler`: what the IMP masks keep of the pooler per level (pooler_kept), a column when known."""
    metric = METRIC.get(base_task(task), "accuracy")
    title = f"{base_task(task)}, the pooler left dense (`--pooler dense`)" if task != base_task(task) else task
    out = [f"### {title} ({metric.replace('_', ' ')}, dev, × 100; mean ± std (seeds))", ""]
    imp = levels["imp"]
    if not imp:
        out += ["No IMP level has finished yet.", ""]
        return out + structured_table(task, structured)
    kept, pooler_size = pooler
    header = "| sparsity | IMP | one-shot | random pruning | random re-init |"
    if kept:
        header += f" pooler weights IMP keeps (of {pooler_size:,}) |"
    out += [header, "|" + " --- |" * (header.count(" | ") + 1)]
    for level in sorted(set().union(*[set(levels[m]) for m in METHODS])):
        sparsity = next(levels[m][level][0] for m in METHODS if level in levels[m])
        cells = [summary(levels[m][level][1]) if level in levels[m] else "—" for m in METHODS]
        if kept:
            seeds = kept.get(level, [pooler_size] if level == 0 else [])
            cells.append("—" if not seeds else f"{min(seeds):,}" if min(seeds) == max(seeds) else f"{min(seeds):,}–{max(seeds):,}")
        out.append(f"| {100 * sparsity:.0f} % | " + " | ".join(cells) + " |")
    out.append("")
    if undefined_at:
        out += [f"- Counted as 0: {metric.replace('_', ' ')} undefined (one constant prediction for every example) at "
                + ", ".join(undefined_at) + ".", ""]
    dense = dense_seeds if dense_seeds else imp.get(0, (0.0, []))[1]
    if dense:
        mean = statistics.fmean(dense)
        std = statistics.stdev(dense) if len(dense) > 1 else 0.0
        matching = [imp[l][0] for l in sorted(imp) if imp[l][1] and statistics.fmean(imp[l][1]) >= mean - std]
        highest = max(matching) if matching else 0.0
        reached = max(imp[l][0] for l in imp)
        source = (f"the {base_task(task)} table's {len(dense)} dense seed(s): level 0 prunes nothing, so they are the same fine-tunes"
                  if dense_seeds else f"{len(dense)} seed(s) dense" if len(dense) > 1
                  else "one dense seed, so no std: IMP must reach the dense score itself")
        out.append(f"- **Matching** (IMP mean ≥ dense mean − one std, {source}): up to **{100 * highest:.0f} %** "
                   f"sparsity on MiniLM-L6 (IMP has reached {100 * reached:.0f} % so far); "
                   f"Chen et al. on BERT-base: {100 * CHEN_MATCHING.get(base_task(task), 0):.0f} %.")
    ordering = []
    for level in sorted(imp):
        if level == 0 or level not in levels["random-pruning"] or level not in levels["random-reinit"]:
            continue
        a, b, c = (statistics.fmean(levels[m][level][1]) for m in ("imp", "random-pruning", "random-reinit"))
        ordering.append((f"{100 * imp[level][0]:.0f} %", compare(a, b), compare(b, c)))
    if ordering:
        holds = [s for s, first, second in ordering if first == ">" and second == ">"]
        out.append(f"- **Ordering** IMP > random pruning > random re-init (means): holds at {', '.join(holds) or 'no measured sparsity'}. "
                   "Per sparsity, IMP against random pruning, then random pruning against random re-init: "
                   + "; ".join(f"{s} IMP {first} RP, RP {second} RR" for s, first, second in ordering) + ".")
    out.append("")
    return out + structured_table(task, structured)


def structured_table(task: str, structured: list[dict]) -> list[str]:
    """The retrained structured subnetworks of every seed, beside Prasanna et al.'s BERT-base SST-2."""
    metric = METRIC.get(base_task(task), "accuracy")
    out: list[str] = []
    if structured:
        out += ["| structured subnetwork | heads kept | feed-forward blocks kept | dev | Prasanna et al. BERT-base SST-2 |",
                "| --- | --- | --- | --- | --- |"]
        for name in ["full", "good", "random", "bad"]:
            rows = [r for r in structured if r["name"] == name]
            if not rows:
                continue
            heads = statistics.fmean(r["kept_heads"] / r["heads"] for r in rows)
            blocks = statistics.fmean(r["kept_feed_forward"] / r["feed_forward"] for r in rows)
            reference = f"{PRASANNA_SST2[name]:.2f}" if task == "SST-2" else "—"
            out.append(f"| {name} | {100 * heads:.0f} % | {100 * blocks:.0f} % | {summary([v for v in (metric_value(r, metric)[0] for r in rows) if v is not None])} | {reference} |")
        out.append("")
    return out


def measured_cells(result: dict, metric: str) -> str:
    """The dev metric, examples/s, p50, J/example, energy source and disturbed cells of one `run` result."""
    if result.get("status") != "ok":
        return f"failed: {result.get('failure_reason', '?')} | | | | | "
    value, undefined = metric_value(result, metric)
    shown = "—" if value is None else "undefined" if undefined else f"{100 * value:.2f}"
    return (f"{shown} | {result['throughput_examples_per_s']:.1f} | "
            f"{result['latency_p50_ms']:.2f} | {result['energy_j_per_example']:.4f} | {result['energy_source']} | "
            f"{'yes' if result.get('disturbed') else 'no'}")


def removed_structure(structure: dict) -> tuple[dict[str, list[int]], list[int]]:
    """A structured subnetwork's removed heads ({layer: [head, …]}, layers with none left out) and
    removed feed-forward blocks, as head-pruning's `heads` and ffn-pruning's `blocks` take them."""
    heads = {str(layer): [h for h, keep in enumerate(flags) if not keep] for layer, flags in enumerate(structure["heads"])}
    blocks = [layer for layer, keep in enumerate(structure["feed_forward"]) if not keep]
    return {layer: removed for layer, removed in heads.items() if removed}, blocks


def efficiency_section(root: Path, task: str) -> list[str]:
    """The IMP levels through `frontier-agent run` (bench/tickets_efficiency.sh), sparse and dense kernel."""
    metric = METRIC.get(base_task(task), "accuracy")
    rows = []
    for seed_dir in sorted((root / task).glob("seed-*")):
        search = seed_dir / "imp"
        for record in read_lines(search / "levels.jsonl"):
            for kernel in ["sparse", "dense"]:
                path = search / record["folder"] / f"efficiency-{kernel}.json"
                if path.exists():
                    try:
                        rows.append((seed_dir.name, record, kernel, json.loads(path.read_text())))
                    except json.JSONDecodeError as error:
                        sys.exit(f"{path}: not JSON ({error})")
    structured = []
    for seed_dir in sorted((root / task).glob("seed-*")):
        for record in read_lines(seed_dir / "structured" / "subnetworks.jsonl"):
            for shape in ["shrunk", "masked"]:
                path = seed_dir / "structured" / str(record.get("folder")) / f"efficiency-{shape}.json"
                if record.get("folder") and path.exists():
                    structured.append((seed_dir.name, record, shape, json.loads(path.read_text())))
    if not rows and not structured:
        return []
    cpu = (rows or structured)[0][3].get("device", {}).get("cpu_model", "?")
    threads = (rows or structured)[0][3].get("configuration", {}).get("threads", "?")
    out = [f"### {task}: what the tickets and subnetworks cost to run", "",
           f"`frontier-agent run` over the dev set, {threads} threads, {cpu}; each pruned level on the sparse kernel "
           "(`--sparse-kernel always`) and on the dense one (`never`). Examples/s is the offline scenario (batch 32), "
           "p50 the single-stream latency (batch 1). Energy is the agent's own reading and names its source.", ""]
    if rows:
        out += [f"| seed | level | sparsity | kernel | dev {metric} | examples/s | p50 (ms) | J/example | energy source | disturbed |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for seed, record, kernel, result in rows:
        out.append(f"| {seed} | {record['level']} | {100 * record['sparsity']:.0f} % | {kernel} | {measured_cells(result, metric)} |")
    if rows:
        out.append("")
    if structured:
        out += [f"Retrained structured subnetworks, in their shrunk shape (the removed heads and feed-forward blocks cut out "
                "at load) and as the masked full-size checkpoint they were trained as:", "",
                f"| seed | subnetwork | heads kept | FFN blocks kept | shape | dev {metric} | examples/s | p50 (ms) | J/example | energy source | disturbed |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for seed, record, shape, result in structured:
            kept = f"{record['kept_heads']}/{record['heads']} | {record['kept_feed_forward']}/{record['feed_forward']}"
            out.append(f"| {seed} | {record['name']} | {kept} | {shape} | {measured_cells(result, metric)} |")
        out.append("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="the folder bench/tickets.sh wrote (default cache/tickets)")
    parser.add_argument("--write", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    if not args.root.is_dir():
        sys.exit(f"{args.root}: no such folder (run bench/tickets.sh first)")
    lines = ["<!-- generated by bench/tickets_tables.py from the folders of bench/tickets.sh; do not edit -->", ""]
    for task in ["SST-2", "MRPC", "CoLA", "STS-B", "RTE"]:
        dense: list[float] = []
        if (args.root / task).is_dir():
            levels, structured, undefined_at = collect(args.root, task)
            dense = levels["imp"].get(0, (0.0, []))[1]
            lines += task_section(task, levels, structured, undefined_at, pooler=pooler_kept(args.root, task))
            lines += efficiency_section(args.root, task)
        # bench/tickets.sh --pooler dense: IMP with the pooler left out of the prunable set.
        variant = task + POOLER_DENSE
        if (args.root / variant).is_dir():
            levels, _, undefined_at = collect(args.root, variant)
            lines += task_section(variant, levels, [], undefined_at, dense_seeds=dense)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
