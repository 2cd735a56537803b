r"""What BM25 indexes of a manual's passage, and how much of the fused score it gets.

Measured earlier: keeping technical tokens whole (debian/rules, --build-depends, dh_make) beside
the stemmed parts did not help on the manuals' tune questions (developers-reference first
0.667 -> 0.667, top-5 0.833 -> 0.833; debian-policy first 0.829 -> 0.805, top-5 0.951 -> 0.951;
debian-reference first 0.543 -> 0.543, top-5 0.886 -> 0.857; the experiment appended
re.findall(r"(?<![\w/.$-])(?:--?|\$)?[A-Za-z_][\w+]*(?:[/.:-][\w+]+)+|(?<![\w-])--?[A-Za-z][\w-]+|\$[A-Za-z_]\w*")
lower-cased to each text's tokens), so qa/lexical.py keeps bm25s's tokenisation.

This run compares the section heading in the keyword text (qa.lexical.SECTION_WORDS: none, the
heading the passage sits under, or the whole path) and the keyword share of the fused score.
Tune questions, weight 0.3, first/top-5 for none / leaf / path (2026-11-23):
developers-reference 0.667/0.867, 0.667/0.867, 0.667/0.867; debian-policy 0.805/0.951 all three;
debian-reference 0.543/0.857, 0.571/0.886, 0.571/0.914. The leaf is kept (the path's chapter
words are shared by a whole chapter); weights 0.2 and 0.4 were no better on all three.

    python -m bench.tune_lexical [--indexes /tmp/manuals2] [--split tune]

For each manual's index (built with `qa index`, which finds the sections), rebuilds the keyword
index in a temporary folder for each choice and fuses it with the stored vectors as `candidates`
does (over every passage); prints first-passage and top-5 gold rates on the chosen split.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

MANUALS = Path(__file__).resolve().parent.parent / "tests" / "data" / "manuals"


def main(argv: list[str] | None = None) -> int:
    from qa import lexical
    from qa.search import Searcher

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--indexes", default="/tmp/manuals2")
    ap.add_argument("--split", default="tune")
    args = ap.parse_args(argv)
    for name in ("developers-reference", "debian-policy", "debian-reference"):
        searcher = Searcher(Path(args.indexes) / f"idx-{name}")
        index = searcher.generation.index
        passages = [index.passage(r) for r in range(len(index))]
        vectors = index.vectors(np.arange(len(passages)))
        items = [json.loads(x) for x in (MANUALS / name / "questions.jsonl").read_text().splitlines() if x.strip()]
        items = [i for i in items if i["gold"] and i["split"] == args.split]
        qv = searcher.embedder.encode([i["q"] for i in items])
        gold = [[any(g.lower() in " ".join(p.text.lower().split()) for g in i["gold"]) for p in passages] for i in items]
        for words in ("", "leaf", "path"):
            lexical.SECTION_WORDS = words
            with tempfile.TemporaryDirectory() as tmp:
                lexical.Lexical.write(Path(tmp), [lexical.keyword_text(p.title, p.text, p.section) for p in passages])
                bm = lexical.Lexical.load(Path(tmp))
                kws = [bm.scores(i["q"]) for i in items]
            for weight in (0.2, 0.3, 0.4):
                first = top5 = 0
                for q, kw, has in zip(qv, kws, gold):
                    fused = (1 - weight) * (vectors @ q) + weight * (kw / kw.max() if kw.max() > 0 else kw)
                    order = np.argsort(-fused, kind="stable")[:5]
                    first += has[order[0]]
                    top5 += any(has[r] for r in order)
                print(f"{name} {args.split} section={words or 'none'} lexical={weight}: first {first / len(items):.3f} "
                      f"top5 {top5 / len(items):.3f} (n={len(items)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
