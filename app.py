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
from qa import viewer  # noqa: E402
from qa.chat import add_files, example_questions, render_answer, status_words  # noqa: E402
from qa.readers import supported_suffixes  # noqa: E402
from qa.search import MAX_QUESTION_CHARS  # noqa: E402
from qa.serving import guarded_app, index_in_child, prepare, serve  # noqa: E402
from qa.web import Admission, allowed_hosts, checked_question, md_name, printable, whole_k  # noqa: E402

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
WEB = Path(__file__).resolve().parent / "web"
FIRST_BUILD_WAIT = 600  # seconds a question on the page waits for the first index build


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
        line = status_words(len(info.documents), info.passages, info.built_at)
        return f"{building}<br>{line}" if building else line

    def documents() -> list[str]:
        try:
            return searcher().documents()
        except qa.QAError:
            return []

    def answer(question: object, k: object, only: list[str] | None = None, asked: list[str] = ()) -> qa.Answer:
        """One question, checked here (the API takes any JSON), answered within the admission bound."""
        question = checked_question(question)
        k = whole_k(k)
        with admission.slot():
            return searcher().ask(question, k=k, documents=only or None, history=list(asked or ())[-4:])

    def respond(message: str, history: list, asked: list, k: int, only: list[str] | None, progress=gr.Progress()):
        history = list(history or [])
        if not isinstance(message, str) or not message.strip():
            gr.Warning("Type a question first.")
            return history, asked, message
        history.append({"role": "user", "content": html.escape(printable(message[:MAX_QUESTION_CHARS]))})
        waited = time.monotonic()
        while state["searcher"] is None and state["building"] and time.monotonic() - waited < FIRST_BUILD_WAIT:
            progress(None, desc=f"Waiting for the first index build: {state['building']}")
            time.sleep(0.5)
        try:
            result = answer(message, k, only, asked)
            reply = render_answer(result, settings.documents)
            asked = [*list(asked or [])[-3:], message]
        except qa.QAError as exc:
            reply = _error_reply(str(exc))
        except Exception as exc:  # never a traceback on the page; the terminal gets it
            reply = _error_reply(_unexpected(exc))
        history.append({"role": "assistant", "content": reply})
        return history, asked, ""

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
            f"✅ added `{md_name(r.name)}`" if r.ok else f"❌ `{md_name(r.original)}`: {html.escape(r.error)}"
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
                lines += [f"skipped `{md_name(s['document'])}`: {html.escape(s['reason'])}" for s in report["skipped"]]
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

    def open_source(raw: str):
        request = viewer.parse_request(raw)
        if request is None:
            return gr.update(visible=True), "<p>That citation could not be read.</p>", gr.update(value=None, visible=False)
        known = documents()
        path = viewer.locate(settings.documents, request.document, known)
        download = gr.update(value=str(viewer.download_copy(path)), visible=True) if path else gr.update(value=None, visible=False)
        return gr.update(visible=True), viewer.view(settings.documents, request, known), download

    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        gr.Markdown("## Ask the documents\nAnswers are passages quoted from your documents, each with file and line numbers.")
        info = gr.Markdown(status, elem_id="index-status")
        gr.Timer(2.0).tick(status, outputs=info, api_visibility="private")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chat = gr.Chatbot(label="Conversation", height=560, elem_id="chat", sanitize_html=True, autoscroll=False,
                                  buttons=[], feedback_options=None)
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
            with gr.Column(scale=2, min_width=340, visible=False, elem_id="doc-panel") as panel:
                with gr.Row():
                    gr.Markdown("### Source", elem_id="doc-heading")
                    download = gr.DownloadButton("Download original", visible=False, elem_id="doc-download", size="sm", scale=0)
                    close = gr.Button("Close (Esc)", size="sm", elem_id="doc-close", scale=0)
                doc_view = gr.HTML(elem_id="doc-view")
        cite_request = gr.Textbox(visible="hidden", elem_id="cite-request")
        cite_open = gr.Button(visible="hidden", elem_id="cite-open")
        cite_open.click(open_source, [cite_request], [panel, doc_view, download], js="(x) => window.__qaCite || ''",
                        api_visibility="private")
        close.click(lambda: gr.update(visible=False), outputs=panel, api_visibility="private")
        asked = gr.State([])  # this conversation's questions, so a follow-up can lean on them
        questions = dict(concurrency_limit=QUESTION_EVENTS, concurrency_id="questions")
        box.submit(respond, [box, chat, asked, k, only], [chat, asked, box], api_visibility="private", **questions)
        send.click(respond, [box, chat, asked, k, only], [chat, asked, box], api_visibility="private", **questions)
        add.click(upload, [files], [added, only, info], api_visibility="private", concurrency_limit=1)
        gr.api(ask, api_name="ask", **questions)
        demo.load(lambda: gr.update(choices=documents()), outputs=only, api_visibility="private")
        demo.load(None, js=page_script(), api_visibility="private")
    demo.state_session_capacity = SESSIONS_KEPT
    if update_on_start:
        threading.Thread(target=update_index, name="index-update", daemon=True).start()
    return demo


def page_script() -> str:
    """web/page.js with web/page.css inlined, as the function Gradio runs on load."""
    css = (WEB / "page.css").read_text(encoding="utf-8")
    return "() => {\nconst QA_CSS = " + json.dumps(css) + ";\n" + (WEB / "page.js").read_text(encoding="utf-8") + "\n}"


def _error_reply(message: str) -> str:
    return f'<div class="qa-answer qa-error" role="alert"><p class="qa-best">⚠️ {html.escape(message)}</p></div>'


def _unexpected(exc: Exception) -> str:
    import traceback

    traceback.print_exception(exc)
    return "Something went wrong on the server while answering; the terminal running the page has the details."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask questions of a folder of documents in the browser.")
    parser.add_argument("--documents", default="documents")
    parser.add_argument("--index", default="index")
    parser.add_argument("--model", default=qa.DEFAULT_MODEL)
    # The page updates the index at start: without these it would update (migrate) a Milvus index to FAISS.
    parser.add_argument("--backend", choices=["faiss", "milvus"], default=qa.Settings.backend,
                        help="where the index lives, as for qa index (default: faiss)")
    parser.add_argument("--uri", help="Milvus: a server URL shared by several app processes (token from QA_MILVUS_TOKEN), or a Lite file")
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
    settings = qa.Settings(documents=Path(args.documents), index=Path(args.index), model=args.model,
                           backend=args.backend, uri=args.uri)
    demo = build_demo(settings, update_on_start=True, admission=Admission(args.question_slots, args.max_wait))
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return serve(guarded_app(demo, allowed_hosts(args.host, args.allowed_host)), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
