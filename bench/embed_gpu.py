"""Bulk embedding throughput on every device this machine has: GPUs (fp32 and fp16) and CPU cores.

    python -m bench.embed_gpu                          # SciFact passages as qa cuts them, the default model
    python -m bench.embed_gpu --model DIR --passages passages.json.gz   # on a machine without the project's data

For docs/SCALING.md: what one GPU and one CPU core embed per second, through
the same `qa.embedding.Embedder` that `qa index --device` uses (batch size
chosen per device), on real passages. fp16 is measured too (the model cast
with `.half()`), with its agreement against fp32 (lowest cosine), because on a
GPU it is the obvious next step. Each figure is the best of `--rounds` runs
after a warm-up, timed around `encode` (tokenising and pooling included;
`convert_to_numpy` waits for the GPU).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def load_passages(path: str | None, n: int) -> list[str]:
    if path:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)[:n]
    from bench.embed_runtimes import real_passages
    from qa.embedding import Embedder

    import tempfile

    with tempfile.TemporaryDirectory() as work:
        return real_passages(n, Path(work), Embedder(device="cpu"))


def timed(encode, texts: list[str], rounds: int) -> tuple[float, np.ndarray]:
    encode(texts[: min(len(texts), 256)])  # warm-up: kernels, allocator, tokenizer
    best, out = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        out = encode(texts)
        best = min(best, time.perf_counter() - started)
    return best, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--passages", help="a JSON list of passage texts (.json or .json.gz); default: SciFact as qa cuts it")
    p.add_argument("--n", type=int, default=20000, help="passages for the GPU rows")
    p.add_argument("--cpu-n", type=int, default=1000, help="passages for the CPU rows")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", default="64,128,256,512")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    import torch

    from bench.corpus import cpu_name
    from qa.embedding import Embedder

    texts = load_passages(args.passages, max(args.n, args.cpu_n))
    rows: list[dict] = []
    cpu = Embedder(args.model, device="cpu")
    counts = cpu.count_tokens(texts)
    tokens_of = sum(counts) / len(counts)  # the mean over every text measured; rows use their own prefix
    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    reference = None
    for device in gpus[:1]:
        e = Embedder(args.model, device=device)
        name = torch.cuda.get_device_name(0)
        for batch in [int(b) for b in args.batches.split(",")]:
            took, vecs = timed(lambda t: e.encode(t, batch_size=batch), texts[: args.n], args.rounds)
            reference = vecs if reference is None else reference
            rows.append(dict(device=f"{name} fp32", batch=batch, passages=args.n, seconds=round(took, 3),
                             passages_per_s=round(args.n / took, 1), tokens_per_s=round(sum(counts[: args.n]) / took)))
        e.model.half()  # the cached model object: the same Embedder now runs fp16
        for batch in [int(b) for b in args.batches.split(",")]:
            took, vecs = timed(lambda t: e.encode(t, batch_size=batch), texts[: args.n], args.rounds)
            lowest = float(np.min(np.sum(vecs.astype(np.float32) * reference, axis=1)))
            rows.append(dict(device=f"{name} fp16", batch=batch, passages=args.n, seconds=round(took, 3),
                             passages_per_s=round(args.n / took, 1), tokens_per_s=round(sum(counts[: args.n]) / took),
                             lowest_cosine_vs_fp32=round(lowest, 5)))
        e.model.float()
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        took, on_cpu = timed(lambda t: cpu.encode(t, batch_size=16), texts[: args.cpu_n], max(1, args.rounds - 1))
        rows.append(dict(device=f"CPU, {threads} thread(s)", batch=16, passages=args.cpu_n, seconds=round(took, 3),
                         passages_per_s=round(args.cpu_n / took, 1), tokens_per_s=round(sum(counts[: args.cpu_n]) / took),
                         per_core=round(args.cpu_n / took / threads, 1)))
    if reference is not None:  # the same texts on the GPU (fp32) and the CPU: does the device change the vectors?
        m = min(len(on_cpu), len(reference))
        rows[0]["lowest_cosine_vs_cpu"] = round(float(np.min(np.sum(on_cpu[:m] * reference[:m], axis=1))), 5)
    result = dict(date=dt.datetime.now().isoformat(timespec="seconds"), machine=platform.platform(),
                  cpus=cores, cpu=cpu_name(), torch=torch.__version__, mean_tokens=round(tokens_of or 0, 1), rows=rows)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"{result['date']} · {result['cpu']} ({cores} CPUs) · torch {result['torch']} · "
          f"mean {result['mean_tokens']} tokens per passage")
    print("| device | batch | passages | seconds | passages/s | tokens/s | per core | lowest cosine vs fp32 | vs CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['device']} | {r['batch']} | {r['passages']} | {r['seconds']} | {r['passages_per_s']:,} | "
              f"{r.get('tokens_per_s', '')} | {r.get('per_core', '')} | {r.get('lowest_cosine_vs_fp32', '')} | "
              f"{r.get('lowest_cosine_vs_cpu', '')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
