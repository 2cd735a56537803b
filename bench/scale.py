"""One corpus size, measured in its own process so that peak memory is its own.

    python -m bench.scale build --size N --base DIR --root DIR   # prints one JSON object
    python -m bench.scale serve --root DIR --base DIR --queries N

`--base` is a folder written by `python -m bench`: real SciFact passages
(`passages.jsonl`), their real embeddings (`vectors.npy`) and the SciFact test
questions with their ONNX embeddings (`queries.json`, `queries.npy`).

Sizes above the real corpus are made of variants of real passages:
- text: copy c of a passage drops one of its sentences (sentence c mod n), or,
  for one-sentence passages, every 7th word from an offset c; so BM25 sees
  real vocabulary and realistic document lengths, never exact duplicates;
- vector: the real vector of that passage plus half the real vector of a
  random other passage plus Gaussian noise (norm ~0.3), renormalised; so
  vectors stay in the region real embeddings occupy, in clusters as real
  ones are, without being copies (which would make search artificially easy).
- sentence vectors (stored at build time for the answering sentence): each
  sentence's is its passage's vector plus Gaussian noise (norm ~0.5),
  renormalised and stored as a build stores them (int8, a scale per row); the
  answer's cost does not depend on their values, only on their count.
Embedding a million passages would take a day on this CPU: the build time of
that part is reported from the measured throughput, not run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: after fork + exec the latter still counts the parent's pages.
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(keys: tuple[str, ...]) -> dict[str, int]:
    try:
        lines = open("/proc/self/status", encoding="ascii").read().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) // 1024 for k, _, v in (line.partition(":") for line in lines) if k in keys}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _variant(row: dict, copy: int) -> dict:
    """A real passage, changed a little: one sentence (or some words) left out."""
    if copy == 0:
        return row
    text, sentences = row["text"], row["sentences"]
    if len(sentences) >= 2:
        drop = copy % len(sentences)
        kept = [s for i, s in enumerate(sentences) if i != drop]
        parts, spans, at = [], [], 0
        for a, b, ls, le in kept:
            piece = text[a:b]
            spans.append([at, at + len(piece), ls, le])
            parts.append(piece)
            at += len(piece) + 1
        new_text = " ".join(parts)
    else:
        words = text.split()
        new_text = " ".join(w for i, w in enumerate(words) if (i + copy) % 7 or len(words) < 4)
        spans = [[0, len(new_text), row["line_start"], row["line_end"]]]
    return dict(row, document=f"copy{copy:04d}/{row['document']}", text=new_text, sentences=spans)


def _vectors(base: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    n0, dim = base.shape
    out = np.empty((size, dim), dtype=np.float32)
    out[: min(size, n0)] = base[: min(size, n0)]
    rng = np.random.default_rng(seed)
    for start in range(n0, size, 65536):
        stop = min(size, start + 65536)
        own = base[np.arange(start, stop) % n0]
        other = base[rng.integers(0, n0, stop - start)]
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32) * (0.3 / np.sqrt(dim))
        v = own + 0.5 * other + noise
        out[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def _sentence_vectors(passages: list, vectors: np.ndarray, seed: int = 1):
    """Stored sentence vectors for derived passages, in chunks (float32 for all of them would be ~8 GB at 1M)."""
    from qa.sentence_vectors import Pending, offsets, quantise

    at = offsets(passages)
    owner = np.repeat(np.arange(len(passages)), np.diff(at))
    rows = np.empty((len(owner), vectors.shape[1]), dtype=np.int8)
    scales = np.empty(len(owner), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, len(owner), 65536):
        stop = min(len(owner), start + 65536)
        v = vectors[owner[start:stop]] + rng.standard_normal((stop - start, vectors.shape[1]), dtype=np.float32) * (0.5 / np.sqrt(vectors.shape[1]))
        rows[start:stop], scales[start:stop] = quantise(v / np.linalg.norm(v, axis=1, keepdims=True))
    return Pending(rows, scales, at)


def derived(size: int, base: Path) -> tuple[list, np.ndarray, object, float]:
    """(passages, vectors, manifest, seconds to derive) of `size` passages made from the real ones in `base`."""
    from qa.build import versions
    from qa.chunking import Passage
    from qa.manifest import Chunking, Counts, DocumentEntry, Manifest, ModelIdentity, StoreInfo

    rows = [json.loads(line) for line in open(base / "passages.jsonl", encoding="utf-8")]
    meta = json.loads((base / "meta.json").read_text(encoding="utf-8"))
    n0 = len(rows)
    t = time.perf_counter()
    passages = [Passage.from_dict(_variant(rows[r % n0], r // n0)) for r in range(size)]
    vectors = _vectors(np.load(base / "vectors.npy"), size)
    derive_s = time.perf_counter() - t

    documents: dict[str, DocumentEntry] = {}
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.document] = counts.get(p.document, 0) + 1
    for p in passages:
        documents.setdefault(p.document, DocumentEntry("0" * 64, p.title, "utf-8", counts[p.document]))
    chunking = meta["chunking"] or {"chunk_tokens": 128, "overlap_sentences": 1, "cleaner_version": 1}
    manifest = Manifest(
        generation="", created="bench", model=ModelIdentity(**meta["model"]), chunking=Chunking(**chunking),
        store=StoreInfo(""), documents=documents, skipped=(), counts=Counts(len(documents), size, size),
        versions=versions(),
    )
    return passages, vectors, manifest, derive_s


def build(size: int, base: Path, root: Path) -> dict:
    from qa import generation
    from qa.backends.faiss import FaissBackend
    from qa.store import FlatStore

    passages, vectors, manifest, derive_s = derived(size, base)
    t = time.perf_counter()
    sentences = _sentence_vectors(passages, vectors)
    derive_s += time.perf_counter() - t
    documents = manifest.documents
    root.mkdir(parents=True, exist_ok=True)
    # Vector store, BM25 and passage table, written and committed as a build does.
    t = time.perf_counter()
    name = generation.write(root, manifest, passages, vectors, FaissBackend(), sentences=sentences)
    write_s = time.perf_counter() - t
    size_bytes = sum(f.stat().st_size for f in (root / name).rglob("*") if f.is_file())
    store = generation.open_generation(root / name, full_check=False).index.store

    # Search quality and speed of the chosen store against an exact scan.
    queries = np.load(base / "queries.npy")
    exact = store if isinstance(store, FlatStore) and store.kind == "faiss-flat-ip" else None
    if exact is None:
        exact = FlatStore(vectors.shape[1])
        exact.add(vectors)
    truth = exact.search(queries, 10)[1]
    exact_ms = _timed_search(exact, queries[:30], 100)
    found = store.search(queries, 10)[1]
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)]))
    out = {
        "passages": size,
        "sentences": len(sentences.rows),
        "documents": len(documents),
        "store": store.kind,
        "store_params": store.params(),
        "derive_s": round(derive_s, 2),
        "write_s": round(write_s, 2),
        "index_bytes": size_bytes,
        "exact_search_ms_p50": round(_pct(exact_ms, 50), 2),
        "recall_at_10": round(recall, 4),
        "build_peak_rss_mb": round(_peak_rss_mb()),
    }
    if store.kind == "faiss-ivf-flat-ip":
        sweep = {}
        for nprobe in (8, 16, 32, 48, 64, 96, 128):
            store.NPROBE = nprobe
            found = store.search(queries, 10)[1]
            sweep[nprobe] = {
                "recall_at_10": round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])), 4),
                "search_ms_p50": round(_pct(_timed_search(store, queries[:100], 100), 50), 2),
            }
        out["ivf_nprobe_sweep"] = sweep
    return out


def _timed_search(store, queries: np.ndarray, depth: int) -> list[float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        store.search(q[None, :], depth)
        times.append((time.perf_counter() - t) * 1000)
    return times


def hnsw(size: int, base: Path) -> dict:
    """The alternative to IVF, measured on the same vectors: build time and recall."""
    import faiss

    vectors = _vectors(np.load(base / "vectors.npy"), size)
    queries = np.load(base / "queries.npy")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    truth = exact.search(queries, 10)[1]
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    t = time.perf_counter()
    index.add(vectors)
    build_s = time.perf_counter() - t
    index.hnsw.efSearch = 128
    found = index.search(queries, 10)[1]
    times = []
    for q in queries[:100]:
        t = time.perf_counter()
        index.search(q[None, :], 100)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "passages": size,
        "params": {"M": 32, "efConstruction": 40, "efSearch": 128},
        "build_s": round(build_s, 2),
        "recall_at_10": round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])), 4),
        "search_ms_p50": round(_pct(times, 50), 2),
    }


def _timed_pass(searcher, gen, questions: list[str]) -> tuple[list[float], ...]:
    """Per question, in ms: encode, vector search, fusion (BM25 + combining), full answer, and the
    CPU time (all threads) of retrieval and of the full answer: on a shared machine wall time
    swings with the load, CPU time much less."""
    from qa.ranking import candidates

    encode, search, fusion, ask, retrieve_cpu, ask_cpu = [], [], [], [], [], []
    depth = max(100, 3 * 5 + 10)  # what Searcher.ask asks the store for at k=5
    for q in questions:
        c0 = time.process_time()
        t0 = time.perf_counter()
        v = searcher.embedder.encode([q])[0]
        t1 = time.perf_counter()
        c1 = time.process_time()
        gen.index.dense(v, depth)
        t2 = time.perf_counter()
        c2 = time.process_time()
        candidates(gen.index, q, v, 5, None, "hybrid")  # the search again, then BM25 and fusion
        t3 = time.perf_counter()
        c3 = time.process_time()
        searcher.ask(q, k=5)
        t4 = time.perf_counter()
        retrieve_cpu.append(((c1 - c0) + (c3 - c2)) * 1000)
        ask_cpu.append((time.process_time() - c3) * 1000)
        encode.append((t1 - t0) * 1000)
        search.append((t2 - t1) * 1000)
        fusion.append(max(0.0, (t3 - t2) - (t2 - t1)) * 1000)  # candidates runs the search again
        ask.append((t4 - t3) * 1000)
    return encode, search, fusion, ask, retrieve_cpu, ask_cpu


def serve(root: Path, base: Path, n_queries: int) -> dict:
    """What a process answering questions sees: open time, memory, latency per stage."""
    t = time.perf_counter()
    from qa.current import load
    from qa.search import Searcher

    import_s = time.perf_counter() - t
    t = time.perf_counter()
    gen = load(root)
    load_s = time.perf_counter() - t
    # A server holds one generation: timing the open above must not leave a
    # second mapping of the same files, whose touched pages RSS counts twice.
    # Its background checksum check holds it until done.
    gen.checked.wait()
    del gen
    t = time.perf_counter()
    searcher = Searcher(root)
    open_s = time.perf_counter() - t
    gen = searcher.generation
    # A large generation's checksums are verified in a background thread while it
    # already serves (~3.5 s of one core at 1M passages). Earlier runs timed the
    # passes below while two such checks ran, and the encoder (two threads)
    # swung 5-8 ms with them; the passes now time the steady state after it.
    gen.checked.wait()
    check_s = time.perf_counter() - t
    questions = json.loads((base / "queries.json").read_text(encoding="utf-8"))[:n_queries]
    encoder = searcher.embedder
    # Two passes over the same questions: the first touches memory-mapped
    # pages for the first time (a fresh server), the second is steady state.
    cold = _timed_pass(searcher, gen, questions)
    encode, search, fusion, ask, retrieve_cpu, ask_cpu = _timed_pass(searcher, gen, questions)
    stats = {
        "first_pass_search_ms_p50": round(_pct(cold[1], 50), 2),
        "first_pass_retrieve_ms_p50": round(_pct([a + b + c for a, b, c in zip(*cold[:3])], 50), 2),
    }
    for name, values in (("encode", encode), ("search", search), ("fusion", fusion), ("ask", ask)):
        stats[f"{name}_ms_p50"] = round(_pct(values, 50), 2)
        stats[f"{name}_ms_p95"] = round(_pct(values, 95), 2)
    retrieve = [a + b + c for a, b, c in zip(encode, search, fusion)]
    stats["retrieve_ms_p50"] = round(_pct(retrieve, 50), 2)
    stats["retrieve_ms_p95"] = round(_pct(retrieve, 95), 2)
    stats["retrieve_cpu_ms_p50"] = round(_pct(retrieve_cpu, 50), 2)
    stats["ask_cpu_ms_p50"] = round(_pct(ask_cpu, 50), 2)
    stats["load_average"] = round(os.getloadavg()[0], 2)  # wall times are comparable only at similar load
    return {
        "import_s": round(import_s, 3),
        "load_ms": round(load_s * 1000, 1),
        "searcher_open_ms": round(open_s * 1000, 1),
        "background_check_s": round(check_s, 2),
        "encoder": type(encoder).__name__,
        "queries": len(questions),
        **stats,
        "serve_peak_rss_mb": round(_peak_rss_mb()),
        # At the end: memory of its own (anonymous) and pages of the index's
        # memory-mapped files it touched (shared with the OS cache, reclaimable).
        **{f"serve_end_{k.lower()}_mb": v for k, v in _status_mb(("RssAnon", "RssFile")).items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("build", "serve", "hnsw"))
    parser.add_argument("--size", type=int)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    if args.what == "build":
        result = build(args.size, args.base, args.root)
    elif args.what == "hnsw":
        result = hnsw(args.size, args.base)
    else:
        result = serve(args.root, args.base, args.queries)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
