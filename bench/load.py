"""Load on the web page: N concurrent users of the `/ask` API for a bounded time.

    python -m bench.load --clients 50 --seconds 120            # starts app.py on a free port over documents/
    python -m bench.load --clients 50 --seconds 120 --url http://127.0.0.1:7860/ [--pid PID]

Each client is a thread asking `/ask` questions one after another, over the
documented HTTP route (`--client http`, the default) or with its own
`gradio_client.Client` (`--client gradio`). An answer counts as answered; "busy, ask again
in N s" (the app's admission bound) and Gradio's "Queue is full" count as
refused, and a client told to come back in N s waits N s (with jitter), as a
polite program would (`--no-backoff` retries at once); anything else is an
error. Prints answered / refused / errors, answers per second, latency
percentiles (answered, and how fast refusals come), and the server's memory
(VmRSS from /proc/PID/status, sampled every second), with the date, the
machine and its load average, which matter: on a shared 2-core machine other
work changes every number here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "Who chairs the Military Chamber of the Supreme Court?",
    "When was the law on combating human trafficking adopted?",
    "Which criminal code section covers trafficking?",
    "Who met the officials of the US Embassy?",
    "What did the guests thank Aziz Seyidov for?",
    "Who won the 2018 World Cup?",
)
RETRY = re.compile(r"again in about (\d+) s")


@dataclass
class Tally:
    answered: list[float] = field(default_factory=list)  # latencies, seconds
    busy: list[float] = field(default_factory=list)  # how long a "busy" refusal took
    queue_full: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(app: Path, documents: Path, work: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    """`app.py` over a copy of `documents`, indexed first, on a free port; waits until it answers."""
    import httpx

    import qa

    docs = work / "documents"
    shutil.copytree(documents, docs)
    qa.build_index(qa.Settings(documents=docs, index=work / "index"))
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    log = open(work / "app.log", "wb")
    proc = subprocess.Popen([sys.executable, str(app), "--documents", str(docs), "--index", str(work / "index"),
                             "--port", str(port), *extra], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited: {(work / 'app.log').read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not answer within 180 s")


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, int]]) -> None:
    start = time.monotonic()
    while not stop.is_set():
        value = rss_kib(pid)
        if value is not None:
            out.append((time.monotonic() - start, value))
        stop.wait(1.0)


def client_loop(url: str, until: list[float], k: int, tally: Tally, backoff: bool, seed: int, ready: threading.Barrier,
                kind: str = "gradio") -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False) if kind == "gradio" else HttpUser(url)
    except Exception as exc:
        with tally.lock:
            tally.errors.append(f"connecting: {type(exc).__name__}: {str(exc)[:120]}")
        ready.wait()
        return
    ready.wait()
    while time.monotonic() < until[0]:
        question = rng.choice(QUESTIONS)
        started = time.perf_counter()
        try:
            client.predict(question, k, api_name="/ask")
        except AppError as exc:
            took = time.perf_counter() - started
            match = RETRY.search(str(exc))
            if "busy" in str(exc) and match:
                with tally.lock:
                    tally.busy.append(took)
                if backoff:
                    time.sleep(min(int(match.group(1)), max(0.0, until[0] - time.monotonic())) * rng.uniform(0.8, 1.5))
            else:
                with tally.lock:
                    tally.errors.append(f"AppError: {str(exc)[:120]}")
            continue
        except QueueError:
            took = time.perf_counter() - started
            with tally.lock:
                tally.queue_full.append(took)
            if backoff:
                time.sleep(rng.uniform(0.5, 1.5))
            continue
        except Exception as exc:  # counted, never fatal: the point is to see them
            with tally.lock:
                tally.errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            time.sleep(0.5)
            continue
        with tally.lock:
            tally.answered.append(time.perf_counter() - started)


class HttpUser:
    """A light client: the documented HTTP route (`POST /gradio_api/call/ask`, then its event stream).

    gradio_client polls every 50 ms in two threads per call; with 50 of them
    in one process on 2 cores the client side, not the server, sets the
    latency measured. This is what any other program would do instead.
    """

    def __init__(self, url: str):
        import httpx

        self.base = url.rstrip("/")
        self.http = httpx.Client(timeout=120)

    def predict(self, question: str, k: int, api_name: str = "/ask") -> dict:
        from gradio_client.exceptions import AppError
        from gradio_client.utils import QueueError

        r = self.http.post(f"{self.base}/gradio_api/call{api_name}", json={"data": [question, k]})
        if r.status_code == 503:
            raise QueueError(r.text)
        r.raise_for_status()
        with self.http.stream("GET", f"{self.base}/gradio_api/call{api_name}/{r.json()['event_id']}") as events:
            event = None
            for line in events.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line[5:])
                    if event == "error":
                        raise AppError(str((data or {}).get("error") if isinstance(data, dict) else data))
                    return data[0]
        raise RuntimeError("the event stream ended without a result")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(url: str, pid: int | None, clients: int, seconds: float, k: int, backoff: bool, kind: str = "gradio",
        warmup: float = 0.0) -> dict:
    # Warm up first: the first questions load the ONNX encoder, and the first
    # burst at full concurrency fills bounded caches (Gradio keeps 500
    # sessions, worker threads, allocator arenas) once; measured here, RSS
    # grew ~80 MB in the first minute of 50 clients, then 6 and 1 MB in the
    # next two. Growth is measured after that, so a leak shows as a leak.
    cold = rss_kib(pid) if pid else None
    warm = HttpUser(url)
    for question in QUESTIONS:
        try:
            warm.predict(question, k)
        except Exception as exc:  # noqa: BLE001 - any failure here means the run would measure nothing
            raise SystemExit(f"the app did not answer a warm-up question: {type(exc).__name__}: {exc}")
    if warmup > 0:
        burst = run(url, None, clients, warmup, k, backoff, kind)
        if burst["errors"]:
            raise SystemExit(f"errors during the warm-up burst: {burst['error_samples']}")
    tally = Tally()
    rss: list[tuple[float, int]] = []
    stop = threading.Event()
    load_before = os.getloadavg()
    ready = threading.Barrier(clients + 1)
    until = [0.0]
    threads = []
    for i in range(clients):  # each client fetches the app's config before the clock starts
        t = threading.Thread(target=client_loop, args=(url, until, k, tally, backoff, i, ready, kind), daemon=True)
        threads.append(t)
    until[0] = time.monotonic() + 3600  # set for real once every client is connected
    for t in threads:
        t.start()
    ready.wait()
    began = time.monotonic()
    until[0] = began + seconds
    sampler = threading.Thread(target=sample_rss, args=(pid, stop, rss), daemon=True) if pid else None
    if sampler:
        sampler.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.monotonic() - began
    stop.set()
    if sampler:
        sampler.join(2)
    asked = len(tally.answered) + len(tally.busy) + len(tally.queue_full) + len(tally.errors)
    ms = lambda v: None if v is None else round(1000 * v)  # noqa: E731
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "url": url,
        "clients": clients,
        "client": kind,
        "seconds": round(wall, 1),
        "k": k,
        "backoff": backoff,
        "clients_nice": os.nice(0),
        "requests": asked,
        "answered": len(tally.answered),
        "refused_busy": len(tally.busy),
        "refused_queue_full": len(tally.queue_full),
        "errors": len(tally.errors),
        "error_samples": sorted(set(tally.errors))[:5],
        "answers_per_s": round(len(tally.answered) / wall, 2) if wall else None,
        "refused_share": round((len(tally.busy) + len(tally.queue_full)) / asked, 3) if asked else None,
        "answered_ms": {q: ms(pct(tally.answered, q)) for q in (50, 95, 99)},
        "refused_ms": {q: ms(pct(tally.busy + tally.queue_full, q)) for q in (50, 95, 99)},
        "answered_within_3s": round(sum(v <= 3 for v in tally.answered) / len(tally.answered), 3) if tally.answered else None,
        "answered_within_5s": round(sum(v <= 5 for v in tally.answered) / len(tally.answered), 3) if tally.answered else None,
        "rss_mib": _rss_summary(rss),
        "warmup_s": warmup,
        "rss_cold_mib": round(cold / 1024, 1) if cold else None,
    }


def _rss_summary(rss: list[tuple[float, int]]) -> dict:
    if not rss:
        return {}
    values = [v / 1024 for _, v in rss]
    tenth = max(1, len(values) // 10)
    return {
        "start": round(values[0], 1), "max": round(max(values), 1), "end": round(values[-1], 1),
        "first_10pct_mean": round(sum(values[:tenth]) / tenth, 1),
        "last_10pct_mean": round(sum(values[-tenth:]) / tenth, 1),
        "samples": len(values),
        "every_10s": [round(v / 1024, 1) for t, v in _every(rss, 10.0)],
    }


def _every(samples: list[tuple[float, int]], step: float) -> list[tuple[float, int]]:
    out, due = [], 0.0
    for t, v in samples:
        if t >= due:
            out.append((t, v))
            due += step
    return out


def table(r: dict) -> str:
    rows = [
        ("date", r["date"]),
        ("machine", f"{r['machine']}, {r['cpus']} CPUs"),
        ("load average before / after", f"{r['load_average_before'][0]} / {r['load_average_after'][0]}"),
        ("clients x seconds", f"{r['clients']} {r['client']} clients x {r['seconds']} s (k={r['k']}, backoff {'on' if r['backoff'] else 'off'}, "
                              f"clients at nice {r['clients_nice']})"),
        ("requests", r["requests"]),
        ("answered", f"{r['answered']} ({r['answers_per_s']} answers/s)"),
        ("refused: busy / queue full", f"{r['refused_busy']} / {r['refused_queue_full']} (share {r['refused_share']})"),
        ("errors", f"{r['errors']} {r['error_samples'] if r['errors'] else ''}".strip()),
        ("tracebacks in the server's log", r.get("server_tracebacks", "not read (--url)")),
        ("answered latency p50 / p95 / p99", " / ".join(f"{r['answered_ms'][q]} ms" for q in (50, 95, 99))),
        ("answered within 3 s / 5 s", f"{r['answered_within_3s']} / {r['answered_within_5s']}"),
        ("refusal latency p50 / p95 / p99", " / ".join(f"{r['refused_ms'][q]} ms" for q in (50, 95, 99))),
    ]
    if r["rss_mib"]:
        m = r["rss_mib"]
        rows.append(("server RSS before any question", f"{r['rss_cold_mib']} MiB, then a {r['warmup_s']:g} s warm-up burst"))
        rows.append(("server RSS after warm-up / max / end", f"{m['start']} / {m['max']} / {m['end']} MiB "
                                                              f"(growth {round(m['end'] - m['start'], 1)} MiB)"))
        rows.append(("server RSS first / last 10% of the run", f"{m['first_10pct_mean']} / {m['last_10pct_mean']} MiB"))
        rows.append(("server RSS every 10 s", ", ".join(str(v) for v in m["every_10s"])))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"| {a:<{width}} | {b} |" for a, b in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--url", help="a running app (default: start app.py on a free port over --documents)")
    p.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    p.add_argument("--app", default=str(ROOT / "app.py"), help="the app to start (default: this checkout's app.py)")
    p.add_argument("--documents", default=str(ROOT / "documents"))
    p.add_argument("--app-arg", action="append", default=[], metavar="ARG",
                   help="passed to the app (repeatable), e.g. --app-arg=--max-wait --app-arg=5")
    p.add_argument("--nice", type=int, default=10,
                   help="the clients' niceness, so the server gets the CPU first as with clients on other machines "
                        "(default 10; 0 to compete)")
    # http by default: 50 gradio_client users poll every 50 ms in two threads
    # each, and on the server's own 2 cores that polling, not the server, set
    # most of the latency measured (p50 3.5 s against 1.6 s, same server).
    p.add_argument("--client", choices=["gradio", "http"], default="http",
                   help="http: the documented HTTP route, as any program would call it (default); "
                        "gradio: gradio_client.Client, heavier on the client side")
    p.add_argument("--no-backoff", action="store_true", help="ask again at once when told the server is busy")
    p.add_argument("--warmup", type=float, default=30, metavar="SECONDS",
                   help="a burst of the same clients before the clock and the memory baseline (default 30; 0: none)")
    p.add_argument("--json", help="also write the result here")
    args = p.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        p.error("--clients must be at least 1 and --seconds positive")
    work = None
    proc = None
    url, pid = args.url, args.pid
    try:
        if url is None:
            work = Path(tempfile.mkdtemp(prefix="qa-load-"))
            proc, url = start_app(Path(args.app), Path(args.documents), work, args.app_arg)
            pid = proc.pid
        if args.nice:
            os.nice(args.nice)  # after the app started: it keeps the normal priority
        result = run(url, pid, args.clients, args.seconds, args.k, not args.no_backoff, args.client, args.warmup)
        if work is not None:  # the app we started: its log should hold no traceback at all
            result["server_tracebacks"] = (work / "app.log").read_text(errors="replace").count("Traceback")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
