"""Bulk embedding on real passages, runtime by runtime: passages/s and agreement with sentence-transformers.

    python -m bench.embed_runtimes                    # 1,000 passages, 2 rounds (~8 min on 2 quiet cores)
    python -m bench.embed_runtimes --passages 300 --rounds 1   # a quick look
    python -m bench.embed_runtimes --only st-b16,ort-eager-fused --build-docs 150   # + a real build, both ways

The passages are the ones qa itself makes (SciFact abstracts cut by
qa.build.passages_of: whole sentences up to 128 tokens). Every runtime goes
from text to unit vectors (tokenising and pooling included), on the same
passages in the same length-sorted batches; the runtimes take turns inside
each round, so a burst of load from elsewhere hits them alike, and the table
gives the median of the rounds. Runtimes:

- sentence-transformers `encode` (what qa.embedding.Embedder does), batch 16 and 32;
- ONNX Runtime with qa's checked export as shipped (qa.fast_encoder.FastEncoder,
  2 intra-op threads), and the same file with 1 thread;
- that export after onnxruntime.transformers.optimizer.optimize_model(model_type="bert",
  num_heads=12, hidden_size=384): it fuses layer norms and GELU but not
  attention, because the export traces torch's SDPA attention (IsNaN/Where
  guards the fuser does not match);
- a second export of the same weights with eager attention, which the fuser
  turns into EmbedLayerNormalization + 6 Attention + BiasGelu + SkipLayerNormalization,
  at 2 and 1 threads;
- OpenVINO on qa's export (fp32 forced; also its own default precision, which
  is bf16 on CPUs with avx512_bf16), in its own venv as a subprocess
  (bench/openvino_side.py), when that venv has openvino.

A runtime "matches" when every passage's vector has cosine >= 0.9999 with
sentence-transformers' (batch 16). Writes bench/results/embed_runtimes.json.
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
from pathlib import Path

import numpy as np

from bench.corpus import ROOT, cpu_name, write_scifact_documents

RESULTS = ROOT / "bench" / "results"
MIN_COSINE = 0.9999
DEFAULT_OV_PYTHON = "/tmp/txtai-venv/bin/python"


def real_passages(n: int, work: Path, embedder) -> list[str]:
    """The first `n` passages qa makes from SciFact abstracts, in corpus order."""
    import qa
    from qa.build import passages_of
    from qa.documents import Document, read, scan

    settings = qa.Settings()
    max_tokens = min(settings.chunk_tokens, embedder.max_tokens)
    docs_needed = max(20, n // 3)
    while True:
        folder = work / f"docs-{docs_needed}"
        write_scifact_documents(folder, docs_needed)
        docs = [d for d in (read(s) for s in scan(folder).files) if isinstance(d, Document)]
        passages, _ = passages_of(docs, embedder, settings, max_tokens)
        texts = [p.text for p in passages]
        if len(texts) >= n or docs_needed > 5183:
            return texts[:n]
        docs_needed *= 2


def eager_export(embedder, folder: Path) -> Path:
    """The model exported like qa.fast_encoder does, but with eager attention (fusable)."""
    from transformers import AutoModel

    from qa.onnx_export import export_graph

    folder.mkdir(parents=True, exist_ok=True)
    transformer = AutoModel.from_pretrained(embedder.resolved, local_files_only=True, attn_implementation="eager").eval()
    path = folder / "eager.onnx"
    export_graph(transformer, embedder.model.tokenizer, path)
    return path


def fuse(src: Path, dst: Path, heads: int, hidden: int) -> dict:
    """onnxruntime's transformer fusions, offline; returns the fused-operator counts."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden)
    model.save_model_to_file(str(dst))
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


class OrtEncoder:
    """Text to unit vectors with ONNX Runtime: qa.fast_encoder's batching and pooling, any model file and thread count."""

    def __init__(self, model: Path, tokenizer_json: Path, threads: int, max_seq_length: int = 256):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = None
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            arrays = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            hidden = self.session.run(None, {k: arrays[k] for k in self.inputs})[0]
            mask = arrays["attention_mask"][:, :, None].astype(np.float32)
            v = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            if out is None:
                out = np.zeros((len(texts), v.shape[1]), dtype=np.float32)
            out[idx] = v
        return out


def build_check(embedder, fused_model: Path, tokenizer_json: Path, docs: int, rounds: int, work: Path, say) -> dict:
    """End to end: `qa.build_index` on `docs` abstracts with qa's Embedder, then with the
    same Embedder whose bulk `encode` goes through the fused ONNX model; alternated,
    fresh index each time (no embedding-cache hits). Compares the two indexes' vectors."""
    import qa
    from qa.current import load
    from qa.embedding import Embedder

    ort = OrtEncoder(fused_model, tokenizer_json, 2)

    class FusedEmbedder(Embedder):
        def encode(self, texts, batch_size: int = 32, progress: bool = False) -> np.ndarray:
            unique = list(dict.fromkeys(texts))
            vectors = ort.encode(unique, batch_size) if unique else np.zeros((0, self.dimension), np.float32)
            where = {t: i for i, t in enumerate(unique)}
            return vectors[[where[t] for t in texts]] if texts else vectors

    fused = FusedEmbedder(embedder.name)
    folder = work / "build-docs"
    write_scifact_documents(folder, docs)
    seconds: dict[str, list[float]] = {"torch": [], "fused": []}
    vectors, passages = {}, 0
    for r in range(rounds):
        for name, emb in (("torch", embedder), ("fused", fused)):
            index = work / f"build-{name}-{r}"
            report = qa.build_index(qa.Settings(documents=folder, index=index), embedder=emb, full=True)
            seconds[name].append(report.seconds)
            passages = report.passages
            gen = load(index)
            vectors.setdefault(name, np.asarray(gen.index.vectors(np.arange(len(gen.index))), dtype=np.float32))
            shutil.rmtree(index, ignore_errors=True)
            say(f"  build {name}: {passages / report.seconds:.1f} passages/s")
    s_t, s_f = statistics.median(seconds["torch"]), statistics.median(seconds["fused"])
    return {"documents": docs, "passages": passages, "rounds": rounds,
            "torch_build_s": round(s_t, 2), "fused_build_s": round(s_f, 2),
            "torch_rounds_s": [round(x, 2) for x in seconds["torch"]], "fused_rounds_s": [round(x, 2) for x in seconds["fused"]],
            "speedup": round(s_t / s_f, 3),
            "min_cosine_index_vectors": round(float(np.min(np.sum(vectors["torch"] * vectors["fused"], axis=1))), 6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help="comma-separated runtime names to run (default: all)")
    parser.add_argument("--openvino-python", default=DEFAULT_OV_PYTHON, help="python of a venv with openvino")
    parser.add_argument("--build-docs", type=int, default=0,
                        help="also time qa.build_index end to end on this many abstracts, torch vs the fused ONNX model")
    parser.add_argument("--build-rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "embed_runtimes.json")
    args = parser.parse_args()
    start = time.perf_counter()
    say = lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731

    import qa
    from qa.embedding import Embedder
    from qa.fast_encoder import ensure_export, export_dir, open_fast

    import torch

    embedder = Embedder(qa.Settings().model)
    ensure_export(embedder)
    sha = embedder.identity().sha256
    shipped = export_dir(sha)
    config = embedder.model[0].auto_model.config
    work = Path(tempfile.mkdtemp(prefix="qa-runtimes-"))
    try:
        texts = real_passages(args.passages, work, embedder)
        lengths = [len(x) for x in embedder.model.tokenizer(texts, truncation=False)["input_ids"]]
        say(f"{len(texts)} passages, mean {statistics.mean(lengths):.1f} tokens; preparing runtimes ...")
        heads, hidden = config.num_attention_heads, config.hidden_size
        fused_stats = {"shipped": fuse(shipped / "model.onnx", work / "shipped-fused.onnx", heads, hidden)}
        eager = eager_export(embedder, work)
        fused_stats["eager"] = fuse(eager, work / "eager-fused.onnx", heads, hidden)
        tok_json = shipped / "tokenizer.json"
        fast = open_fast(sha)

        def st(batch: int, threads: int):
            def run(t):
                torch.set_num_threads(threads)
                return embedder.encode(t, batch_size=batch)
            return run

        def ort_file(path: Path, threads: int, batch: int = 16):
            enc = OrtEncoder(path, tok_json, threads)
            return lambda t: enc.encode(t, batch)

        runtimes: dict[str, tuple[str, int, int, object]] = {
            "st-b16": ("sentence-transformers encode (qa's Embedder)", 16, 2, st(16, 2)),
            "st-b32": ("sentence-transformers encode", 32, 2, st(32, 2)),
            "ort-shipped": ("ONNX Runtime, qa's export as shipped (FastEncoder)", 16, 2, lambda t: fast.encode(t, batch_size=16)),
            "ort-shipped-1t": ("ONNX Runtime, qa's export", 16, 1, None),
            "ort-shipped-fused": ("ONNX Runtime, qa's export + optimize_model (no attention fusion)", 16, 2, None),
            "ort-eager-fused": ("ONNX Runtime, eager-attention export + optimize_model (full fusion)", 16, 2, None),
            "ort-eager-fused-1t": ("ONNX Runtime, eager-attention export + optimize_model (full fusion)", 16, 1, None),
            "ort-eager-fused-b32": ("ONNX Runtime, eager-attention export + optimize_model (full fusion)", 32, 2, None),
            "openvino-f32": ("OpenVINO, qa's export, fp32 (own venv)", 16, 2, "f32"),
            "openvino-default": ("OpenVINO, qa's export, its default precision (own venv)", 16, 2, "default"),
        }
        lazy = {
            "ort-shipped-1t": lambda: ort_file(shipped / "model.onnx", 1),
            "ort-shipped-fused": lambda: ort_file(work / "shipped-fused.onnx", 2),
            "ort-eager-fused": lambda: ort_file(work / "eager-fused.onnx", 2),
            "ort-eager-fused-1t": lambda: ort_file(work / "eager-fused.onnx", 1),
            "ort-eager-fused-b32": lambda: ort_file(work / "eager-fused.onnx", 2, 32),
        }
        if fast is None:
            runtimes.pop("ort-shipped")
        if not Path(args.openvino_python).exists() or subprocess.run(
                [args.openvino_python, "-c", "import openvino, tokenizers"], capture_output=True).returncode:
            say(f"no openvino at {args.openvino_python}: OpenVINO rows left out")
            runtimes.pop("openvino-f32")
            runtimes.pop("openvino-default")
        wanted = set(args.only.split(",")) | {"st-b16"} if args.only else set(runtimes)
        runtimes = {k: v for k, v in runtimes.items() if k in wanted}
        (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")

        callables, load_s, info = {}, {}, {}
        for name, (_, batch, threads, fn) in runtimes.items():
            t = time.perf_counter()
            if name in lazy:
                fn = lazy[name]()
            if isinstance(fn, str):
                callables[name] = ("openvino", fn)
                continue
            fn(texts[:16])  # warm-up: session creation, first-call allocations
            load_s[name] = round(time.perf_counter() - t, 2)
            callables[name] = fn

        def openvino(precision: str, threads: int, batch: int, out: Path) -> float:
            done = subprocess.run([args.openvino_python, str(ROOT / "bench" / "openvino_side.py"), "--onnx",
                                   str(shipped / "model.onnx"), "--tokenizer", str(tok_json), "--texts",
                                   str(work / "texts.json"), "--threads", str(threads), "--batch", str(batch),
                                   "--precision", precision, "--vectors", str(out)], capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            r = json.loads(done.stdout.strip().splitlines()[-1])
            info[f"openvino-{precision}"] = {k: r[k] for k in ("openvino", "precision", "threads", "load_s")}
            return r["seconds"]

        seconds: dict[str, list[float]] = {k: [] for k in runtimes}
        vectors: dict[str, np.ndarray] = {}
        loads = []
        for r in range(args.rounds):
            loads.append(round(os.getloadavg()[0], 2))
            say(f"round {r + 1}/{args.rounds} (1-min load {loads[-1]}) ...")
            for name, fn in callables.items():
                _, batch, threads, _ = runtimes[name]
                if isinstance(fn, tuple):
                    out = work / f"{name}.npy"
                    seconds[name].append(openvino(fn[1], threads, batch, out))
                    vectors.setdefault(name, np.load(out))
                else:
                    t = time.perf_counter()
                    v = fn(texts)
                    seconds[name].append(time.perf_counter() - t)
                    vectors.setdefault(name, v)
                say(f"  {name}: {len(texts) / seconds[name][-1]:.1f} passages/s")
        torch.set_num_threads(os.cpu_count() or 1)
        build = None
        if args.build_docs:
            say(f"end to end: qa.build_index on {args.build_docs} abstracts, torch vs fused ONNX ...")
            build = build_check(embedder, work / "eager-fused.onnx", tok_json, args.build_docs, args.build_rounds, work, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ref = vectors["st-b16"]
    base = statistics.median(seconds["st-b16"])
    rows = []
    for name, (label, batch, threads, _) in runtimes.items():
        s = statistics.median(seconds[name])
        cos = float(np.min(np.sum(vectors[name] * ref, axis=1)))
        rows.append({"name": name, "runtime": label, "batch": batch, "threads": threads,
                     "passages_per_s": round(len(texts) / s, 2), "tokens_per_s": round(sum(lengths) / s),
                     "rounds_passages_per_s": [round(len(texts) / x, 1) for x in seconds[name]],
                     "speed_vs_st_b16": round(base / s, 3), "min_cosine_vs_st": round(cos, 6),
                     "matches": cos >= MIN_COSINE, "load_s": load_s.get(name, info.get(name, {}).get("load_s")),
                     **({"openvino": info[name]} if name in info else {})})
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "passages": len(texts), "mean_tokens": round(statistics.mean(lengths), 1), "rounds": args.rounds,
        "load_1min_per_round": loads, "fused_operators": fused_stats, "rows": rows, "build": build,
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(render(result))
    say(f"wrote {args.out}")
    return 0


def render(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Bulk embedding, {r['date']}, {m['platform']}, {m['cpu']}, os.cpu_count()={m['cpu_count']}; "
        f"{r['passages']} real SciFact passages (mean {r['mean_tokens']} tokens), median of {r['rounds']} rounds; "
        f"1-min load average per round: {r['load_1min_per_round']}",
        "",
        "| runtime | batch | threads | passages/s | per round | vs sentence-transformers b16 | min cosine vs ST | matches (>= 0.9999) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in r["rows"]:
        label = x["runtime"] + (f" [{x['openvino']['precision']}]" if "openvino" in x else "")
        lines.append(f"| {label} | {x['batch']} | {x['threads']} | **{x['passages_per_s']}** | {x['rounds_passages_per_s']} "
                     f"| {x['speed_vs_st_b16']}x | {x['min_cosine_vs_st']} | {'yes' if x['matches'] else 'no'} |")
    lines += ["", "Fused operators: " + "; ".join(f"{k}: {v}" for k, v in r["fused_operators"].items())]
    b = r.get("build")
    if b:
        lines += ["", "| end to end: `qa.build_index`, {documents} abstracts, {passages} passages, median of {rounds} | build | passages/s |".format(**b),
                  "|---|---|---|",
                  f"| qa's Embedder (sentence-transformers, torch) | {b['torch_build_s']} s {b['torch_rounds_s']} | {b['passages'] / b['torch_build_s']:.1f} |",
                  f"| same Embedder, bulk encode through the eager-attention fused ONNX model | {b['fused_build_s']} s {b['fused_rounds_s']} | {b['passages'] / b['fused_build_s']:.1f} |",
                  f"| speed-up; lowest cosine between the two indexes' vectors | {b['speedup']}x | {b['min_cosine_index_vectors']} |"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
