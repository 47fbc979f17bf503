#!/usr/bin/env python3
"""Check that Frontier's Swift WordPiece tokenizer gives exactly Hugging Face's token ids.

    python tools/check_tokenizer.py --agent .build/release/frontier-agent [--model DIR] [--data DIR]

For each corpus (SST-2 dev sentences, MRPC dev pairs, SQuAD v1.1 dev questions, SQuAD v1.1 dev
contexts de-duplicated in file order) it runs `AGENT tokenize --model DIR [--pair]` with one text
per line on stdin (a pair is two texts joined by one TAB; the few SQuAD contexts with a line break
are sent with a space there, see `line_safe`) and expects one line per input on stdout:
the token ids, [CLS]/[SEP] included, separated by single spaces. Each line is compared with
`BertTokenizerFast.from_pretrained(DIR)(text[, pair])["input_ids"]` (no truncation). Prints
"N/N identical" per corpus plus the first few mismatches, and exits 1 on any mismatch.

The texts are the raw fields (TSV split on TAB with no quote handling, MRPC's BOM removed, SST-2's
trailing space kept), read the same way as tools/make_goldens.py.

A second mode regenerates the Unicode tables that Sources/FrontierEngine/Tokenizer/BertUnicodeTables.swift
embeds:

    python tools/check_tokenizer.py --emit-swift-tables > /tmp/tables.swift

Those tables are measured from the installed `tokenizers` library itself (one probe per code point)
rather than taken from a Unicode database, because the Rust BertNormalizer / BertPreTokenizer use
the old `unicode_categories` tables (about Unicode 8) for "control" and "punctuation" and for the
non-spacing marks that strip_accents removes, its NFD crate predates Unicode 12 (decompositions and
combining classes), while lower-casing follows the Rust standard library (a much newer Unicode). No
single Unicode version reproduces that mix.

Needs `transformers` and `tokenizers` (e.g. the /work/pyenv venv).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_SHOWN_MISMATCHES = 5

# --------------------------------------------------------------------------------------------------
# Corpora (raw fields, exactly as tools/make_goldens.py reads them)


def read_sst2(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["sentence", "label"], rows[0]
    return [r[0] for r in rows[1:]]


def read_mrpc(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:  # strips the BOM
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], rows[0]
    rows = rows[1:]
    assert all(len(r) == 5 for r in rows)
    return [(r[3], r[4]) for r in rows]


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
# Comparison


def line_safe(texts: list[str], corpus: str, tok) -> tuple[list[str], int]:
    """The texts as they can travel one per line to the agent.

    No text may contain a TAB (the agent splits pairs on it). 28 SQuAD contexts contain "\n"; it is
    sent as a space instead, which cannot change the result because BertNormalizer's clean_text turns
    "\n" and "\r" into a space anyway (same length, so same offsets too). That is checked here rather
    than assumed: HF must give identical ids for the original and the substituted text."""
    sent, changed = [], []
    for i, t in enumerate(texts):
        assert "\t" not in t, f"{corpus}: text {i} contains a TAB, cannot be sent: {t!r}"
        s = t.replace("\r", " ").replace("\n", " ")
        sent.append(s)
        if s != t:
            changed.append(i)
    if changed:
        raw = tok([texts[i] for i in changed])["input_ids"]
        subst = tok([sent[i] for i in changed])["input_ids"]
        assert raw == subst, f"{corpus}: replacing newlines by spaces changed HF's ids"
    return sent, len(changed)


def run_agent(agent: Path, model: Path, lines: list[str], pair: bool) -> tuple[list[str], float]:
    cmd = [str(agent), "tokenize", "--model", str(model)] + (["--pair"] if pair else [])
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=payload, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
        raise SystemExit(f"error: {' '.join(cmd)} exited with status {proc.returncode}")
    out = proc.stdout.decode("utf-8").split("\n")
    if out and out[-1] == "":
        out.pop()
    return out, elapsed


def compare(name: str, texts: list, expected: list[list[int]], got: list[str], elapsed: float) -> bool:
    n = len(texts)
    if len(got) != n:
        print(f"{name}: agent printed {len(got)} lines for {n} inputs")
        return False
    bad = []
    for i, (ids, line) in enumerate(zip(expected, got)):
        want = " ".join(str(x) for x in ids)
        if line.strip() != want:
            bad.append((i, want, line))
    print(f"{name}: {n - len(bad)}/{n} identical  (agent {elapsed:.2f}s wall incl. start-up)")
    for i, want, line in bad[:MAX_SHOWN_MISMATCHES]:
        print(f"  #{i} (0-based) text: {texts[i]!r}")
        print(f"     expected: {want}")
        print(f"     got:      {line}")
    if len(bad) > MAX_SHOWN_MISMATCHES:
        print(f"  ... and {len(bad) - MAX_SHOWN_MISMATCHES} more")
    return not bad


def check(args: argparse.Namespace) -> int:
    import transformers  # imported late: --emit-swift-tables does not need it
    from transformers import BertTokenizerFast

    transformers.logging.set_verbosity_error()  # SQuAD contexts exceed 512 tokens; that warning is noise here

    agent, model, data = Path(args.agent), Path(args.model), Path(args.data)
    if not agent.is_file():
        raise SystemExit(f"error: agent binary not found: {agent}")
    if not (model / "vocab.txt").is_file():
        raise SystemExit(f"error: no vocab.txt in model folder {model}")
    tok = BertTokenizerFast.from_pretrained(str(model))

    sst2 = read_sst2(data / "glue" / "SST-2" / "dev.tsv")
    mrpc = read_mrpc(data / "glue" / "MRPC" / "dev.tsv")
    questions, contexts = read_squad(data / "squad" / "v1.1" / "dev-v1.1.json")

    ok = True
    for name, texts in (("SST-2 dev", sst2), ("SQuAD dev questions", questions), ("SQuAD dev contexts", contexts)):
        sent, n_subst = line_safe(texts, name, tok)
        if n_subst:
            print(f"{name}: {n_subst} texts contain line breaks; sent with spaces instead (HF ids identical either way)")
        expected = tok(texts, truncation=False)["input_ids"]
        got, elapsed = run_agent(agent, model, sent, pair=False)
        ok &= compare(name, texts, expected, got, elapsed)

    firsts, _ = line_safe([a for a, _ in mrpc], "MRPC dev #1", tok)
    seconds, _ = line_safe([b for _, b in mrpc], "MRPC dev #2", tok)
    expected = tok([a for a, _ in mrpc], [b for _, b in mrpc], truncation=False)["input_ids"]
    got, elapsed = run_agent(agent, model, [f"{a}\t{b}" for a, b in zip(firsts, seconds)], pair=True)
    ok &= compare("MRPC dev pairs", mrpc, expected, got, elapsed)

    print("all identical" if ok else "MISMATCHES FOUND")
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------------
# Unicode tables for BertUnicodeTables.swift, measured from the tokenizers library


def probe_tables() -> dict:
    import tokenizers
    from tokenizers import normalizers, pre_tokenizers

    def bert(clean=False, chinese=False, strip=False, lower=False):
        return normalizers.BertNormalizer(clean_text=clean, handle_chinese_chars=chinese,
                                          strip_accents=strip, lowercase=lower)

    clean, chinese, strip, lower = bert(clean=True), bert(chinese=True), bert(strip=True), bert(lower=True)
    pre = pre_tokenizers.BertPreTokenizer()
    t = {"version": tokenizers.__version__, "removed": [], "space": [], "chinese": [], "strip": {},
         "lower": {}, "punct": [], "whitespace": []}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:  # surrogates cannot occur in a Rust str
            continue
        ch = chr(c)
        r = clean.normalize_str(ch)
        if r == "":
            t["removed"].append(c)
        elif r == " " and ch != " ":
            t["space"].append(c)
        else:
            assert r == ch, (hex(c), r)
        r = chinese.normalize_str(ch)
        if r != ch:
            assert r == f" {ch} ", (hex(c), r)
            t["chinese"].append(c)
        r = strip.normalize_str(ch)
        if r != ch:
            t["strip"][c] = [ord(x) for x in r]
        r = lower.normalize_str(ch)
        if r != ch:
            t["lower"][c] = [ord(x) for x in r]
        parts = len(pre.pre_tokenize_str(f"a{ch}a"))
        if parts == 3:
            t["punct"].append(c)
        elif parts == 2:
            t["whitespace"].append(c)
        else:
            assert parts == 1, (hex(c), parts)
    return t


def ranges(values) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for c in sorted(values):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return [(a, b) for a, b in out]


def delta_runs(mapping: dict[int, int]) -> list[tuple[int, int, int, int]]:
    """(first, last, step, delta): every step-th scalar in first...last maps to itself + delta."""
    items = sorted(mapping.items())
    out, i = [], 0
    while i < len(items):
        src, dst = items[i]
        best = (i, 1)
        for step in (1, 2):
            j = i
            while (j + 1 < len(items) and items[j + 1][0] == items[j][0] + step
                   and items[j + 1][1] - items[j + 1][0] == dst - src):
                j += 1
            if j > best[0]:
                best = (j, step)
        j, step = best
        out.append((src, items[j][0], step if j > i else 1, dst - src))
        i = j + 1
    return out


def swift_array(name: str, doc: str, type_: str, values: list[int], per_line: int) -> str:
    def fmt(v: int) -> str:
        return f"-0x{-v:X}" if v < 0 else f"0x{v:X}"
    lines = [f"    /// {d}" for d in doc.split("\n")]
    lines.append(f"    static let {name}: [{type_}] = [")
    for k in range(0, len(values), per_line):
        lines.append("        " + ", ".join(fmt(v) for v in values[k:k + per_line]) + ",")
    lines.append("    ]")
    return "\n".join(lines)


def canonical_decompositions(t: dict) -> tuple[dict[int, list[int]], set[int]]:
    """Raw one-step canonical mappings (c -> one or two scalars) and the non-spacing marks, such that
    recursive expansion + canonical ordering + dropping the marks reproduces the Rust strip_accents
    for every scalar. Python's unicodedata only supplies the candidate mappings; what is kept is
    checked against `tokenizers.normalizers.NFD` (the same Rust crate BertNormalizer uses)."""
    import unicodedata
    from tokenizers import normalizers

    nfd = normalizers.NFD()
    rust_nfd = {}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        r = nfd.normalize_str(chr(c))
        if r != chr(c):
            rust_nfd[c] = [ord(x) for x in r]
    mapping = {}
    for c in rust_nfd:
        if 0xAC00 <= c <= 0xD7A3:
            continue  # Hangul: arithmetic in Swift
        d = unicodedata.decomposition(chr(c))
        assert d and not d.startswith("<"), hex(c)
        mapping[c] = [int(x, 16) for x in d.split()]
        assert 1 <= len(mapping[c]) <= 2

    def expand(c: int) -> list[int]:
        if 0xAC00 <= c <= 0xD7A3:
            s = c - 0xAC00
            return [0x1100 + s // 588, 0x1161 + (s % 588) // 28] + ([0x11A7 + s % 28] if s % 28 else [])
        if c in mapping:
            return [x for m in mapping[c] for x in expand(m)]
        return [c]

    def reorder(seq: list[int]) -> list[int]:
        seq = list(seq)
        for i in range(1, len(seq)):
            j = i
            ccc = unicodedata.combining(chr(seq[j]))
            while j > 0 and ccc and unicodedata.combining(chr(seq[j - 1])) > ccc:
                seq[j], seq[j - 1] = seq[j - 1], seq[j]
                j -= 1
        return seq

    marks = {c for c, v in t["strip"].items() if v == [] and c not in rust_nfd}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        full = reorder(expand(c))
        assert full == rust_nfd.get(c, [c]), hex(c)
        assert [x for x in full if x not in marks] == t["strip"].get(c, [c]), hex(c)
    return mapping, marks


def combining_classes() -> dict[int, int]:
    """Canonical combining classes as the Rust NFD crate knows them. It predates Unicode 12, so marks
    added since are starters to it (no reordering); each class is confirmed by making the crate
    reorder the scalar against U+0345 (class 240) or U+0301 (class 230)."""
    import unicodedata
    from tokenizers import normalizers

    nfd = normalizers.NFD()
    known = {}
    for c in range(0x300, 0x110000):
        if 0xD800 <= c <= 0xDFFF or not unicodedata.combining(chr(c)):
            continue
        ccc, x = unicodedata.combining(chr(c)), chr(c)
        d = nfd.normalize_str(x)
        if d != x:
            continue  # decomposes first; the class of its pieces is what counts
        if ccc < 240:
            reordered = nfd.normalize_str("a\u0345" + x) == "a" + x + "\u0345"
        else:
            reordered = nfd.normalize_str("a" + x + "\u0301") == "a\u0301" + x
        if reordered:
            known[c] = ccc
    return known


def emit_swift_tables() -> int:
    t = probe_tables()
    mapping, marks = canonical_decompositions(t)
    ccc = combining_classes()
    ccc_runs: list[list[int]] = []
    for c in sorted(ccc):
        if ccc_runs and ccc_runs[-1][1] == c - 1 and ccc_runs[-1][2] == ccc[c]:
            ccc_runs[-1][1] = c
        else:
            ccc_runs.append([c, c, ccc[c]])
    lower_single = {c: v[0] for c, v in t["lower"].items() if len(v) == 1}
    lower_multi = {c: v for c, v in t["lower"].items() if len(v) > 1}
    assert all(len(v) == 2 for v in lower_multi.values())
    # BertPreTokenizer splits on Rust `char::is_whitespace`, but clean_text has already deleted or
    # turned into U+0020 every such scalar, and no later step produces one, so the Swift side only
    # tests for U+0020. That shortcut holds exactly when:
    assert sorted(t["space"]) == sorted(set(t["whitespace"]) - set(t["removed"]) - {0x20})
    gone = set(t["whitespace"]) | set(t["removed"])
    produced = {x for c, v in list(t["strip"].items()) + list(t["lower"].items()) if c not in gone for x in v}
    assert not produced & set(t["whitespace"])

    def flat(rs):
        return [x for r in rs for x in r]

    parts = [
        f"// BEGIN GENERATED by `tools/check_tokenizer.py --emit-swift-tables` from tokenizers {t['version']}.",
        "// Do not edit by hand; regenerate and paste over this block.",
        "enum BertUnicodeTables {",
        swift_array("removed", "Scalars clean_text deletes (NUL, U+FFFD, and `unicode_categories` Cc/Cf/Co minus\n"
                    "\\t \\n \\r). Inclusive ranges, flattened as first, last.", "UInt32",
                    flat(ranges(t["removed"])), 8),
        swift_array("cleanSpace", "Scalars clean_text turns into U+0020 (Rust `char::is_whitespace` that are not\n"
                    "deleted as control characters first).", "UInt32", sorted(t["space"]), 8),
        swift_array("chinese", "handle_chinese_chars ranges (HF's list, including its U+2B920 typo for U+2B820).\n"
                    "Inclusive ranges, flattened as first, last.", "UInt32", flat(ranges(t["chinese"])), 8),
        swift_array("punctuation", "BertPreTokenizer punctuation: ASCII punctuation or `unicode_categories` P*.\n"
                    "Inclusive ranges, flattened as first, last.", "UInt32", flat(ranges(t["punct"])), 8),
        swift_array("nonspacingMarks", "What strip_accents drops after NFD: `unicode_categories` Mn.\n"
                    "Inclusive ranges, flattened as first, last.", "UInt32", flat(ranges(marks)), 8),
        swift_array("canonicalDecompositions", "One-step canonical decompositions of the NFD the Rust crate implements\n"
                    "(Hangul syllables excluded). Sorted triples, flattened as scalar, first, second (0 = none);\n"
                    "NFD applies them recursively, then orders combining marks.", "UInt32",
                    [x for c in sorted(mapping) for x in [c] + mapping[c] + [0] * (2 - len(mapping[c]))], 9),
        swift_array("combiningClasses", "Non-zero canonical combining classes known to the Rust NFD crate (older than\n"
                    "Unicode 12), which decide NFD's canonical ordering. Flattened as first, last, class.",
                    "UInt32", flat(ccc_runs), 9),
        swift_array("lowercaseRuns", "Rust `char::to_lowercase` one-scalar results as runs, flattened as first, last,\n"
                    "step, delta: every step-th scalar from first through last maps to scalar + delta.", "Int32",
                    flat(delta_runs(lower_single)), 8),
        swift_array("lowercaseMulti", "Rust `char::to_lowercase` two-scalar results, flattened as scalar, first, second.",
                    "UInt32", [x for c in sorted(lower_multi) for x in [c] + lower_multi[c]], 8),
        "}",
        "// END GENERATED",
    ]
    print("\n".join(parts))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agent", help="path to the frontier-agent binary")
    p.add_argument("--model", default=str(REPO_ROOT.parent / "shared" / "models" / "minilm-l6-sst2"),
                   help="model folder with vocab.txt (default: ../shared/models/minilm-l6-sst2 beside the repo)")
    p.add_argument("--data", default=str(REPO_ROOT.parent / "shared" / "data"),
                   help="data folder with glue/ and squad/ (default: ../shared/data beside the repo)")
    p.add_argument("--emit-swift-tables", action="store_true",
                   help="print BertUnicodeTables.swift's generated Unicode tables instead of checking")
    args = p.parse_args()
    if args.emit_swift_tables:
        return emit_swift_tables()
    if not args.agent:
        p.error("--agent is required (or --emit-swift-tables)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
