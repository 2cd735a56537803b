"""The txtai half of `python -m bench.txtai_compare`; runs in txtai's own venv, prints one JSON line.

Not part of qa and never imports it: txtai pulls in versions of its own, so
it is installed apart (see bench/txtai_compare.py for the venv) and driven as
a subprocess.

    python bench/txtai_side.py build --docs DIR --model PATH --index OUT
    python bench/txtai_side.py query --index OUT --queries Q.json --k 5 --depth 10 --rounds 3
    python bench/txtai_side.py serve --index OUT      # JSON lines in and out, one search each

`build` indexes every `*.txt` in DIR (id = file name without .txt, text =
the whole file, exactly what qa reads) with txtai's documented hybrid setup,
`Embeddings(path=MODEL, content=True, hybrid=True)`, and saves it.
`query` loads the saved index and times `search(q, k)` per question, hybrid
(txtai's default fusion) and dense (the same index with its keyword scoring
closed, so only the FAISS search and the content database run), then
returns each question's top `depth` ids for scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _documents(folder: Path):
    for path in sorted(folder.glob("*.txt")):
        yield path.stem, path.read_text(encoding="utf-8"), None


def build(args) -> dict:
    t0 = time.perf_counter()
    from txtai import Embeddings

    t1 = time.perf_counter()
    embeddings = Embeddings(path=args.model, content=True, hybrid=True)
    t2 = time.perf_counter()
    embeddings.index(_documents(Path(args.docs)))
    t3 = time.perf_counter()
    embeddings.save(args.index)
    t4 = time.perf_counter()
    model = embeddings.model.model  # txtai's pooling wrapper: say what it truncates at
    return {
        "import_s": round(t1 - t0, 2),
        "model_load_s": round(t2 - t1, 2),
        "index_s": round(t3 - t2, 2),
        "save_s": round(t4 - t3, 2),
        "documents": embeddings.count(),
        "config": {k: v for k, v in embeddings.config.items() if k in ("path", "content", "hybrid", "scoring", "backend", "batch", "encodebatch")},
        "maxlength": getattr(model, "maxlength", None),
    }


def _times(search, questions: list[str], k: int, rounds: int) -> dict:
    for q in questions[:5]:
        search(q, k)  # warm: first-touch pages, lazy inits
    p50s, p95s, means = [], [], []
    for _ in range(rounds):
        times = []
        for q in questions:
            t = time.perf_counter()
            search(q, k)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p50s.append(statistics.median(times))
        p95s.append(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))])
        means.append(statistics.mean(times))
    return {"p50_ms": round(statistics.median(p50s), 2), "p95_ms": round(statistics.median(p95s), 2),
            "mean_ms": round(statistics.median(means), 2), "round_p50s_ms": [round(x, 2) for x in p50s]}


def query(args) -> dict:
    from txtai import Embeddings

    questions = json.loads(Path(args.queries).read_text(encoding="utf-8"))  # {qid: text}
    texts = list(questions.values())
    t = time.perf_counter()
    hybrid = Embeddings()
    hybrid.load(args.index)
    load_s = time.perf_counter() - t
    dense = Embeddings()
    dense.load(args.index)
    dense.scoring.close()
    dense.scoring = None  # the same index searched by meaning only
    out = {"load_s": round(load_s, 2), "questions": len(texts)}
    out["hybrid"] = _times(lambda q, k: hybrid.search(q, k), texts, args.k, args.rounds)
    out["dense"] = _times(lambda q, k: dense.search(q, k), texts, args.k, args.rounds)
    out["ranked"] = {
        "hybrid": {qid: [r["id"] for r in hybrid.search(q, args.depth)] for qid, q in questions.items()},
        "dense": {qid: [r["id"] for r in dense.search(q, args.depth)] for qid, q in questions.items()},
    }
    return out


def serve(args) -> None:
    """One JSON request a line on stdin ({"q", "k", "mode"}), one reply a line: the
    search's own time and the ids. Lets the caller interleave txtai and qa question
    by question, so both see the same background load."""
    from txtai import Embeddings

    hybrid = Embeddings()
    hybrid.load(args.index)
    dense = Embeddings()
    dense.load(args.index)
    dense.scoring.close()
    dense.scoring = None
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        index = hybrid if req["mode"] == "hybrid" else dense
        t = time.perf_counter()
        found = index.search(req["q"], req["k"])
        ms = (time.perf_counter() - t) * 1000
        print(json.dumps({"ms": ms, "ids": [r["id"] for r in found]}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--docs", required=True)
    b.add_argument("--model", required=True)
    b.add_argument("--index", required=True)
    q = sub.add_parser("query")
    q.add_argument("--index", required=True)
    q.add_argument("--queries", required=True)
    q.add_argument("--k", type=int, default=5)
    q.add_argument("--depth", type=int, default=10)
    q.add_argument("--rounds", type=int, default=3)
    v = sub.add_parser("serve")
    v.add_argument("--index", required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return 0
    result = build(args) if args.command == "build" else query(args)
    sys.stdout.flush()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
