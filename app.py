"""The web page: `python app.py`. Widgets and wiring only; the work is done by `qa`.

The index is built by a `qa index` child process (at start and after an
upload), so torch, which only building needs, never stays in this process:
questions are answered with ONNX Runtime.
"""

from __future__ import annotations

import html
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
from qa import followup, library, viewer  # noqa: E402
from qa.chat import add_files, error_reply, render_answer, unexpected  # noqa: E402
from qa.readers import supported_suffixes  # noqa: E402
from qa.search import MAX_QUESTION_CHARS  # noqa: E402
from qa.serving import arguments, guarded_app, page_script, prepare, serve, update_report  # noqa: E402
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
# What the empty conversation says (it was a blank box): what to do, and what an answer will hold.
EMPTY_CHAT = ("Ask a question about the documents. The answer is the sentence that answers it, its exact words "
              "marked, with the file and line; click a citation to see it in the file.")
FIRST_BUILD_WAIT = 600  # seconds a question on the page waits for the first index build


def build_demo(settings: qa.Settings, update_on_start: bool = False, admission: Admission | None = None) -> gr.Blocks:
    """The page. With `update_on_start`, the index is built or updated in the
    background (a `qa index` child process) while the page is already up, and
    the page shows progress."""
    state: dict = {"searcher": None, "building": None}
    admission = admission or Admission(QUESTION_SLOTS, MAX_WAIT)
    build_lock, opening, withdrawn = threading.Lock(), threading.Lock(), library.Withdrawn()

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
        line = library.status_words(len(info.documents), info.passages, info.built_at)
        return f"{building}<br>{line}" if building else line

    def documents() -> list[str]:
        return [r.id for r in corpus()[1]]

    def answer(question: object, k: object, only: list[str] | None = None, asked: object = ()) -> qa.Answer:
        """One question, checked here (the API takes any JSON), answered within the admission bound."""
        question = checked_question(question)
        k = whole_k(k)
        with admission.slot():
            return searcher().ask(question, k=k, documents=withdrawn.filter(only, documents),
                                    history=library.questions(asked))

    def respond(message: str, history: list, asked: list, k: int, only: list[str] | None, progress=gr.Progress()):
        history = library.plain_messages(history)
        if not isinstance(message, str) or not message.strip():
            gr.Warning("Type a question first.")
            return history, asked, message, gr.skip()
        history.append({"role": "user", "content": html.escape(printable(message[:MAX_QUESTION_CHARS]))})
        waited = time.monotonic()
        while state["searcher"] is None and state["building"] and time.monotonic() - waited < FIRST_BUILD_WAIT:
            progress(None, desc=f"Waiting for the first index build: {state['building']}")
            time.sleep(0.5)
        try:
            result = answer(message, k, only, asked)
            reply = render_answer(result, settings.documents)
            # the question as it was taken, its short answer and sentence: a follow-up leans on them ("who else?")
            asked = library.questions([*library.questions(asked), followup.turn(result)])
        except qa.QAError as exc:
            reply = error_reply(str(exc))
        except Exception as exc:  # never a traceback on the page; the terminal gets it
            reply = error_reply(unexpected(exc))
        history.append({"role": "assistant", "content": reply})
        # The browser keeps the conversation (BrowserState), so a reload shows it again.
        return history, asked, "", library.kept(history, asked)

    def ask_example(sample: object, ready: str, history: list, asked: list, k: int, only: list[str] | None,
                    progress=gr.Progress()):
        """A "Try" question asked at once: a person who clicks an example wants its answer. Not before the
        stored conversation is back (`ready`), whose late restore would replace the reply."""
        if not sample or not ready:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return respond(sample[0], history, asked, k, only, progress)

    def restore(stored: object):
        """The stored conversation back on the page, then the question box opened."""
        opened = gr.update(interactive=True)
        try:
            return (*library.restored(stored), opened, opened)
        except Exception as exc:  # never a page that cannot be asked
            print(f"The stored conversation could not be restored: {exc!r}", file=sys.stderr)
            return [], [], "0 messages", opened, opened

    def ask(question: str, k: int = 5) -> dict:
        """The same structured result as `qa ask --json`."""
        try:
            return answer(question, k).to_dict()
        except qa.QAError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:
            raise gr.Error(unexpected(exc), print_exception=False) from None

    def update(reason: str) -> list[str]:
        """The index follows the documents folder after the page changed it (upload or removal)."""
        state["building"] = reason
        try:
            with build_lock:
                return update_report(settings)
        except qa.QAError as exc:
            return [f"⚠️ {html.escape(str(exc))}"]
        finally:
            state["building"] = None

    def corpus() -> tuple[str | None, list[library.Row]]:
        try:
            info = searcher().info()
        except qa.QAError:
            return None, []
        return info.generation, library.rows(settings.documents, info.documents)

    def refresh(query: str = "", chosen: list[str] | None = None, seen: str | None = "?"):
        """Everything that shows the corpus: list, filter, remove choices, examples, status. Skipped while the
        served generation is still `seen` (the 2 s tick), so an open list is not redrawn under the pointer."""
        generation, listed = corpus()
        if generation == seen:
            return (gr.skip(),) * 6
        ids, pairs = {r.id for r in listed}, library.choices(listed)
        samples = [[q] for q in library.example_questions(settings.documents, [r.title for r in listed])]
        return (generation, library.list_html(listed, query),
                gr.update(choices=pairs, value=[c for c in (chosen or []) if c in ids]),
                gr.update(choices=pairs, value=None), gr.Dataset(samples=samples, visible=bool(samples)), status())

    def upload(files: list[str] | None, query: str, chosen: list[str] | None, progress=gr.Progress()):
        if not files:
            return "Choose one or more files first.", gr.skip(), *refresh(query, chosen)
        each = lambda i, n, name: progress(0.3 * i / n, desc=f"Checking {name} ({i + 1} of {n})")  # noqa: E731
        results = add_files(settings.documents, [(Path(f).name, Path(f)) for f in files], each)
        lines = library.upload_lines(results)
        if any(r.ok for r in results):
            progress(0.3, desc="Updating the index")
            lines += update("adding the uploaded files")
        # The file box is emptied: a second click would otherwise re-send the same files as duplicates.
        return "\n\n".join(lines), None, *refresh(query, chosen)

    def confirm_removal(document: str | None):
        question = library.confirmation(corpus()[1], document)
        if question is None:
            return gr.update(visible=False), "", None, "Choose a document to remove first."
        return gr.update(visible=True), question, document, ""

    def remove(document: str | None, query: str, chosen: list[str] | None, progress=gr.Progress()):
        with withdrawn.holding(document):  # not cited from now on, though the update below takes a while
            try:
                gone = library.remove(settings.documents, document, documents())
            except qa.QAError as exc:
                return gr.update(visible=False), None, f"⚠️ {html.escape(str(exc))}", *refresh(query, chosen)
            progress(0.3, desc="Updating the index")
            lines = [f"🗑️ removed `{md_name(gone)}`", *update("removing a document")]
        return gr.update(visible=False), None, "\n\n".join(lines), *refresh(query, chosen)

    examples = library.example_questions(settings.documents, [r.title for r in corpus()[1]])

    def open_source(raw: str):
        request = viewer.parse_request(raw)
        if request is None:
            return gr.update(visible=True), "<p>That citation could not be read.</p>", gr.update(value=None, visible=False)
        path = viewer.locate(settings.documents, request.document, known := documents())
        download = gr.update(value=None, visible=False)
        try:  # the document opens even when its copy cannot be made (a full disk): only the button goes
            download = gr.update(value=str(viewer.download_copy(path)), visible=True) if path else download
        except OSError as exc:
            print(f"The download copy of {path} could not be made: {exc}", file=sys.stderr)
        return gr.update(visible=True), viewer.view(settings.documents, request, known), download

    # Gradio's cache (uploads, downloads) is swept hourly of files a day old: a server left running
    # would otherwise keep a copy of every file it was sent.
    with gr.Blocks(title="Ask the documents", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown("## Ask the documents\nAnswers are passages quoted from your documents, each with file and line numbers.")
        info = gr.Markdown(status, elem_id="index-status")
        seen = gr.State(None)  # the generation this page last listed; the tick redraws the lists when it changes
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chat = gr.Chatbot(label="Conversation", height=560, elem_id="chat", sanitize_html=True, autoscroll=False,
                                  buttons=[], feedback_options=None, placeholder=EMPTY_CHAT)
                with gr.Row():
                    # Both start disabled and open once the stored conversation is back: a question
                    # asked before that (a fast typist, a loaded server) had its answer wiped when the
                    # late restore replaced the chat.
                    box = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, scale=8, elem_id="question",
                                     autofocus=True, max_length=MAX_QUESTION_CHARS, interactive=False)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", interactive=False)
                tries = gr.Dataset(components=[box], samples=[[q] for q in examples], label="Try", visible=bool(examples),
                                   elem_id="examples")
                fresh = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                with gr.Accordion("Options", open=False):
                    k = gr.Slider(1, 10, value=settings.k, step=1, label="Passages to show (k)")
                with gr.Accordion("Documents", open=False, elem_id="documents"):
                    find = gr.Textbox(placeholder="Search titles and file names", show_label=False, elem_id="doc-search")
                    listing = gr.HTML(elem_id="doc-list")
                    only = gr.Dropdown(multiselect=True, label="Ask only these documents (empty: all)", elem_id="only")
                    with gr.Row():
                        doomed = gr.Dropdown(label="Remove a document", elem_id="remove-choice", scale=3, min_width=200)
                        ask_remove = gr.Button("Remove…", variant="stop", elem_id="remove", scale=1, min_width=90)
                    with gr.Group(visible=False, elem_id="remove-confirm") as confirm:
                        confirm_text = gr.Markdown(elem_id="remove-question")
                        with gr.Row():
                            yes = gr.Button("Yes, delete the file", variant="stop", elem_id="remove-yes")
                            no = gr.Button("Cancel", elem_id="remove-no")
                    removed = gr.Markdown(elem_id="remove-status")
                    pending = gr.State(None)  # the id being confirmed, from the server's own list
                with gr.Accordion("Add texts", open=False):
                    # No `file_types` filter: Gradio would refuse the whole batch, or the
                    # browser drop a file silently; add_files says for each file why not.
                    files = gr.File(file_count="multiple", label=f"Upload {', '.join(supported_suffixes())} files", elem_id="upload")
                    add = gr.Button("Add to documents and update the index", elem_id="add")
                    added = gr.Markdown(elem_id="upload-status")
            with gr.Column(scale=2, min_width=340, visible=False, elem_id="doc-panel") as panel:
                with gr.Row(elem_id="doc-header"):
                    gr.Markdown("### Source", elem_id="doc-heading")
                    download = gr.DownloadButton("Download original", visible=False, elem_id="doc-download", size="sm", scale=0)
                    close = gr.Button("Close", size="sm", elem_id="doc-close", scale=0)
                doc_view = gr.HTML(elem_id="doc-view")
        private = dict(api_visibility="private")
        cite_request = gr.Textbox(visible="hidden", elem_id="cite-request")
        cite_open = gr.Button(visible="hidden", elem_id="cite-open")
        cite_open.click(open_source, [cite_request], [panel, doc_view, download], js="(x) => window.__qaCite || ''", **private)
        close.click(lambda: gr.update(visible=False), outputs=panel, **private)
        asked = gr.State([])  # this conversation's questions, so a follow-up can lean on them
        # The conversation kept in this browser's storage (a fixed key and a secret kept with the index: restarts keep it).
        saved = gr.BrowserState(library.EMPTY_CONVERSATION, storage_key="qa-conversation", secret=library.browser_secret(settings.index))
        restored = gr.Textbox(visible="hidden", elem_id="restored")  # "N messages" once the stored chat is back
        questions = dict(concurrency_limit=QUESTION_EVENTS, concurrency_id="questions")
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chat, asked, k, only], [chat, asked, box, saved], **private, **questions)
        tries.click(ask_example, [tries, restored, chat, asked, k, only], [chat, asked, box, saved], **private, **questions)
        for trigger in (fresh.click, chat.clear):  # the chat's own bin clears the stored copy too
            trigger(lambda: ([], [], dict(library.EMPTY_CONVERSATION)), outputs=[chat, asked, saved], **private)
        listed = [seen, listing, only, doomed, tries, info]
        add.click(upload, [files, find, only], [added, files, *listed], concurrency_limit=1, **private)
        find.change(lambda q: library.list_html(corpus()[1], q), [find], [listing], **private)
        ask_remove.click(confirm_removal, [doomed], [confirm, confirm_text, pending, removed], **private)
        no.click(lambda: (gr.update(visible=False), None), outputs=[confirm, pending], **private)
        yes.click(remove, [pending, find, only], [confirm, pending, removed, *listed], concurrency_limit=1, **private)
        gr.Timer(2.0).tick(lambda q, c, g: refresh(q, c, g)[:-1] + (status(),), [find, only, seen], listed, **private)
        gr.api(ask, api_name="ask", **questions)
        demo.load(refresh, [find, only], listed, **private)
        # Unlimited: restoring is trivial, and the box waits for it, so it must never queue behind ticks.
        demo.load(restore, [saved], [chat, asked, restored, box, send], concurrency_limit=None, **private).then(
            None, js="() => document.querySelector('#question textarea')?.focus()", **private)
        demo.load(None, js=page_script(WEB), **private)
    demo.state_session_capacity = SESSIONS_KEPT
    if update_on_start:
        threading.Thread(target=update_index, name="index-update", daemon=True).start()
    return demo


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, QUESTION_SLOTS, MAX_WAIT)
    settings = qa.Settings(documents=Path(args.documents), index=Path(args.index), model=args.model,
                           backend=args.backend, uri=args.uri)
    demo = build_demo(settings, update_on_start=True, admission=Admission(args.question_slots, args.max_wait))
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return serve(guarded_app(demo, allowed_hosts(args.host, args.allowed_host)), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
