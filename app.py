"""The web page: `python app.py`. Widgets and wiring only; the work is done by `qa`.

The index is built by a `qa index` child process (at start and after an
upload), so torch, which only building needs, never stays in this process:
questions are answered with ONNX Runtime.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

# Gradio keeps a record of every event (10,000 by default) and recomputes a
# pandas summary of them after each one, for a monitoring page this app does
# not serve: keep fewer and summarise rarely. Read when the queue is made.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")

import gradio as gr  # noqa: E402

import qa  # noqa: E402
from qa.chat import add_files, example_questions, render_answer  # noqa: E402
from qa.readers import supported_suffixes  # noqa: E402
from qa.search import MAX_QUESTION_CHARS  # noqa: E402
from qa.web import Admission, Guard, allowed_hosts  # noqa: E402

# Questions answered at once, and the longest a question may expect to wait
# before it is refused with "busy, ask again in N s". Measured with
# `python -m bench.load` (README, "Capacity"): on 2 cores 1, 2 or 3 at once
# answer about as many per second (the CPU is the limit), and a 2 s bound
# keeps answered questions within ~3 s while bursts are told to come back.
QUESTION_SLOTS = 2
MAX_WAIT = 2.0
# Gradio hands this many question events to the handlers at once; they wait
# in `Admission` (bounded) or are refused at once, never in Gradio's queue.
QUESTION_EVENTS = 24
QUEUE_SIZE = 64  # Gradio's queue for everything else (status ticks, uploads): a backstop
# Gradio keeps a copy of the page's configuration per session (10,000 by
# default, ~20 KiB each here); a program calling the HTTP route without a
# session starts a new one per call, so memory grew by ~60 KiB per question.
SESSIONS_KEPT = 500
CONCURRENCY = 2  # default for events that set no limit of their own


def build_demo(settings: qa.Settings, update_on_start: bool = False, admission: Admission | None = None) -> gr.Blocks:
    """The page. With `update_on_start`, the index is built or updated in the
    background (a `qa index` child process) while the page is already up, and
    the page shows progress."""
    state: dict = {"searcher": None, "building": None}
    admission = admission or Admission(QUESTION_SLOTS, MAX_WAIT)
    build_lock = threading.Lock()

    opening = threading.Lock()

    def searcher() -> qa.Searcher:
        # While an update runs, the open index keeps answering (a new
        # generation is picked up when it is committed); only a first build
        # has nothing to answer from yet.
        with opening:
            if state["searcher"] is None:
                if state["building"]:
                    raise qa.IndexLocked(f"The index is being built ({state['building']}). Ask again in a moment.")
                state["searcher"] = qa.Searcher(settings.index)
            return state["searcher"]

    def update_index() -> None:
        def log(message: str) -> None:
            state["building"] = message

        state["building"] = "checking the documents folder"
        try:
            with build_lock:
                prepare(settings, log)
        finally:
            state["building"] = None

    def status() -> str:
        building = f"⏳ Updating the index: {html.escape(state['building'])}" if state["building"] else ""
        try:
            info = searcher().info()
        except qa.QAError as exc:
            return building or f"⚠️ {html.escape(str(exc))}"
        line = f"{len(info.documents)} documents, {info.passages} passages · index {info.generation} built {info.built_at}"
        return f"{building}<br>{line}" if building else line

    def documents() -> list[str]:
        try:
            return searcher().documents()
        except qa.QAError:
            return []

    def answer(question: object, k: object, only: list[str] | None = None) -> qa.Answer:
        """One question, checked here (the API takes any JSON), answered within the admission bound."""
        question = checked_question(question)
        k = _whole(k)
        with admission.slot():
            return searcher().ask(question, k=k, documents=only or None)

    def respond(message: str, history: list, k: int, only: list[str] | None):
        history = list(history or [])
        if not isinstance(message, str) or not message.strip():
            gr.Warning("Type a question first.")
            return history, message
        history.append({"role": "user", "content": html.escape(_printable(message[:MAX_QUESTION_CHARS]))})
        try:
            reply = render_answer(answer(message, k, only), settings.documents)
        except qa.QAError as exc:
            reply = f"⚠️ {html.escape(str(exc))}"
        except Exception as exc:  # never a traceback on the page; the terminal gets it
            reply = f"⚠️ {html.escape(_unexpected(exc))}"
        history.append({"role": "assistant", "content": reply})
        return history, ""

    def ask(question: str, k: int = 5) -> dict:
        """The same structured result as `qa ask --json`."""
        try:
            return answer(question, k).to_dict()
        except qa.QAError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:
            raise gr.Error(_unexpected(exc), print_exception=False) from None

    def upload(files: list[str] | None, progress=gr.Progress()):
        if not files:
            return "Choose one or more files first.", gr.update(), status()
        progress(0.1, desc="Saving files")
        results = add_files(settings.documents, [(Path(f).name, Path(f)) for f in files])
        lines = [
            f"✅ added `{_md(r.name)}`" if r.ok else f"❌ `{_md(r.original)}`: {html.escape(r.error)}"
            for r in results
        ]
        if any(r.ok for r in results):
            progress(0.3, desc="Updating the index")
            state["building"] = "adding the uploaded files"
            try:
                with build_lock:
                    report = index_in_child(settings, json_report=True)
                lines.append(
                    f"Index updated: {len(report['added'])} added, {len(report['changed'])} changed, "
                    f"{len(report['removed'])} removed; {report['embedded']} passages embedded in {report['seconds']:.1f} s."
                )
                lines += [f"skipped `{_md(s['document'])}`: {html.escape(s['reason'])}" for s in report["skipped"]]
            except qa.QAError as exc:
                lines.append(f"⚠️ {html.escape(str(exc))}")
            finally:
                state["building"] = None
        return "\n\n".join(lines), gr.update(choices=documents()), status()

    try:
        titles = [d.title for d in searcher().info().documents]
    except qa.QAError:
        titles = []
    examples = example_questions(settings.documents, titles)
    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        gr.Markdown("## Ask the documents\nAnswers are passages quoted from your documents, each with file and line numbers.")
        info = gr.Markdown(status, elem_id="index-status")
        gr.Timer(2.0).tick(status, outputs=info, api_visibility="private")
        chat = gr.Chatbot(label="Conversation", height=560, elem_id="chat", sanitize_html=True, buttons=["copy"])
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, scale=8, elem_id="question",
                             autofocus=True, max_length=MAX_QUESTION_CHARS)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        if examples:
            gr.Examples(examples, inputs=box, label="Try")
        with gr.Accordion("Options", open=False):
            k = gr.Slider(1, 10, value=settings.k, step=1, label="Passages to show (k)")
            only = gr.Dropdown(choices=documents(), multiselect=True, label="Only these documents (empty: all)", elem_id="only")
        with gr.Accordion("Add texts", open=False):
            types = ", ".join(supported_suffixes())
            # No `file_types` filter: Gradio would refuse the whole batch, or the
            # browser drop a file silently; add_files says for each file why not.
            files = gr.File(file_count="multiple", label=f"Upload {types} files", elem_id="upload")
            add = gr.Button("Add to documents and update the index", elem_id="add")
            added = gr.Markdown(elem_id="upload-status")
        questions = dict(concurrency_limit=QUESTION_EVENTS, concurrency_id="questions")
        box.submit(respond, [box, chat, k, only], [chat, box], api_visibility="private", **questions)
        send.click(respond, [box, chat, k, only], [chat, box], api_visibility="private", **questions)
        add.click(upload, [files], [added, only, info], api_visibility="private", concurrency_limit=1)
        gr.api(ask, api_name="ask", **questions)
        demo.load(lambda: gr.update(choices=documents()), outputs=only, api_visibility="private")
    demo.state_session_capacity = SESSIONS_KEPT
    if update_on_start:
        threading.Thread(target=update_index, name="index-update", daemon=True).start()
    return demo


def checked_question(question: object) -> str:
    """The question as sent, if it is text of a sane length (the rest is `qa`'s to clean)."""
    if not isinstance(question, str):
        raise qa.InvalidArgument(f"The question must be text, not {type(question).__name__}.")
    if len(question) > MAX_QUESTION_CHARS:
        raise qa.InvalidArgument(
            f"The question is {len(question):,} characters long; at most {MAX_QUESTION_CHARS:,} are accepted."
        )
    return question


def _whole(k: object) -> object:
    """A slider sends 5.0 and a client may send "5": whole numbers pass as ints, anything else is left for qa to refuse."""
    if isinstance(k, str):
        text = k.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 100:
            return int(text)
        if len(k) > 40:  # don't echo a long string back in the error message
            raise qa.InvalidArgument(f"k must be a whole number from 1 to {qa.MAX_K}.")
        return k
    if isinstance(k, float) and k.is_integer():
        return int(max(-1e9, min(k, 1e9)))
    return k


def _printable(text: str) -> str:
    """Text that can be sent as JSON: a lone surrogate becomes U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _md(text: str | None) -> str:
    """A file name inside Markdown code: escaped, backticks and line breaks neutralised."""
    return html.escape(_printable(text or "")).replace("`", "'").replace("\n", " ").replace("\r", " ")


def _unexpected(exc: Exception) -> str:
    import traceback

    traceback.print_exception(exc)
    return "Something went wrong on the server while answering; the terminal running the page has the details."


def index_in_child(settings: qa.Settings, json_report: bool = False, log=None) -> dict | None:
    """Run `qa index` in a child process so that torch (building needs it) leaves with it.

    With `json_report`, returns the build report; otherwise progress and the
    summary go to this terminal and `log` gets each progress line. A `QAError`
    of the child is raised here with its one-line message.
    """
    command = [sys.executable, "-m", "qa", "index", "--documents", str(settings.documents),
               "--index", str(settings.index), "--model", settings.model]
    if json_report:
        command.append("--json")
    env = dict(os.environ)
    here = str(Path(qa.__file__).resolve().parent.parent)
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
        raise qa.QAError(message or f"qa index failed (exit {code}): {' '.join(errors[-3:])[:500]}")
    if json_report:
        return json.loads(out)
    sys.stdout.write(out)
    sys.stdout.flush()
    return None


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


def prepare(settings: qa.Settings, log=print) -> None:
    """Build or update the index (in a child process), with progress in the terminal."""
    try:
        index_in_child(settings, log=log)
    except qa.QAError as exc:
        print(f"warning: {exc} The page stays up; you can add texts from it.", file=sys.stderr)


def guarded_app(demo: gr.Blocks, hosts: frozenset[str]):
    """The page mounted on our own app, behind `Guard` (Host and Origin checks, body bounds).

    A CORS middleware with no allowed origins makes Gradio leave CORS to the
    parent app (it would otherwise echo other origins back), so no other
    site's page can read an answer.
    """
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask questions of a folder of documents in the browser.")
    parser.add_argument("--documents", default="documents")
    parser.add_argument("--index", default="index")
    parser.add_argument("--model", default=qa.DEFAULT_MODEL)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="another name the page may be reached by (repeatable); "
                             "localhost, 127.0.0.1, [::1] and --host are always allowed")
    parser.add_argument("--question-slots", type=int, default=QUESTION_SLOTS, metavar="N",
                        help=f"questions answered at once (default: {QUESTION_SLOTS})")
    parser.add_argument("--max-wait", type=float, default=MAX_WAIT, metavar="SECONDS",
                        help=f"longest expected wait before a question is refused as busy (default: {MAX_WAIT:g})")
    args = parser.parse_args(argv)
    if args.question_slots < 1 or args.max_wait <= 0:
        parser.error("--question-slots must be at least 1 and --max-wait positive")
    settings = qa.Settings(documents=Path(args.documents), index=Path(args.index), model=args.model)
    demo = build_demo(settings, update_on_start=True, admission=Admission(args.question_slots, args.max_wait))
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return serve(guarded_app(demo, allowed_hosts(args.host, args.allowed_host)), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
