"""Both backends on the same machine and the same data, in one run, one table.

    python -m bench.backends --passages 100000 [--queries 100] [--backends faiss,milvus-lite,milvus-server]

Rows: `faiss` (the default backend), `milvus-lite` (a Milvus Lite file, as
`qa index --backend milvus --uri index/milvus.db`), `milvus-server` (a Milvus
server reached by URL: milvus-lite's own gRPC server, started here on a free
port; a cluster is reached the same way). Passages and vectors are derived from
the real SciFact passages and their real embeddings exactly as bench/scale.py
does (nothing is embedded; embedding 100k passages takes hours on a CPU).
Questions are SciFact test questions, encoded once by the ONNX encoder.

Per backend, each in fresh processes:
- ingest: passages/s of `generation.write` (vectors, keyword index, passages,
  commit), embedding excluded;
- open: seconds to open the committed generation in a new process;
- first question: the first hybrid retrieval after opening (caches cold);
- hybrid p50/p95: the retrieval `Searcher.ask` runs (dense + BM25 + fusion,
  `qa.ranking.candidates`), question encoding excluded, after the first;
- recall@10: the backend's dense top 10 against an exact scan of the same vectors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.corpus import ROOT, SCIFACT, child_json, cpu_name

BACKENDS = ("faiss", "milvus-lite", "milvus-server")


def prepare_base(work: Path, n_queries: int) -> str:
    """Real passages, vectors and encoded questions in bench/scale.py's layout, from the SciFact eval index."""
    from qa.evaluation import read_beir, work_dir
    from qa.fast_encoder import open_fast

    index = work_dir(SCIFACT) / "index"
    if not (index / "CURRENT").is_file():
        raise SystemExit(f"no SciFact eval index in {index}; build it once with: qa eval {SCIFACT}")
    passages, vectors, m = _scifact(index)
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "passages.jsonl", "w", encoding="utf-8") as fh:
        for r in passages:
            fh.write(json.dumps(dict(r, sentences=[list(s) for s in r["sentences"]]), ensure_ascii=False) + "\n")
    np.save(work / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    meta = {"model": asdict(m.model), "chunking": asdict(m.chunking)}
    (work / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    encoder = open_fast(m.model.sha256)
    if encoder is None:
        raise SystemExit("the ONNX export of the SciFact model is missing; run qa index once")
    texts = list(read_beir(SCIFACT, "test")[1].values())[:n_queries]
    np.save(work / "queries.npy", np.asarray(encoder.encode(texts), dtype=np.float32), allow_pickle=False)
    (work / "queries.json").write_text(json.dumps(texts), encoding="utf-8")
    return f"{len(vectors):,} real SciFact passages and vectors, {len(texts)} SciFact test questions"


def _scifact(index: Path) -> tuple[list[dict], np.ndarray, object]:
    """(passage dicts, vectors, manifest) of the cached SciFact index.

    The eval cache outlives code changes: when the current code cannot open it
    (an older keyword-index layout), its passage table and FAISS vectors, which
    have not changed form, are read directly.
    """
    from qa import manifest
    from qa.current import load
    from qa.errors import QAError

    try:
        gen = load(index)
        return [p.to_dict() for p in gen.index.passages()], gen.index.vectors(np.arange(len(gen.index))), gen.manifest
    except QAError:
        import faiss

        folder = index / (index / "CURRENT").read_text(encoding="utf-8").strip()
        with open(folder / "passages.jsonl", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        flat = faiss.read_index(str(folder / "vectors.faiss"))
        return rows, flat.reconstruct_n(0, flat.ntotal), manifest.read(folder)


def _backend(name: str, root: Path, uri: str | None):
    from qa.backends.faiss import FaissBackend
    from qa.backends.milvus import MilvusBackend

    if name == "faiss":
        return FaissBackend()
    return MilvusBackend(str(root / "milvus.db") if name == "milvus-lite" else uri)


def build(name: str, size: int, base: Path, root: Path, uri: str | None) -> dict:
    from qa import generation

    from bench.scale import derived

    passages, vectors, manifest, _ = derived(size, base)
    root.mkdir(parents=True, exist_ok=True)
    backend = _backend(name, root, uri)
    t = time.perf_counter()
    generation.write(root, manifest, passages, vectors, backend)
    write_s = time.perf_counter() - t
    close = getattr(backend, "close", None)
    if close is not None:  # Milvus Lite: one process per database file; the serving child opens it next
        close()
    return {"write_s": round(write_s, 1), "ingest_per_s": round(size / write_s)}


def serve(size: int, base: Path, root: Path, depth: int = 10) -> dict:
    from qa.current import load
    from qa.ranking import candidates

    from bench.scale import _vectors

    questions = json.loads((base / "queries.json").read_text(encoding="utf-8"))
    qs = np.load(base / "queries.npy")
    t = time.perf_counter()
    gen = load(root)
    open_s = time.perf_counter() - t
    index = gen.index
    t = time.perf_counter()
    candidates(index, questions[0], qs[0], 5, None, "hybrid")
    first_s = time.perf_counter() - t
    times = []
    for question, q in zip(questions[1:], qs[1:]):
        t = time.perf_counter()
        candidates(index, question, q, 5, None, "hybrid")
        times.append((time.perf_counter() - t) * 1000)
    # Exact truth from the same derived vectors (re-derived: same seed, same rows).
    vectors = _vectors(np.load(base / "vectors.npy"), size)
    hits = 0
    for q in qs:
        truth = np.argpartition(-(vectors @ q), depth)[:depth]
        hits += len(set(index.dense(q, depth)[0].tolist()) & set(truth.tolist()))
    return {
        "dense_index": _dense_index(gen.manifest.store),
        "open_s": round(open_s, 2),
        "first_query_s": round(first_s, 2),
        "hybrid_ms_p50": round(float(np.percentile(times, 50)), 1),
        "hybrid_ms_p95": round(float(np.percentile(times, 95)), 1),
        "recall_at_10": round(hits / (depth * len(qs)), 4),
    }


def _dense_index(store) -> str:
    """What does the dense search, in words: `faiss-ivf-flat-ip`, `milvus HNSW M=16 efConstruction=100`."""
    index = store.params.get("dense_index")
    if index is None:
        return store.kind
    if isinstance(index, dict):
        (name, params), = index.items()
        index = name + " " + " ".join(f"{k}={v}" for k, v in params.items())
    return f"{store.kind} {index}"


def _child(args: list[str]) -> dict:
    return child_json("bench.backends", args)


def render(result: dict) -> str:
    lines = [f"{result['date']}, {result['machine']}, {result['passages']:,} passages ({result['source']})", "",
             "| backend | dense index | ingest (passages/s) | open (s) | first question (s) | hybrid p50 (ms) | hybrid p95 (ms) | dense recall@10 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['backend']} | {r['dense_index']} | {r['ingest_per_s']:,} | {r['open_s']} | {r['first_query_s']} | "
                     f"{r['hybrid_ms_p50']} | {r['hybrid_ms_p95']} | {r['recall_at_10']} |")
    loads = [r["load_average_1min"] for r in result["rows"] if "load_average_1min" in r]
    if loads:
        lines += ["", f"1-minute load average after each row: {', '.join(map(str, loads))} ({os.cpu_count()} cores)"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=("all", "build", "serve"))
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--backend", choices=BACKENDS, help="(child) the one backend")
    parser.add_argument("--base", type=Path, help="(child) the prepared base folder")
    parser.add_argument("--root", type=Path, help="(child) the index folder")
    parser.add_argument("--uri", help="(child) the Milvus server")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "backends.json")
    args = parser.parse_args()
    if args.what == "build":
        print(json.dumps(build(args.backend, args.passages, args.base, args.root, args.uri)))
        return 0
    if args.what == "serve":
        print(json.dumps(serve(args.passages, args.base, args.root)))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench.milvus_server import MilvusServer

    start = time.perf_counter()
    say = lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731
    result = {"date": dt.date.today().isoformat(), "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "passages": args.passages, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        result["source"] = prepare_base(base, args.queries)
        for name in args.backends.split(","):
            server = MilvusServer(Path(tmp) / "server") if name == "milvus-server" else None
            uri = server.start() if server else None
            try:
                root = Path(tmp) / f"index-{name}"
                common = ["--backend", name, "--passages", str(args.passages), "--base", str(base), "--root", str(root)]
                say(f"{name}: writing {args.passages:,} passages ...")
                row = {"backend": name, **_child(["build", *common, *(["--uri", uri] if uri else [])])}
                say(f"{name}: opening and asking {args.queries} questions ...")
                row.update(_child(["serve", *common]))
                # Other work on a shared machine inflates latencies: say how busy it was.
                row["load_average_1min"] = round(os.getloadavg()[0], 1)
                result["rows"].append(row)
                say(json.dumps(row))
            finally:
                if server:
                    server.stop()
                shutil.rmtree(Path(tmp) / f"index-{name}", ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
