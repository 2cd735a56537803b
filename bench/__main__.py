"""Speed and scale on this machine: prints tables, writes bench/results/bench.json.

    python -m bench            # 10k, 100k and 1M passages (~15 min on 2 cores)
    python -m bench --quick    # 10k passages, smaller samples (~3 min)

What it measures, in one run:
1. the machine's matrix-multiply peak (torch, float32), the bound for embedding;
2. embedding throughput on real SciFact passages (passages/s, tokens/s, and
   the share of that peak the model reaches), and a real end-to-end build;
3. question encoding, ONNX Runtime against torch, and whether both give the
   same top 10 on the SciFact test questions; `qa ask` in a new process;
4. per corpus size: vector-store and BM25 build, index size, open time,
   search / fusion / full-answer latency, exact-search latency and the
   approximate store's recall@10 against it, peak memory (see bench/scale.py
   for how sizes above the real corpus are derived from real passages).

Real vectors come from the SciFact index that `qa eval ../shared/eval/scifact`
builds and caches; without it, from the passages embedded in step 2 (fewer
distinct vectors: the table says which).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.corpus import ROOT, SCIFACT, child_json, cpu_name, write_scifact_documents

RESULTS = ROOT / "bench" / "results"


def matmul_peak(seconds: float) -> float:
    """Best float32 GFLOP/s of a square matrix product, all cores (torch, as the model uses)."""
    import torch

    n = 1536
    a, b = torch.randn(n, n), torch.randn(n, n)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def layer_gemm_peak(seconds: float, rows: int, hidden: int, intermediate: int) -> float:
    """Best GFLOP/s of one transformer layer's matrix products at the model's
    own shapes (a batch of `rows` tokens): the bound for the model's GEMMs."""
    import torch

    x, h = torch.randn(rows, hidden), torch.randn(rows, intermediate)
    wq, w1, w2 = torch.randn(hidden, hidden), torch.randn(hidden, intermediate), torch.randn(intermediate, hidden)
    flops = 2 * rows * (4 * hidden * hidden + 2 * hidden * intermediate)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(4):
            torch.mm(x, wq)
        torch.mm(x, w1)
        torch.mm(h, w2)
        best = max(best, flops / (time.perf_counter() - t) / 1e9)
    return best


def model_flops(tokens: int, layers: int, hidden: int, intermediate: int) -> float:
    """Multiply-adds x2 of one BERT-style pass over `tokens` real tokens (no padding)."""
    per_layer = tokens * (2 * 4 * hidden * hidden + 2 * 2 * hidden * intermediate) + 2 * 2 * tokens * tokens * hidden
    return float(layers * per_layer)


def embedding(docs: int, say) -> tuple[dict, list]:
    """A real build of `docs` SciFact abstracts, then the model alone on its passages."""
    import qa
    from qa.embedding import Embedder
    from qa.onnx_export import ensure_export
    from qa.current import load

    embedder = Embedder(qa.Settings().model)
    ensure_export(embedder)  # once per model; not part of a build's cost
    config = embedder.model[0].auto_model.config
    with tempfile.TemporaryDirectory() as tmp:
        write_scifact_documents(Path(tmp) / "docs", docs)
        settings = qa.Settings(documents=Path(tmp) / "docs", index=Path(tmp) / "index")
        say(f"building an index of {docs} SciFact abstracts ...")
        report = qa.build_index(settings, embedder=embedder)
        gen = load(settings.index)
        passages = list(gen.index.passages())
        texts = [p.text for p in passages]
        rows = [p.to_dict() for p in passages]
        vectors = gen.index.vectors(np.arange(len(passages)))
    # The model alone, on the same passages, as a build feeds it.
    t = time.perf_counter()
    embedder.encode(texts, batch_size=qa.Settings().batch_size)
    encode_s = time.perf_counter() - t
    # Another runtime on the same passages: ONNX Runtime with the checked export.
    from qa.fast_encoder import open_fast

    fast = open_fast(embedder.identity().sha256)
    onnx_s = None
    if fast is not None:
        fast.encode(texts[:16])
        t = time.perf_counter()
        fast.encode(texts, batch_size=qa.Settings().batch_size)
        onnx_s = time.perf_counter() - t
    tokenizer = embedder.model.tokenizer
    t = time.perf_counter()
    ids = tokenizer(texts, truncation=False)["input_ids"]
    tokenize_s = time.perf_counter() - t
    lengths = [len(x) for x in ids]  # with [CLS] and [SEP], as the model sees them
    flops = sum(model_flops(n, config.num_hidden_layers, config.hidden_size, config.intermediate_size) for n in lengths)
    padded = _padded_tokens(sorted(lengths), qa.Settings().batch_size)
    return {
        "docs": docs,
        "passages": len(texts),
        "tokens": sum(lengths),
        "mean_tokens": round(statistics.mean(lengths), 1),
        "build_s": round(report.seconds, 2),
        "build_passages_per_s": round(len(texts) / report.seconds, 2),
        "encode_s": round(encode_s, 2),
        "encode_passages_per_s": round(len(texts) / encode_s, 2),
        "encode_tokens_per_s": round(sum(lengths) / encode_s),
        "encode_gflops": round(flops / encode_s / 1e9, 1),
        "onnx_encode_passages_per_s": round(len(texts) / onnx_s, 2) if onnx_s else None,
        "padding_share": round(1 - sum(lengths) / padded, 4),
        "tokenize_share": round(tokenize_s / encode_s, 4),
    }, [rows, vectors, embedder]


def _padded_tokens(sorted_lengths: list[int], batch: int) -> int:
    return sum(max(sorted_lengths[i : i + batch]) * len(sorted_lengths[i : i + batch]) for i in range(0, len(sorted_lengths), batch))


def queries(embedder, n: int, say) -> tuple[dict, list[str], np.ndarray]:
    """Question encoding, ONNX against torch, on SciFact test questions."""
    from qa.evaluation import read_beir
    from qa.fast_encoder import open_fast

    _, qs, _ = read_beir(SCIFACT, "test")
    texts = list(qs.values())
    fast = open_fast(embedder.identity().sha256)
    if fast is None:
        raise SystemExit("the ONNX export is missing; run qa index once")
    say(f"encoding {n} questions with ONNX Runtime and with torch ...")
    out = {}
    for name, enc in (("onnx", fast), ("torch", embedder)):
        enc.encode(texts[:3])
        times = []
        for q in texts[:n]:
            t = time.perf_counter()
            enc.encode([q])
            times.append((time.perf_counter() - t) * 1000)
        out[f"{name}_encode_ms_p50"] = round(float(np.percentile(times, 50)), 2)
        out[f"{name}_encode_ms_p95"] = round(float(np.percentile(times, 95)), 2)
    a, b = fast.encode(texts), embedder.encode(texts)
    out["onnx_vs_torch_min_cosine"] = round(float(np.min(np.sum(a * b, axis=1))), 6)
    return out, texts, a


def same_top10(embedder, texts: list[str], say) -> dict | None:
    """The fast path and the torch path rank the SciFact index identically."""
    from qa.evaluation import work_dir
    from qa.fast_encoder import open_fast
    from qa.search import Searcher

    index = work_dir(SCIFACT) / "index"
    if not (index / "CURRENT").is_file():
        return None
    say(f"comparing the top 10 of both encoders on {len(texts)} SciFact test questions ...")
    fast = Searcher(index, embedder=open_fast(embedder.identity().sha256))
    slow = Searcher(index, embedder=embedder)
    same = 0
    for q in texts:
        a = [(p.document, p.char_start) for p in fast.rank(q, 10)[0]]
        b = [(p.document, p.char_start) for p in slow.rank(q, 10)[0]]
        same += a == b
    return {"questions": len(texts), "identical_top10": same}


def cold_ask(say) -> dict:
    """`qa ask` in a new process on the sample index, wall-clock, median of 3."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "qa", "index", "--documents", str(ROOT / "documents"), "--index", tmp],
                       check=True, capture_output=True)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "qa", "ask", "When was the law on trafficking adopted?",
                                   "--index", tmp, "--json"], check=True, capture_output=True, text=True)
            times.append(time.perf_counter() - t)
        json.loads(done.stdout)
    return {"qa_ask_cold_s": round(statistics.median(times), 2)}


def base_corpus(work: Path, fallback, query_vectors: np.ndarray, query_texts: list[str]) -> str:
    """Real passages and vectors for the scale runs: the SciFact eval index, else the small build."""
    from qa.evaluation import work_dir
    from qa.current import load

    from qa.errors import QAError

    index = work_dir(SCIFACT) / "index"
    gen, why = None, ""
    if (index / "CURRENT").is_file():
        try:
            gen = load(index)
        except QAError as exc:  # written by an older qa: `qa eval` rebuilds it (from the embedding cache)
            why = f"; the SciFact eval index could not be opened ({exc}), run qa eval ../shared/eval/scifact to renew it"
    if gen is not None:
        rows, source = (p.to_dict() for p in gen.index.passages()), "SciFact eval index"
        vectors = gen.index.vectors(np.arange(len(gen.index)))
        meta = {"model": asdict(gen.manifest.model), "chunking": asdict(gen.manifest.chunking)}
    else:
        rows, vectors, embedder = fallback
        source = f"{len(vectors)} passages embedded by this run (run qa eval on SciFact for all 5,183 abstracts{why})"
        meta = {"model": asdict(embedder.identity()), "chunking": {}}
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "passages.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(dict(r, sentences=[list(s) for s in r["sentences"]]), ensure_ascii=False) + "\n")
    np.save(work / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    np.save(work / "queries.npy", query_vectors, allow_pickle=False)
    (work / "queries.json").write_text(json.dumps(query_texts), encoding="utf-8")
    (work / "meta.json").write_text(json.dumps(meta))
    return f"{source}: {len(vectors):,} real vectors"


def _child(args: list[str]) -> dict:
    return child_json("bench.scale", args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k passages and smaller samples (~3 min)")
    parser.add_argument("--sizes", help="comma-separated passage counts (default 10000,100000,1000000)")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/bench[-quick].json)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    out_path = args.out or RESULTS / ("bench-quick.json" if args.quick else "bench.json")
    start = time.perf_counter()
    say = lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    result: dict = {
        "date": dt.date.today().isoformat(),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
        "mode": "quick" if args.quick else "full",
    }
    say("measuring the matrix-multiply peak ...")
    peak = matmul_peak(2.0 if args.quick else 5.0)
    emb, fallback = embedding(30 if args.quick else 150, say)
    emb["matmul_peak_gflops"] = round(peak, 1)
    emb["share_of_peak"] = round(emb["encode_gflops"] / peak, 3)
    import qa

    rows = int(round(emb["mean_tokens"])) * qa.Settings().batch_size  # tokens in one batch
    config = fallback[2].model[0].auto_model.config
    layer = layer_gemm_peak(2.0 if args.quick else 4.0, rows, config.hidden_size, config.intermediate_size)
    emb["layer_gemm_gflops"] = round(layer, 1)
    emb["share_of_layer_gemm"] = round(emb["encode_gflops"] / layer, 3)
    result["embedding"] = emb
    q, texts, qvec = queries(fallback[2], 50 if args.quick else 300, say)
    top = same_top10(fallback[2], texts[: 50 if args.quick else 300], say)
    q.update(top and {"top10_" + k: v for k, v in top.items()} or {"top10_note": "no SciFact eval index; run qa eval"})
    say("timing qa ask in a new process ...")
    q.update(cold_ask(say))
    result["query"] = q

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        result["scale_source"] = base_corpus(base, fallback, qvec, texts)
        result["sizes"] = []
        for size in sizes:
            say(f"{size:,} passages: building ...")
            root = Path(tmp) / f"index-{size}"
            row = _child(["build", "--size", str(size), "--base", str(base), "--root", str(root)])
            say(f"{size:,} passages: serving ...")
            row.update(_child(["serve", "--root", str(root), "--base", str(base), "--queries", "30" if args.quick else "100"]))
            row["embed_hours_at_measured_rate"] = round(size / emb["encode_passages_per_s"] / 3600, 2)
            result["sizes"].append(row)
            shutil.rmtree(root, ignore_errors=True)
        if not args.quick and 100_000 in sizes:
            say("HNSW at 100,000 passages, for comparison ...")
            result["hnsw_100k"] = _child(["hnsw", "--size", "100000", "--base", str(base)])
    result["seconds"] = round(time.perf_counter() - start, 1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(render(result))
    say(f"wrote {out_path}")
    return 0


def render(r: dict) -> str:
    e, q = r["embedding"], r["query"]
    lines = [
        f"qa bench, {r['date']}, {r['machine']['cpu']}, {r['machine']['cores']} cores, {r['mode']} run ({r['seconds']:.0f} s)",
        "",
        "| embedding (build) | value |",
        "|---|---|",
        f"| matrix-multiply peak (torch, fp32) | {e['matmul_peak_gflops']} GFLOP/s |",
        f"| model alone on {e['passages']} real passages (mean {e['mean_tokens']} tokens) | {e['encode_passages_per_s']} passages/s, {e['encode_tokens_per_s']:,} tokens/s |",
        f"| the model's own matrix shapes (one layer's GEMMs, one batch) | {e['layer_gemm_gflops']} GFLOP/s |",
        f"| useful compute (real tokens only) | {e['encode_gflops']} GFLOP/s = **{e['share_of_peak']:.0%} of peak**, {e['share_of_layer_gemm']:.0%} of the model-shaped GEMM bound |",
        f"| the same passages with ONNX Runtime (same export as questions) | {e['onnx_encode_passages_per_s']} passages/s |",
        f"| padding inside length-sorted batches | {e['padding_share']:.1%} of tokens |",
        f"| tokenising, against encoding | {e['tokenize_share']:.1%} |",
        f"| end-to-end build of {e['docs']} abstracts (read, clean, chunk, embed, write) | {e['build_passages_per_s']} passages/s |",
        "",
        "| question | value |",
        "|---|---|",
        f"| encode, ONNX Runtime (p50 / p95) | **{q['onnx_encode_ms_p50']} ms** / {q['onnx_encode_ms_p95']} ms |",
        f"| encode, torch (p50 / p95) | {q['torch_encode_ms_p50']} ms / {q['torch_encode_ms_p95']} ms |",
        f"| ONNX vs torch, lowest cosine over the test questions | {q['onnx_vs_torch_min_cosine']} |",
    ]
    if "top10_identical_top10" in q:
        lines.append(f"| same top 10, ONNX vs torch path (SciFact test) | {q['top10_identical_top10']} / {q['top10_questions']} |")
    else:
        lines.append(f"| same top 10, ONNX vs torch path | {q['top10_note']} |")
    lines += [f"| `qa ask` in a new process, sample index (wall) | **{q['qa_ask_cold_s']} s** |", ""]
    lines += [
        f"Corpus sizes ({r['scale_source']}; larger sizes derived from them, see bench/scale.py):",
        "",
        "| passages | store | write (vectors, BM25, passages) | index on disk | open | search p50 / p95 | search p50, first touch | exact scan p50 | recall@10 vs exact | fusion p50 | encode+search+fusion p50 / p95 | full answer p50 | peak RSS build / serve | embedding at measured rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in r["sizes"]:
        store = "exact (flat)" if s["store"] == "faiss-flat-ip" else f"IVF {s['store_params']['nlist']} cells, nprobe {s['store_params']['nprobe']}"
        lines.append(
            f"| {s['passages']:,} | {store} | {s['write_s']} s | {s['index_bytes'] / 2**20:,.0f} MiB "
            f"| {s['load_ms']:.0f} ms | {s['search_ms_p50']} / {s['search_ms_p95']} ms | {s['first_pass_search_ms_p50']} ms | {s['exact_search_ms_p50']} ms | {s['recall_at_10']:.3f} "
            f"| {s['fusion_ms_p50']} ms | **{s['retrieve_ms_p50']}** / {s['retrieve_ms_p95']} ms | {s['ask_ms_p50']} ms "
            f"| {s['build_peak_rss_mb']:,} / {s['serve_peak_rss_mb']:,} MiB | {s['embed_hours_at_measured_rate']} h |"
        )
    sweeps = [(s["passages"], s["ivf_nprobe_sweep"]) for s in r["sizes"] if "ivf_nprobe_sweep" in s]
    if sweeps:
        lines += ["", "| IVF at | nprobe | recall@10 vs exact | search p50 |", "|---|---|---|---|"]
        for n, sweep in sweeps:
            for nprobe, v in sweep.items():
                lines.append(f"| {n:,} | {nprobe} | {v['recall_at_10']:.3f} | {v['search_ms_p50']} ms |")
    if "hnsw_100k" in r:
        h = r["hnsw_100k"]
        lines += ["", f"HNSW (M 32, efConstruction 40, efSearch 128) at 100,000: build {h['build_s']} s, "
                      f"recall@10 {h['recall_at_10']:.3f}, search p50 {h['search_ms_p50']} ms."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
