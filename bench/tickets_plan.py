#!/usr/bin/env python3
"""What is left of the lottery-ticket matrix (docs/tickets.md), and about how long it takes.

    python3 bench/tickets_plan.py [--out cache/tickets] [--record bench/results/tickets]
        [--tasks "CoLA STS-B MRPC RTE SST-2"] [--seeds "42 43 44"]
        [--methods "imp one-shot random-pruning random-reinit structured"]
        [--control-levels 3,5,7,9] [--pooler prune|dense]

bench/tickets.sh --plan calls it with its own options. The matrix is tens of CPU-hours on two
cores and runs across sessions, so before starting a part it helps to know what is already done:
per task, seed and method, the fine-tunes finished (read from OUT, where a method in progress
writes each level as it ends, else from RECORD, which holds only finished methods) and the
fine-tunes left, priced at the per-task minutes measured in docs/tickets.md. A control needs its
IMP levels first; structured is four fine-tunes (full, good, random, bad) plus its removal steps,
which are not priced. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tickets_tables import METHODS, POOLER_DENSE, read_lines  # beside this file

# Minutes per fine-tune on a 2-vCPU AMD EPYC (Zen 4) with 2 threads, docs/tickets.md.
MINUTES = {"CoLA": 2.0, "STS-B": 3.0, "RTE": 3.5, "MRPC": 4.0, "SST-2": 6.5}
IMP_LEVELS = 10  # 0 % … 90 % in steps of 10 % of the original count
STRUCTURED = ["full", "good", "random", "bad"]


def finished(folders: list[Path], method: str) -> set:
    """The levels (or subnetwork names) a method has finished, from the first folder that has any."""
    for folder in folders:
        if method == "structured":
            done = {row.get("name") for row in read_lines(folder / "structured" / "subnetworks.jsonl")}
        else:
            done = {row.get("level") for row in read_lines(folder / method / "levels.jsonl")}
        if done:
            return done
    return set()


def needed(method: str, control_levels: list[int] | None) -> list:
    if method == "imp":
        return list(range(IMP_LEVELS))
    if method == "structured":
        return STRUCTURED
    return control_levels or list(range(1, IMP_LEVELS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="cache/tickets")
    parser.add_argument("--record", default="bench/results/tickets")
    parser.add_argument("--tasks", default="CoLA STS-B MRPC RTE SST-2")
    parser.add_argument("--seeds", default="42 43 44")
    parser.add_argument("--methods", default="imp one-shot random-pruning random-reinit structured")
    parser.add_argument("--control-levels", default="")
    parser.add_argument("--pooler", choices=["prune", "dense"], default="prune")
    args = parser.parse_args()

    try:
        control_levels = [int(level) for level in args.control_levels.split(",")] if args.control_levels else None
    except ValueError:
        sys.exit(f"--control-levels takes levels like 3,5,7,9, not {args.control_levels!r}")
    if control_levels and any(not 1 <= level < IMP_LEVELS for level in control_levels):
        sys.exit(f"--control-levels must lie in 1..{IMP_LEVELS - 1}, not {args.control_levels!r}")
    suffix = POOLER_DENSE if args.pooler == "dense" else ""
    methods = args.methods.split()
    for method in methods:
        if method not in METHODS + ["structured"]:
            sys.exit(f"unknown method {method!r}")
    if suffix and "structured" in methods:
        sys.exit("--pooler dense is for imp and its controls, not structured")

    tasks = args.tasks.split()
    for task in tasks:
        if task not in MINUTES:
            sys.exit(f"unknown task {task!r} (one of {', '.join(MINUTES)})")

    print("| task | seed | method | fine-tunes done | left | minutes left |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    total_minutes, total_left = 0.0, 0
    for task in tasks:
        for seed in args.seeds.split():
            folders = [Path(root) / f"{task}{suffix}" / f"seed-{seed}" for root in (args.out, args.record)]
            for method in methods:
                want = needed(method, control_levels)
                done = finished(folders, method) & set(want)
                left = len(want) - len(done)
                minutes = left * MINUTES[task]
                total_minutes += minutes
                total_left += left
                print(f"| {task}{suffix} | {seed} | {method} | {len(done)}/{len(want)} | {left} | {minutes:.0f} |")
    print()
    print(f"{total_left} fine-tunes left, about {total_minutes / 60:.1f} CPU-hours on 2 cores "
          f"(per-task minutes from docs/tickets.md; structured's removal steps not counted).")


if __name__ == "__main__":
    main()
