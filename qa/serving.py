"""Serving the page: the index built in a child process, the app behind its guard, one line saying where.

`qa index` runs as a child process (at start and after an upload) so that
torch, which only building needs, leaves with it: the page answers with ONNX
Runtime and stays small. Gradio and uvicorn are imported here, never by
`import qa`.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from .errors import QAError
from .settings import DEFAULT_MODEL, Settings
from .web import Guard, md_name


def index_in_child(settings: Settings, json_report: bool = False, log=None) -> dict | None:
    """Run `qa index` in a child process so that torch (building needs it) leaves with it.

    With `json_report`, returns the build report; otherwise progress and the
    summary go to this terminal and `log` gets each progress line. A `QAError`
    of the child is raised here with its one-line message.
    """
    command = [sys.executable, "-m", "qa", "index", "--documents", str(settings.documents),
               "--index", str(settings.index), "--model", settings.model,
               "--chunk-tokens", str(settings.chunk_tokens), "--overlap-sentences", str(settings.overlap_sentences),
               "--batch-size", str(settings.batch_size), "--backend", settings.backend, "--device", settings.device]
    if settings.uri:
        command += ["--uri", str(settings.uri)]
    if json_report:
        command.append("--json")
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    errors: list[str] = []
    relay = threading.Thread(target=_relay, args=(child.stderr, errors, log, not json_report), daemon=True)
    relay.start()
    out = child.stdout.read().decode("utf-8", "replace")
    code = child.wait()
    relay.join()
    if code != 0:
        message = next((e.removeprefix("error: ") for e in reversed(errors) if e.startswith("error: ")), None)
        raise QAError(message or f"qa index failed (exit {code}): {' '.join(errors[-3:])[:500]}")
    if json_report:
        return json.loads(out)
    sys.stdout.write(out)
    sys.stdout.flush()
    return None


def update_report(settings: Settings) -> list[str]:
    """An incremental update (a child `qa index`) after the page changed the documents folder, in words.

    The page's uploads and removals both end here, so the index follows the
    folder the same way whichever changed it. A `QAError` is the caller's to show.
    """
    report = index_in_child(settings, json_report=True)
    lines = [f"Index updated: {len(report['added'])} added, {len(report['changed'])} changed, "
             f"{len(report['removed'])} removed; {report['embedded']} passages embedded in {report['seconds']:.1f} s."]
    return lines + [f"skipped `{md_name(s['document'])}`: {html.escape(s['reason'])}" for s in report["skipped"]]


def _relay(stream, lines: list[str], log, echo: bool) -> None:
    """Copy the child's stderr to ours (progress bars included) and hand each line to `log`."""
    pending = b""
    for chunk in iter(lambda: stream.read1(4096), b""):
        if echo:
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
        pending += chunk
        *done, pending = pending.replace(b"\r", b"\n").split(b"\n")
        for raw in done:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                lines.append(line)
                del lines[:-50]
                if log:
                    log(line)


def prepare(settings: Settings, log=print) -> None:
    """Build or update the index (in a child process), with progress in the terminal."""
    try:
        index_in_child(settings, log=log)
    except QAError as exc:
        print(f"warning: {exc} The page stays up; you can add texts from it.", file=sys.stderr)


def page_script(web: Path) -> str:
    """`web`/page.js with `web`/page.css inlined, as the function Gradio runs on load (Gradio 6 takes css only at launch)."""
    css = (web / "page.css").read_text(encoding="utf-8")
    return "() => {\nconst QA_CSS = " + json.dumps(css) + ";\n" + (web / "page.js").read_text(encoding="utf-8") + "\n}"


def guarded_app(demo, hosts: frozenset[str]):
    """The page mounted on our own app, behind `Guard` (Host and Origin checks, body bounds).

    A CORS middleware with no allowed origins makes Gradio leave CORS to the
    parent app (it would otherwise echo other origins back), so no other
    site's page can read an answer.
    """
    import gradio as gr
    from fastapi import FastAPI
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    parent = FastAPI(
        middleware=[Middleware(Guard, hosts=hosts), Middleware(CORSMiddleware, allow_origins=[])],
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    return gr.mount_gradio_app(parent, demo, path="/", max_file_size="20mb", show_error=True)


def serve(app, host: str, port: int) -> int:
    """Serve until interrupted; one line says where (no share link is ever made)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2))
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    if not server.started:
        print(f"error: cannot serve on {host}:{port} (is the port in use?). Choose another with --port.", file=sys.stderr)
        return 1
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        print(f"Serving on http://{shown}:{port} (every network interface; see --allowed-host)", flush=True)
    else:
        where = "this machine only" if host in ("127.0.0.1", "localhost", "::1") else "reachable from the network"
        print(f"Serving on http://{shown}:{port} ({where})", flush=True)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(5)
    return 0


def arguments(argv: list[str] | None, question_slots: int, max_wait: float) -> argparse.Namespace:
    """`python app.py`'s options (defaults for the question bound come from app.py, where they are measured)."""
    parser = argparse.ArgumentParser(description="Ask questions of a folder of documents in the browser.")
    parser.add_argument("--documents", default="documents")
    parser.add_argument("--index", default="index")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    # The page updates the index at start: without these it would update (migrate) a Milvus index to FAISS.
    parser.add_argument("--backend", choices=["faiss", "milvus"], default=Settings.backend,
                        help="where the index lives, as for qa index (default: faiss)")
    parser.add_argument("--uri", help="Milvus: a server URL shared by several app processes (token from QA_MILVUS_TOKEN), or a Lite file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="another name the page may be reached by (repeatable); "
                             "localhost, 127.0.0.1, [::1] and --host are always allowed")
    parser.add_argument("--question-slots", type=int, default=question_slots, metavar="N",
                        help=f"questions answered at once (default: {question_slots})")
    parser.add_argument("--max-wait", type=float, default=max_wait, metavar="SECONDS",
                        help=f"longest expected wait before a question is refused as busy (default: {max_wait:g})")
    args = parser.parse_args(argv)
    if args.question_slots < 1 or args.max_wait <= 0:
        parser.error("--question-slots must be at least 1 and --max-wait positive")
    return args
