"""Choose how keyword and meaning scores are fused, on SciFact's *train* queries only.

    python -m bench.tune_fusion [--beir ../shared/eval/scifact]

Prints nDCG@10 on train for each fusion and weight, then the chosen one on
test (reported, never tuned on).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench.corpus import SCIFACT
from qa.evaluation import ndcg_at


def _arrays(searcher, names, queries):
    """Per query: candidate doc ids (best passage each) with dense and BM25 scores."""
    from qa.ranking import candidates

    index = searcher.generation.index
    out = {}
    for qid, text in queries.items():
        q = searcher.embedder.encode([text])[0]
        rows, _, _ = candidates(index, text, q, 300, None, "hybrid")
        rows = np.array(rows)
        dense = index.vectors(rows) @ q
        lexical = index.keyword_scores(text, rows)
        docs = [names[index.passage(r).document] for r in rows]
        out[qid] = (docs, dense, lexical)
    return out


def _score(arrays, qrels, fuse):
    total = 0.0
    for qid, (docs, dense, lexical) in arrays.items():
        fused = fuse(dense, lexical)
        ranked, seen = [], set()
        for i in np.argsort(-fused, kind="stable"):
            if docs[i] not in seen:
                seen.add(docs[i])
                ranked.append(docs[i])
        total += ndcg_at(ranked[:10], qrels[qid])
    return total / len(arrays)


def _ranks(x):
    r = np.empty(len(x))
    r[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return r


FUSIONS = {
    "cosine + w*bm25/max": lambda w: lambda d, l: (1 - w) * d + w * (l / l.max() if l.max() > 0 else l),
    "minmax both": lambda w: lambda d, l: (1 - w) * (d - d.min()) / (np.ptp(d) or 1) + w * (l - l.min()) / (np.ptp(l) or 1),
    "rrf k=60": lambda w: lambda d, l: (1 - w) / (60 + _ranks(d)) + w / (60 + _ranks(l)),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beir", default=str(SCIFACT))
    args = parser.parse_args()

    from qa.evaluation import file_name, evaluate_beir, read_beir
    from qa.search import Searcher
    from qa.evaluation import work_dir

    evaluate_beir(Path(args.beir), split="train", mode="dense", log=print)  # builds or reuses the index
    work = work_dir(Path(args.beir))
    searcher = Searcher(work / "index")
    corpus, _, _ = read_beir(Path(args.beir), "train")
    names = {file_name(d): d for d in corpus}
    results = {}
    for split in ("train", "test"):
        _, queries, qrels = read_beir(Path(args.beir), split)
        arrays = _arrays(searcher, names, queries)
        results[split] = (arrays, qrels)
    arrays, qrels = results["train"]
    print("\n| fusion | weight | nDCG@10 train |\n|---|---|---|")
    best = None
    for name, make in FUSIONS.items():
        for w in np.round(np.arange(0.0, 1.01, 0.1), 2):
            s = _score(arrays, qrels, make(w))
            print(f"| {name} | {w:.1f} | {s:.4f} |")
            if best is None or s > best[0]:
                best = (s, name, w)
    s, name, w = best
    test = _score(*results["test"], FUSIONS[name](w))
    print(f"\nchosen on train: {name}, weight {w:.1f} (train {s:.4f}); test nDCG@10 {test:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
