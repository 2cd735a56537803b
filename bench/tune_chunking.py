"""Passage cutting on the real manuals: build, score the `tune` halves, list the misses.

    python -m bench.tune_chunking build /tmp/chunk            # idx-<manual> for each manual (full rebuild)
    python -m bench.tune_chunking eval /tmp/chunk             # first / top 5 / sentence on the tune halves
    python -m bench.tune_chunking fail /tmp/chunk developers-reference   # tune misses, top and gold passage

Only "split": "tune" questions are scored or shown unless --split says otherwise
(report figures: --split test, once, for the variant chosen). Each index keeps its
own embedding cache, so rebuilding a folder embeds only passages cut differently.
The lead-in rule of qa/chunking.py (chunker version 2) was chosen this way. Tune first
passage, developers-reference / debian-policy / debian-reference (2026-11-23):

    before (version 1)                                   0.667 0.829 0.629
    last 1-2 sentences (<= 40 tokens) across paragraphs  0.767 0.780 0.600
    the same, 1 sentence <= 20 / <= 40 tokens            0.700 0.829 0.629 / 0.700 0.805 0.657
    backfill passages under 0.5 / 0.3 x max_tokens       0.700 0.805 0.629 / 0.700 0.805 0.629
    ':' ends no half-full passage                        0.733 0.829 0.657
    + 'as follows' / 'the following', carried over a cut 0.767 0.829 0.714  (chosen)
    chosen + list items kept together                    0.767 0.829 0.743  (sentence -1 and -1)
    chosen + backfill 0.3 / + 1 sentence <= 20 tokens    0.767 0.829 0.714 / 0.767 0.829 0.686
    chosen + a "$ "/"# " command line as its own lead-in  0.767 0.829 0.714  (one question won, one lost)

Over main at 3ea9bc4 (plain-text contents and heading underlines left out of passages),
the chosen rule moves them 0.667 0.780 0.600 -> 0.767 0.805 0.686 (top 5 0.933 0.927 0.914
-> 0.933 0.951 0.943; sentence unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANUALS = ROOT / "tests" / "data" / "manuals"
NAMES = ("developers-reference", "debian-policy", "debian-reference")


def _norm(t: str) -> str:
    return " ".join(t.lower().split())


def build(folder: Path, names: list[str]) -> None:
    from qa.build import build_index
    from qa.settings import Settings

    for name in names:
        started = time.time()
        r = build_index(Settings(documents=MANUALS / name / "documents", index=folder / f"idx-{name}"), full=True)
        print(f"{name}: {r.passages} passages, {time.time() - started:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)


def evaluate(folder: Path, names: list[str], split: str) -> None:
    from qa.evaluation import evaluate_questions
    from qa.search import Searcher

    for name in names:
        r = evaluate_questions(MANUALS / name / "questions.jsonl", Searcher(folder / f"idx-{name}"), split=split)
        print(f"{name} {split}: n={r.answerable} first {r.answer_in_first:.3f} top5 {r.answer_in_top5:.3f} "
              f"sentence {r.answer_in_sentence:.3f} (load {os.getloadavg()[0]:.1f})", flush=True)


def failures(folder: Path, name: str, split: str) -> None:
    """Each miss: the top passage, and the first passage of the top 20 that holds the gold (with its neighbours)."""
    from qa.search import Searcher

    s = Searcher(folder / f"idx-{name}")
    items = [json.loads(x) for x in (MANUALS / name / "questions.jsonl").read_text().splitlines() if x.strip()]
    for it in (i for i in items if i["gold"] and i.get("split") == split):
        answer = s.ask(it["q"], k=20)
        has = lambda t: any(_norm(g) in _norm(t) for g in it["gold"])  # noqa: E731
        ranks = [n for n, h in enumerate(answer.passages, 1) if has(h.text)]
        if ranks and ranks[0] == 1:
            continue
        top = answer.passages[0]
        print(f"\nQ: {it['q']}  gold={it['gold']}  rank={ranks[0] if ranks else None}")
        print(f"  TOP [{top.citation.section}] L{top.citation.line_start}-{top.citation.line_end} {top.text[:300]!r}")
        if ranks:
            g = answer.passages[ranks[0] - 1]
            c = g.citation
            print(f"  GOLD [{c.section}] L{c.line_start}-{c.line_end} {g.text[:300]!r}")
            print(f"  same section as top: {c.document == top.citation.document and c.section == top.citation.section}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["build", "eval", "fail"])
    ap.add_argument("folder", type=Path)
    ap.add_argument("names", nargs="*", default=list(NAMES))
    ap.add_argument("--split", default="tune")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="build: set a qa.chunking module constant for this build (a knob being tried)")
    args = ap.parse_args(argv)
    if args.stage == "build":
        from qa import chunking

        for item in args.set:
            name, value = item.split("=", 1)
            setattr(chunking, name, type(getattr(chunking, name))(float(value)))
            print(f"chunking.{name} = {getattr(chunking, name)}")
        build(args.folder, args.names)
    elif args.stage == "eval":
        evaluate(args.folder, args.names, args.split)
    else:
        for name in args.names:
            failures(args.folder, name, args.split)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
