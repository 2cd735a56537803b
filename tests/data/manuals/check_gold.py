#!/usr/bin/env python3
"""Check the manuals question sets: every gold string must occur in the manual.

Usage:
    python tests/data/manuals/check_gold.py                 # every set under tests/data/manuals/
    python tests/data/manuals/check_gold.py developers-reference debian-policy
    python tests/data/manuals/check_gold.py path/to/questions.jsonl --documents path/to/documents

A question set is `<name>/questions.jsonl`; its texts are `<name>/documents/`,
or `bench/data/manuals/<name>/documents/` when a manual is too big for tests/.

Rules checked (errors make the exit status 1):
  * each line is a JSON object with "q" (text), "gold" (list of texts),
    "split" ("tune" or "test") and "section" (text);
  * an answerable question ("gold" not empty) has at least one gold string that
    occurs in the documents after collapsing whitespace and lower-casing both
    sides (the way `qa eval` compares, so a gold may span a line break);
  * at least 36 answerable and 10 off-topic ("gold": []) questions, each kind
    split evenly (off by one at most) between "tune" and "test";
  * no question appears twice.
Warnings (printed, not fatal): a gold string longer than 60 characters, and a
gold that only occurs across a line-end hyphen ("debian-<newline>mentors"),
which `qa` joins without a space so the whitespace-collapsed form
"debian- mentors" would not match its passages. With --verbose, also each
alternative gold string that does not occur in this edition (some alternatives
are written for the HTML or PDF edition, where the plain-text edition's
quotation marks around literals are absent).

Plain Python 3, no dependencies.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SUFFIXES = (".txt", ".md")
MIN_ANSWERABLE = 36
MIN_OFF_TOPIC = 10
MAX_GOLD_CHARS = 60

# A line ending in "letter-" followed by a line starting with a lower-case
# letter: qa's cleaner joins these without a space (text.py, _hyphen_split).
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n\s*(?=[^\W\d_])")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def load_texts(documents: Path) -> tuple[str, str]:
    """Whitespace-collapsed text, and the same with line-end hyphens joined."""
    files = sorted(p for p in documents.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise SystemExit(f"error: no .txt or .md files under {documents}")
    raw = "\n\n".join(p.read_text(encoding="utf-8") for p in files)
    joined = _HYPHEN_BREAK.sub(lambda m: "-" if _lower_follows(raw, m.end()) else m.group(0), raw)
    return norm(raw), norm(joined)


def _lower_follows(raw: str, i: int) -> bool:
    return i < len(raw) and raw[i].islower()


def documents_for(questions: Path) -> Path:
    local = questions.parent / "documents"
    if local.is_dir():
        return local
    bench = REPO / "bench" / "data" / "manuals" / questions.parent.name / "documents"
    if bench.is_dir():
        return bench
    raise SystemExit(f"error: no documents folder for {questions} (looked in {local} and {bench})")


def check(questions: Path, documents: Path, verbose: bool = False) -> tuple[int, int]:
    text, joined = load_texts(documents)
    errors = warnings = 0

    def error(msg: str) -> None:
        nonlocal errors
        errors += 1
        print(f"  ERROR {msg}")

    def warn(msg: str) -> None:
        nonlocal warnings
        warnings += 1
        print(f"  warning {msg}")

    print(f"{questions} (documents: {documents})")
    counts = {(kind, split): 0 for kind in ("answerable", "off-topic") for split in ("tune", "test")}
    seen: set[str] = set()
    for n, line in enumerate(questions.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            error(f"{where}: not JSON ({exc})")
            continue
        if not isinstance(item, dict):
            error(f"{where}: not a JSON object")
            continue
        q, gold, split, section = item.get("q"), item.get("gold"), item.get("split"), item.get("section")
        if not isinstance(q, str) or not q.strip():
            error(f"{where}: \"q\" must be a non-empty string")
            continue
        where = f"line {n} ({q!r})"
        if norm(q) in seen:
            error(f"{where}: duplicate question")
        seen.add(norm(q))
        if not isinstance(gold, list) or not all(isinstance(g, str) and g.strip() for g in gold):
            error(f"{where}: \"gold\" must be a list of non-empty strings")
            continue
        if split not in ("tune", "test"):
            error(f"{where}: \"split\" must be \"tune\" or \"test\", not {split!r}")
            continue
        if not isinstance(section, str) or not section.strip():
            error(f"{where}: \"section\" must be a non-empty string")
        kind = "answerable" if gold else "off-topic"
        counts[(kind, split)] += 1
        if not gold:
            continue
        found = [g for g in gold if norm(g) in text]
        if not found:
            error(f"{where}: no gold string occurs in the documents: {gold}")
            continue
        for g in gold:
            if g not in found and verbose:
                print(f"  note {where}: alternative gold {g!r} does not occur in this edition")
            if len(g) > MAX_GOLD_CHARS:
                warn(f"{where}: gold {g!r} is long ({len(g)} characters); keep it to the answer itself")
        if not any(norm(g) in joined for g in found):
            warn(f"{where}: gold {found} only occurs across a line-end hyphen; qa joins those without a space")

    answerable = counts[("answerable", "tune")] + counts[("answerable", "test")]
    off = counts[("off-topic", "tune")] + counts[("off-topic", "test")]
    if answerable < MIN_ANSWERABLE:
        error(f"only {answerable} answerable questions (at least {MIN_ANSWERABLE})")
    if off < MIN_OFF_TOPIC:
        error(f"only {off} off-topic questions (at least {MIN_OFF_TOPIC})")
    for kind in ("answerable", "off-topic"):
        tune, test = counts[(kind, "tune")], counts[(kind, "test")]
        if abs(tune - test) > 1:
            error(f"{kind}: {tune} tune vs {test} test; split them evenly")
    print(
        f"  {answerable} answerable ({counts[('answerable', 'tune')]} tune, {counts[('answerable', 'test')]} test), "
        f"{off} off-topic ({counts[('off-topic', 'tune')]} tune, {counts[('off-topic', 'test')]} test): "
        f"{errors} errors, {warnings} warnings"
    )
    return errors, warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", help="manual names under tests/data/manuals/, or questions.jsonl paths")
    parser.add_argument("--documents", type=Path, help="documents folder (only with a single set)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list alternative gold strings that do not occur")
    args = parser.parse_args(argv)
    if args.sets:
        paths = []
        for s in args.sets:
            p = Path(s)
            paths.append(p if p.suffix == ".jsonl" else HERE / s / "questions.jsonl")
    else:
        paths = sorted(HERE.glob("*/questions.jsonl"))
    if not paths:
        print("error: no question sets found", file=sys.stderr)
        return 1
    if args.documents and len(paths) != 1:
        print("error: --documents needs exactly one question set", file=sys.stderr)
        return 1
    total_errors = 0
    for path in paths:
        if not path.is_file():
            print(f"error: {path} does not exist", file=sys.stderr)
            total_errors += 1
            continue
        errors, _ = check(path, args.documents or documents_for(path), args.verbose)
        total_errors += errors
    print("OK" if not total_errors else f"FAILED: {total_errors} errors")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
