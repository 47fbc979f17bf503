#!/usr/bin/env python3
"""What each level's mask keeps, per matrix: masks.jsonl beside a search's levels.jsonl.

    python3 bench/tickets_masks.py cache/tickets/SST-2/seed-42/imp [more method folders]

For every level-NN/mask.safetensors of each folder (an `imp` search or an `imp-control` folder),
one JSON line: {"level", "folder", "kept": {tensor: ones}, "total": {tensor: values}}. The masks are
hundreds of MB per search and stay in the ignored cache; these counts are a few kB, so
bench/tickets.sh records them with the other results and bench/tickets_tables.py can show what
global pruning took from each matrix (on MiniLM, the pooler first: docs/tickets.md). Masks are
float32 0/1 as `frontier-agent imp` writes them; anything else stops with the file and tensor named.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
from pathlib import Path

ONE = struct.pack("<f", 1.0)


def mask_counts(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Ones and values per tensor of a float32 0/1 mask file."""
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            sys.exit(f"{path}: truncated (no safetensors header)")
        (size,) = struct.unpack("<Q", raw)
        try:
            header = json.loads(f.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            sys.exit(f"{path}: header is not JSON ({error})")
        data = f.read()
    kept: dict[str, int] = {}
    total: dict[str, int] = {}
    for name, entry in sorted(header.items()):
        if name == "__metadata__":
            continue
        if entry.get("dtype") != "F32":
            sys.exit(f"{path}: {name} is {entry.get('dtype')}, not F32")
        start, end = entry["data_offsets"]
        if end > len(data) or (end - start) % 4:
            sys.exit(f"{path}: {name} runs past the end of the file (truncated?)")
        values = data[start:end]
        # A 1.0f (00 00 80 3F) cannot start at an unaligned offset among 0.0f and 1.0f values, so
        # counting the pattern counts the ones; what is left must be zeros.
        ones = values.count(ONE)
        if values.replace(ONE, b"").strip(b"\x00"):
            sys.exit(f"{path}: {name} holds values other than 0 and 1")
        kept[name] = ones
        total[name] = (end - start) // 4
    return kept, total


def write_counts(folder: Path) -> int:
    """Writes folder/masks.jsonl; returns the number of levels counted."""
    rows = []
    for level_dir in sorted(folder.glob("level-*")):
        match = re.fullmatch(r"level-(\d+)", level_dir.name)
        mask = level_dir / "mask.safetensors"
        if not match or not mask.is_file():
            continue
        kept, total = mask_counts(mask)
        rows.append({"level": int(match.group(1)), "folder": level_dir.name, "kept": kept, "total": total})
    if rows:
        (folder / "masks.jsonl").write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="imp or imp-control output folders (level-NN inside)")
    args = parser.parse_args()
    for folder in args.folders:
        if not folder.is_dir():
            sys.exit(f"{folder}: no such folder")
        count = write_counts(folder)
        print(f"{folder}: {count} mask(s) counted" + (" → masks.jsonl" if count else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
