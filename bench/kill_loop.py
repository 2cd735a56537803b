"""Crash safety: kill `qa index` with SIGKILL at seeded random moments, check the index each time.

    python -m bench.kill_loop --runs 200 --seed 1

After every kill the index must pass `qa verify` and answer a question from a
complete generation. The test suite runs 20 of these.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class KillResult:
    run: int
    killed_after_s: float
    finished: bool  # the run completed before the kill landed
    verify_ok: bool
    answered: bool
    problems: tuple[str, ...]


def _index_cmd(docs: Path, index: Path, backend: str = "faiss", uri: str | None = None) -> list[str]:
    return [sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(index), "--backend", backend,
            *(["--uri", uri] if uri else []), "--json"]


def run(runs: int, seed: int, workdir: Path, embedder=None, log=print, backend: str = "faiss", uri: str | None = None) -> list[KillResult]:
    import qa
    from qa import verify

    rnd = random.Random(seed)
    docs, index = workdir / "documents", workdir / "index"
    if not docs.exists():
        shutil.copytree(ROOT / "documents", docs)
    subprocess.run(_index_cmd(docs, index, backend, uri), check=True, capture_output=True)
    # Kills land across the span of an update like the ones below (the first
    # build, with the model's export, takes far longer than an update).
    (docs / f"warm-{seed}.txt").write_text("Warm-up report\n\nA first update, timed to place the kills.\n", encoding="utf-8")
    start = time.perf_counter()
    subprocess.run(_index_cmd(docs, index, backend, uri), check=True, capture_output=True)
    duration = time.perf_counter() - start
    results = []
    for n in range(runs):
        # Every run has real work: a new file with its own sentences.
        (docs / f"added-{seed}-{n}.txt").write_text(
            f"Report {n}\n\nThe inspection number {n} of seed {seed} visited harbour {rnd.randint(1, 10**6)}. "
            f"It found {rnd.randint(1, 500)} containers and {rnd.randint(1, 50)} violations.\n",
            encoding="utf-8",
        )
        delay = rnd.uniform(0.2, 1.05) * duration
        proc = subprocess.Popen(_index_cmd(docs, index, backend, uri), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            finished = False
        report = verify(index, docs)
        answered = False
        try:
            searcher = qa.Searcher(index, embedder=embedder)
            answered = bool(searcher.ask("Who chairs the Military Chamber?", k=1).passages)
            close = getattr(getattr(searcher.generation.index, "backend", None), "close", None)
            if close is not None:  # Milvus Lite: one process per database; let the next build in
                close()
        except qa.QAError as exc:
            report = type(report)(report.generation, report.passages, report.problems + (str(exc),))
        # A killed build leaves the folder ahead of the index (stale, not unsound).
        results.append(KillResult(n, round(delay, 2), finished, report.sound, answered, report.problems))
        log(f"run {n:3d}: kill at {delay:5.1f}s  finished={finished!s:5}  verify={'ok' if report.ok else 'FAIL'}  answered={answered}")
    # After all the kills, a normal run completes and the index is sound.
    subprocess.run(_index_cmd(docs, index, backend, uri), check=True, capture_output=True)
    final = verify(index, docs)
    if not final.ok:
        results.append(KillResult(runs, 0.0, True, False, False, final.problems))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["faiss", "milvus"], default="faiss")
    parser.add_argument("--uri", help="Milvus: a server URL (e.g. a local `milvus-lite server`) instead of Lite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = run(args.runs, args.seed, Path(tmp), backend=args.backend, uri=args.uri)
    bad = [r for r in results if not (r.verify_ok and r.answered)]
    killed = sum(not r.finished for r in results)
    print(f"\n| runs | killed mid-build | finished | failures |\n|---|---|---|---|\n| {len(results)} | {killed} | {len(results) - killed} | {len(bad)} |")
    for r in bad:
        print(f"run {r.run}: {r.problems}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
