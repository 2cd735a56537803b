"""Quick numbers for the Milvus backend on Milvus Lite (one size per run, its own process).

    python -m bench.milvus_quick --size 10000 --dir /tmp/mq [--dense FLAT|HNSW] [--queries 200]

Passages are ~100 words drawn Zipf-like from the sample documents' vocabulary
(BM25 sees a realistic spread of common and rare terms); vectors are random
unit vectors of dimension 384 (no embedding cost: ingest is measured alone).
Vectors are clustered around 1,000 random centres as real embeddings cluster
by topic; `--uniform` gives unclustered ones, HNSW's worst case, where the true
top 10 after the first are noise-level ties no graph finds.
Questions: dense = a stored vector plus noise; keyword = 5 words of a passage.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np

from qa.backends import milvus as M
from qa.chunking import Passage

ROOT = Path(__file__).resolve().parent.parent


def corpus(n: int, dim: int, seed: int = 0, uniform: bool = False) -> tuple[list[Passage], np.ndarray]:
    rng = np.random.default_rng(seed)
    words = sorted({w.lower() for f in (ROOT / "documents").glob("*.txt") for w in re.findall(r"[A-Za-z]{3,}", f.read_text())})
    # Rare synthetic terms widen the vocabulary the way names and codes do in real text.
    words += [f"term{i}" for i in range(20_000)]
    p = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    p /= p.sum()
    perm = rng.permutation(len(words))
    passages = []
    for i in range(n):
        text = " ".join(words[perm[j]] for j in rng.choice(len(words), size=int(rng.integers(80, 120)), p=p)) + "."
        passages.append(Passage(document=f"doc{i // 20:06d}.txt", title=f"Document {i // 20}", text=text, char_start=0,
                                char_end=len(text), line_start=1, line_end=1, sentences=((0, len(text), 1, 1),), tokens=128))
    v = rng.standard_normal((n, dim)).astype(np.float32)
    if not uniform:
        # Real embeddings cluster by topic: 1,000 random centres, each vector its
        # centre plus an equally long random part (cosine ~0.5 within a cluster).
        centres = rng.standard_normal((1000, dim)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        v += centres[rng.integers(0, len(centres), n)]
    return passages, v / np.linalg.norm(v, axis=1, keepdims=True)


def pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(xs) * 1000, q)), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/milvus_quick"))
    ap.add_argument("--dense", choices=["FLAT", "HNSW"], default=None, help="override the size rule")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--uniform", action="store_true", help="unclustered random vectors (HNSW's worst case)")
    a = ap.parse_args()
    if a.dense:
        M.EXACT_BELOW = 10**12 if a.dense == "FLAT" else 0
    shutil.rmtree(a.dir, ignore_errors=True)
    a.dir.mkdir(parents=True)
    passages, vectors = corpus(a.size, a.dim, uniform=a.uniform)
    uri = str(a.dir / "milvus.db")
    out: dict = {"size": a.size, "dim": a.dim, "vectors": "uniform" if a.uniform else "clustered"}

    b = M.MilvusBackend(uri)
    t = time.perf_counter()
    w = b.write(Path("gen-000001"), passages, vectors)
    out["write_s"] = round(time.perf_counter() - t, 2)
    out["ingest_per_s"] = round(a.size / out["write_s"])
    out["dense_index"] = w.params["dense_index"]
    b.close()

    t = time.perf_counter()
    b = M.MilvusBackend(uri)
    ix = b.open(Path("gen-000001"), w)
    out["open_s"] = round(time.perf_counter() - t, 2)
    # Lite scores BM25 per segment (segment-local IDF): more than one means scores drift from bm25s's.
    out["segments"] = len(list(Path(uri).rglob("data_*.parquet")))
    out["disk_mib"] = round(sum(f.stat().st_size for f in Path(uri).rglob("*") if f.is_file()) / 2**20, 1)

    rng = np.random.default_rng(1)
    picks = rng.choice(a.size, size=a.queries, replace=False)
    qs = vectors[picks] + rng.standard_normal((a.queries, a.dim)).astype(np.float32) * 0.02
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    questions = [" ".join(rng.choice(passages[i].text.rstrip(".").split(), size=5)) for i in picks]

    ix.dense(qs[0], 100), ix.keyword(questions[0], 100)  # first touch (segment caches)
    dense_t, hits = [], 0
    for q in qs:
        t = time.perf_counter()
        rows, _ = ix.dense(q, 100)
        dense_t.append(time.perf_counter() - t)
        exact = np.argpartition(-(vectors @ q), 10)[:10]
        hits += len(set(rows[:10].tolist()) & set(exact.tolist()))
    out["dense_p50_ms"], out["dense_p95_ms"] = pct(dense_t, 50), pct(dense_t, 95)
    out["recall_at_10"] = round(hits / (10 * len(qs)), 4)

    kw_t, hy_t = [], []
    for q, question in zip(qs, questions):
        t = time.perf_counter()
        krows, _ = ix.keyword(question, 100)
        kw_t.append(time.perf_counter() - t)
        # Hybrid as qa fuses: both candidate lists, then cosine and BM25 of the pool, then the top passages.
        t = time.perf_counter()
        drows, _ = ix.dense(q, 100)
        krows, _ = ix.keyword(question, 100)
        pool = np.union1d(drows, krows)
        fused = 0.7 * (ix.vectors(pool) @ q) + 0.3 * ix.keyword_scores(question, pool)
        ix.passages_at(pool[np.argsort(-fused)[:10]])
        hy_t.append(time.perf_counter() - t)
    out["keyword_p50_ms"], out["keyword_p95_ms"] = pct(kw_t, 50), pct(kw_t, 95)
    out["hybrid_p50_ms"], out["hybrid_p95_ms"] = pct(hy_t, 50), pct(hy_t, 95)

    one = []
    for r in picks[:50]:
        t = time.perf_counter()
        ix.passage(int(r))
        one.append(time.perf_counter() - t)
    out["passage_uncached_p50_ms"] = pct(one, 50)
    print(json.dumps(out))
    b.close()


if __name__ == "__main__":
    main()
