"""The web page: `python app.py`. Widgets and wiring only; the work is done by `qa`."""

from __future__ import annotations

import argparse
import html
import json
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import gradio as gr

import qa
from qa import viewer
from qa.chat import add_files, example_questions, render_answer
from qa.readers import supported_suffixes

QUEUE_SIZE = 32  # questions waiting at most; more are refused rather than piling up
CONCURRENCY = 2  # one per core
WEB = Path(__file__).resolve().parent / "web"
FIRST_BUILD_WAIT = 600  # seconds a question waits for the first index build


def build_demo(settings: qa.Settings, update_on_start: bool = False) -> gr.Blocks:
    """The page. With `update_on_start`, the index is built or updated in the
    background while the page is already up, and the page shows progress."""
    state: dict = {"searcher": None, "building": None}

    def searcher() -> qa.Searcher:
        if state["building"]:
            raise qa.IndexLocked(f"The index is being updated ({state['building']}). Ask again in a moment.")
        if state["searcher"] is None:
            state["searcher"] = qa.Searcher(settings.index)
        return state["searcher"]

    def update_index() -> None:
        def log(message: str) -> None:
            state["building"] = message
            print(message, flush=True)

        state["building"] = "checking the documents folder"
        try:
            prepare(settings, log)
        finally:
            state["building"] = None

    def status() -> str:
        if state["building"]:
            return f"⏳ Updating the index: {html.escape(state['building'])}"
        try:
            info = searcher().info()
        except qa.QAError as exc:
            return f"⚠️ {html.escape(str(exc))}"
        return status_words(len(info.documents), info.passages, info.built_at)

    def documents() -> list[str]:
        try:
            return searcher().documents()
        except qa.QAError:
            return []

    def respond(message: str, history: list, k: int, only: list[str] | None, progress=gr.Progress()):
        history = list(history or [])
        if not message or not message.strip():
            gr.Warning("Type a question first.")
            return history, message
        history.append({"role": "user", "content": html.escape(message)})
        waited = time.monotonic()
        while state["building"] and time.monotonic() - waited < FIRST_BUILD_WAIT:
            progress(None, desc=f"Waiting for the first index build: {state['building']}")
            time.sleep(0.5)
        try:
            answer = searcher().ask(message, k=_whole(k), documents=only or None)
            reply = render_answer(answer, settings.documents)
        except qa.QAError as exc:
            reply = f'<div class="qa-answer qa-error" role="alert"><p class="qa-best">⚠️ {html.escape(str(exc))}</p></div>'
        history.append({"role": "assistant", "content": reply})
        return history, ""

    def ask(question: str, k: int = 5) -> dict:
        """The same structured result as `qa ask --json`."""
        try:
            return searcher().ask(question, k=_whole(k)).to_dict()
        except qa.QAError as exc:
            raise gr.Error(str(exc)) from None

    def upload(files: list[str] | None, progress=gr.Progress()):
        if not files:
            return "Choose one or more files first.", gr.update(), status()
        progress(0.1, desc="Saving files")
        results = add_files(settings.documents, [(Path(f).name, Path(f)) for f in files])
        lines = [
            f"✅ added `{html.escape(r.name)}`" if r.ok else f"❌ `{html.escape(r.original)}`: {html.escape(r.error)}"
            for r in results
        ]
        if any(r.ok for r in results):
            progress(0.3, desc="Updating the index")
            try:
                report = qa.build_index(settings)
                lines.append(
                    f"Index updated: {len(report.added)} added, {len(report.changed)} changed, "
                    f"{len(report.removed)} removed; {report.embedded} passages embedded in {report.seconds:.1f} s."
                )
                lines += [f"skipped `{html.escape(s.document)}`: {html.escape(s.reason)}" for s in report.skipped]
            except qa.QAError as exc:
                lines.append(f"⚠️ {html.escape(str(exc))}")
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

    with gr.Blocks(title="Ask the documents") as demo:
        gr.Markdown("## Ask the documents\nAnswers are passages quoted from your documents, each with file and line numbers.")
        info = gr.Markdown(status, elem_id="index-status")
        gr.Timer(2.0).tick(status, outputs=info, api_visibility="private")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chat = gr.Chatbot(label="Conversation", height=560, elem_id="chat", sanitize_html=True, autoscroll=False,
                                  buttons=[], feedback_options=None)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, scale=8, elem_id="question",
                                     autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                if examples:
                    gr.Examples(examples, inputs=box, label="Try")
                with gr.Accordion("Options", open=False):
                    k = gr.Slider(1, 10, value=settings.k, step=1, label="Passages to show (k)")
                    only = gr.Dropdown(choices=documents(), multiselect=True, label="Only these documents (empty: all)", elem_id="only")
                with gr.Accordion("Add texts", open=False):
                    types = list(supported_suffixes())
                    files = gr.File(file_count="multiple", file_types=types, label=f"Upload {', '.join(types)} files", elem_id="upload")
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
        box.submit(respond, [box, chat, k, only], [chat, box], api_visibility="private")
        send.click(respond, [box, chat, k, only], [chat, box], api_visibility="private")
        add.click(upload, [files], [added, only, info], api_visibility="private")
        gr.api(ask, api_name="ask")
        demo.load(lambda: gr.update(choices=documents()), outputs=only, api_visibility="private")
        demo.load(None, js=page_script(), api_visibility="private")
    if update_on_start:
        threading.Thread(target=update_index, name="index-update", daemon=True).start()
    return demo


def page_script() -> str:
    """web/page.js with web/page.css inlined, as the function Gradio runs on load."""
    css = (WEB / "page.css").read_text(encoding="utf-8")
    return "() => {\nconst QA_CSS = " + json.dumps(css) + ";\n" + (WEB / "page.js").read_text(encoding="utf-8") + "\n}"


def status_words(documents: int, passages: int, built_at: str, now: datetime | None = None) -> str:
    """"2 documents · 15 passages · updated 3 minutes ago": the index's state in words."""
    def count(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    return f"{count(documents, 'document')} · {count(passages, 'passage')} · updated {_ago(built_at, now)}"


def _ago(iso: str, now: datetime | None = None) -> str:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return "at an unknown time"
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = max(0, ((now or datetime.now(timezone.utc)) - then).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def _whole(k: object) -> object:
    """A slider sends 5.0 and a client may send "5": whole numbers pass as ints, anything else is left for qa to refuse."""
    if isinstance(k, str) and k.strip().lstrip("-").isdigit():
        return int(k)
    if isinstance(k, float) and k.is_integer():
        return int(k)
    return k


def prepare(settings: qa.Settings, log=print) -> None:
    """Build or update the index, with progress in the terminal."""
    try:
        report = qa.build_index(settings, progress=True, log=log)
    except qa.EmptyCorpus as exc:
        print(f"warning: {exc} You can add texts from the page.", file=sys.stderr)
        return
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return
    if report.up_to_date:
        print(f"Index is up to date: {report.documents} documents, {report.passages} passages.")
    else:
        print(f"Indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f} s.")
    for s in report.skipped:
        print(f"  skipped {s.document}: {s.reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask questions of a folder of documents in the browser.")
    parser.add_argument("--documents", default="documents")
    parser.add_argument("--index", default="index")
    parser.add_argument("--model", default=qa.DEFAULT_MODEL)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    settings = qa.Settings(documents=Path(args.documents), index=Path(args.index), model=args.model)
    demo = build_demo(settings, update_on_start=True)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    demo.launch(server_name=args.host, server_port=args.port, share=False, max_file_size="20mb", show_error=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
