r"""Does keeping technical tokens whole (debian/rules, --build-depends, dh_make) help keyword search?

Measured on the manuals' tune questions (hybrid fusion as in `candidates`), whole tokens beside the
stemmed parts did not help: developers-reference first 0.667 -> 0.667, top-5 0.833 -> 0.833;
debian-policy first 0.829 -> 0.805, top-5 0.951 -> 0.951; debian-reference first 0.543 -> 0.543,
top-5 0.886 -> 0.857. So qa/lexical.py keeps bm25s's tokenisation. To rerun, give qa/lexical.py a
module flag WHOLE_TOKENS that `tokenize` honours (the experiment's version appended
re.findall(r"(?<![\w/.$-])(?:--?|\$)?[A-Za-z_][\w+]*(?:[/.:-][\w+]+)+|(?<![\w-])--?[A-Za-z][\w-]+|\$[A-Za-z_]\w*")
lower-cased to each text's tokens).

    python -m bench.tune_lexical [--indexes /tmp/qwork] [--split tune]

For each manual's index (built with `qa index`), rebuilds the keyword index
in memory with and without the extra whole tokens and fuses it with the
stored vectors exactly as `candidates` does; prints first-passage and top-5
gold rates on the questions of the chosen split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

MANUALS = Path(__file__).resolve().parent.parent / "tests" / "data" / "manuals"


def main(argv: list[str] | None = None) -> int:
    from qa import lexical
    from qa.search import LEXICAL_FUSION, Searcher

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--indexes", default="/tmp/qwork")
    ap.add_argument("--split", default="tune")
    args = ap.parse_args(argv)
    for name in ("developers-reference", "debian-policy", "debian-reference"):
        searcher = Searcher(Path(args.indexes) / f"idx-{name}")
        index = searcher.generation.index
        passages = list(index.passages())
        vectors = index.vectors(np.arange(len(passages)))
        texts = [lexical.keyword_text(p.title, p.text) for p in passages]
        items = [json.loads(x) for x in (MANUALS / name / "questions.jsonl").read_text().splitlines() if x.strip()]
        items = [i for i in items if i["gold"] and i["split"] == args.split]
        for whole in (False, True):
            lexical.WHOLE_TOKENS = whole
            bm = lexical.Lexical.build(texts)
            first = top5 = 0
            for it in items:
                q = searcher.embedder.encode([it["q"]])[0]
                kw = bm.scores(it["q"])
                fused = (1 - LEXICAL_FUSION) * (vectors @ q) + LEXICAL_FUSION * (kw / kw.max() if kw.max() > 0 else kw)
                order = np.argsort(-fused, kind="stable")[:5]
                has = [any(g.lower() in " ".join(passages[r].text.lower().split()) for g in it["gold"]) for r in order]
                first += has[0]
                top5 += any(has)
            print(f"{name} {args.split} whole_tokens={whole}: first {first / len(items):.3f} top5 {top5 / len(items):.3f} "
                  f"(n={len(items)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
