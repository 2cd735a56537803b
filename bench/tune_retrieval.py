"""Retrieval choices measured on SciFact *train* (then reported once on test).

    python -m bench.tune_retrieval [--beir ../shared/eval/scifact] [--split train]

Needs the index `qa eval` leaves in ~/.cache/qa-eval. Tries, per query, over
the same candidate pool `Searcher.rank` uses: how passages add up to a
document (best passage only, or plus a share of the next ones), and the
keyword weight as a function of question length.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from qa.evaluation import file_name, ndcg_at, read_beir, recall_at, work_dir


def pools(searcher, queries):
    from qa.ranking import candidates

    index = searcher.generation.index
    out = {}
    for qid, text in queries.items():
        q = searcher.embedder.encode([text])[0]
        rows, _, _ = candidates(index, text, q, 800, None, "hybrid")
        rows = np.array(rows)
        dense = index.vectors(rows) @ q
        _, best = index.keyword(text, 1)
        top = float(best[0]) if len(best) else 0.0
        kw = index.keyword_scores(text, rows) / top if top > 0 else np.zeros(len(rows))
        out[qid] = (rows, dense, kw, len(text.split()))
    return out


def rank_docs(rows, fused, doc_of, second: float, depth: int = 100):
    order = np.argsort(-fused, kind="stable")
    best: dict[str, list[float]] = {}
    for i in order:
        d = doc_of[rows[i]]
        if d is None:
            continue
        best.setdefault(d, []).append(float(fused[i]))
    score = {d: s[0] + second * (s[1] if len(s) > 1 else 0.0) for d, s in best.items()}
    return sorted(score, key=lambda d: -score[d])[:depth]


def main(argv: list[str] | None = None) -> int:
    from qa.ranking import LEXICAL_FUSION
    from qa.search import Searcher

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--beir", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "scifact"))
    ap.add_argument("--split", default="train")
    args = ap.parse_args(argv)
    corpus, queries, qrels = read_beir(Path(args.beir), args.split)
    searcher = Searcher(work_dir(Path(args.beir)) / "index")
    names = {file_name(d): d for d in corpus}
    index = searcher.generation.index
    doc_of = {}
    data = pools(searcher, queries)
    for rows, *_ in data.values():
        for r in rows:
            if r not in doc_of:
                doc_of[r] = names.get(index.passage(int(r)).document)
    for label, weight in [("fixed 0.3", lambda n: LEXICAL_FUSION), ("0.2 short, 0.4 long", lambda n: 0.2 if n < 10 else 0.4),
                          ("0.4 short, 0.2 long", lambda n: 0.4 if n < 10 else 0.2), ("fixed 0.4", lambda n: 0.4),
                          ("fixed 0.25", lambda n: 0.25)]:
        for second in (0.0, 0.1, 0.2, 0.3):
            nd = r100 = 0.0
            for qid, (rows, dense, kw, n) in data.items():
                w = weight(n)
                ranked = rank_docs(rows, (1 - w) * dense + w * kw, doc_of, second)
                nd += ndcg_at(ranked[:10], qrels[qid])
                r100 += recall_at(ranked[:100], qrels[qid])
            print(f"{args.split} fusion {label:22s} second-passage share {second:.1f}: nDCG@10 {nd / len(data):.4f} "
                  f"R@100 {r100 / len(data):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
