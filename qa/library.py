"""The page's documents panel and its stored conversation: what is listed, what may be removed, what is kept.

Removal takes a document *id* from the served index, never a path from the
page, and deletes only that entry inside the documents folder. The stored
conversation comes back from the browser: it is checked here (shape, size)
before it reaches the chat, which sanitises its HTML again when showing it.
"""

from __future__ import annotations

import html
import os
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Sequence

from . import followup
from .errors import InvalidArgument
from .readers import registration
from .text import counted
from .web import md_name, printable

# What the browser keeps of a conversation: the last turns only, so
# localStorage (about 5 MB per site) never fills and a reload stays quick.
KEPT_MESSAGES = 20
KEPT_CHARS = 1_500_000
KEPT_QUESTIONS = 4
EMPTY_CONVERSATION = {"chat": [], "asked": []}


@dataclass(frozen=True)
class Row:
    """One document as the panel lists it."""

    id: str
    title: str
    kind: str
    pages: int
    passages: int
    added: str  # the file's date in the documents folder, YYYY-MM-DD; "" if the file is gone

    def label(self) -> str:
        """How the document is named in the filter and remove lists: its title, and its file when they differ."""
        title = " ".join(self.title.split()) or self.id
        short = title if len(title) <= 60 else title[:59].rsplit(" ", 1)[0] + "…"
        return short if short == self.id else f"{short} ({self.id})"


def rows(documents: Path, listed: Iterable) -> list[Row]:
    """Rows for the index's documents (`IndexInfo.documents`), titles first, then ids."""
    root = Path(documents)
    out = []
    for d in listed:
        reg = registration(d.id)
        try:
            added = datetime.fromtimestamp((root / d.id).stat().st_mtime).strftime("%Y-%m-%d")
        except OSError:
            added = ""
        out.append(Row(d.id, d.title, reg.label if reg else "?", d.pages, d.passages, added))
    return sorted(out, key=lambda r: (r.title.casefold(), r.id))


def matching(listed: Sequence[Row], query: object) -> list[Row]:
    """The rows whose title, file name or type contain every word of `query` (any case)."""
    words = str(query or "").casefold().split()[:20]
    return [r for r in listed if all(w in f"{r.title} {r.id} {r.kind}".casefold() for w in words)]


def list_html(listed: Sequence[Row], query: object = "") -> str:
    """The panel's list as escaped HTML: one wrapped line per document, so it reads at 375 px without scrolling."""
    shown = matching(listed, query)
    if not listed:
        return '<p class="qa-docs-empty">No documents yet: add some below.</p>'
    if not shown:
        return f'<p class="qa-docs-empty">No document matches “{_esc(str(query)[:100])}”.</p>'
    items = []
    for r in shown:
        size = f"{r.pages} page{'s' * (r.pages != 1)} · " if r.pages else ""
        added = f" · added {r.added}" if r.added else ""
        items.append(f'<li class="qa-doc-row"><strong>{_esc(r.title or r.id)}</strong><br>'
                     f'<small><code>{_esc(r.id)}</code> · {_esc(r.kind)} · {size}'
                     f'{r.passages} passage{"s" * (r.passages != 1)}{added}</small></li>')
    count = f"{len(shown)} of {len(listed)} documents" if len(shown) != len(listed) else \
        f"{len(listed)} document{'s' * (len(listed) != 1)}"
    return f'<p class="qa-docs-count">{count}</p><ul class="qa-docs">{"".join(items)}</ul>'


def choices(listed: Sequence[Row]) -> list[tuple[str, str]]:
    """(label, id) pairs for the page's document lists: people read titles, the server gets ids."""
    return [(r.label(), r.id) for r in listed]


def upload_lines(results: Iterable) -> list[str]:
    """One line per uploaded file (`chat.Upload`): added under its name, or refused with the reason."""
    return [f"✅ added `{md_name(r.name)}`" if r.ok else f"❌ `{md_name(r.original)}`: {_esc(r.error)}" for r in results]


def confirmation(listed: Sequence[Row], document: object) -> str | None:
    """The question asked before deleting `document` (Markdown, names escaped), or None if it is not listed."""
    row = next((r for r in listed if r.id == document), None)
    if row is None:
        return None
    name = _esc(row.label()).replace("*", "&#42;").replace("_", "&#95;").replace("`", "&#96;")
    return f"Delete **{name}** from the documents folder and the index? It will not be cited again."


def removable(documents: Path, document: object, known: Iterable[str]) -> Path:
    """The folder entry of index document `document`, if it may be deleted; else InvalidArgument saying why.

    Only an id the served index lists, naming a plain file (or a link, which is
    removed itself, never its target) inside `documents`.
    """
    if not isinstance(document, str) or not document:
        raise InvalidArgument("Choose a document to remove first.")
    if document not in set(known):
        raise InvalidArgument("That document is not in the index (it may have been removed already).")
    parts = PurePosixPath(document).parts
    if PurePosixPath(document).is_absolute() or ".." in parts or "\\" in document:
        raise InvalidArgument("That document id does not name a file inside the documents folder.")
    root = Path(documents).resolve()
    entry = root.joinpath(*parts)
    # The folder holding the entry must be the documents folder or inside it (no link out of it on the way).
    if entry.parent.resolve() != root and root not in entry.parent.resolve().parents:
        raise InvalidArgument("That document id does not name a file inside the documents folder.")
    if not entry.is_symlink() and not entry.is_file():
        raise InvalidArgument(f"The file {document} is no longer in the documents folder.")
    return entry


def remove(documents: Path, document: object, known: Iterable[str]) -> str:
    """Delete index document `document` from the documents folder; returns its id. The caller updates the index."""
    entry = removable(documents, document, known)
    try:
        entry.unlink()
    except FileNotFoundError:
        pass  # removed meanwhile: the outcome asked for
    except OSError as exc:
        raise InvalidArgument(f"The file {document} could not be deleted: {exc.strerror or exc}.") from None
    return str(document)


# The conversation kept in the browser -----------------------------------------------


def plain_messages(history: object) -> list[dict]:
    """Chat messages as {"role", "content": str}: Gradio hands content back as parts, storage wants text.

    Anything else (a message of another shape, a file, a wrong role) is dropped.
    """
    out = []
    for m in history if isinstance(history, list) else []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        content = m.get("content")
        if isinstance(content, list):
            texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            content = "".join(t for t in texts if isinstance(t, str))
        if isinstance(content, str) and content:
            out.append({"role": m["role"], "content": printable(content)})
    return out


def kept(history: object, asked: object) -> dict:
    """What the browser stores: the last messages that fit, and the questions a follow-up leans on."""
    messages = plain_messages(history)[-KEPT_MESSAGES:]
    while messages and sum(len(m["content"]) for m in messages) > KEPT_CHARS:
        messages = messages[2:] if len(messages) > 1 else []
    return {"chat": messages, "asked": questions(asked)}


def questions(asked: object) -> list:
    """The last turns a follow-up leans on (followup.turns): each a question as it was taken, or [that,
    the short answer, the answering sentence], as text JSON can carry: a lone surrogate typed into the
    box would make the stored conversation unserialisable, and the whole reply with it."""
    return followup.turns(asked, KEPT_QUESTIONS)


def restored(saved: object) -> tuple[list[dict], list[str], str]:
    """The chat, follow-up questions and "N messages" from what the browser sent back.

    Anything unreadable is a new conversation rather than an error: the value
    is the browser's, and a stale or foreign one must not break the page.
    """
    value = kept(saved.get("chat"), saved.get("asked")) if isinstance(saved, dict) else dict(EMPTY_CONVERSATION)
    return value["chat"], value["asked"], f"{len(value['chat'])} messages"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def browser_secret(index: Path) -> str:
    """The key the page's stored conversation is sealed with, kept in the index folder.

    Gradio draws a new random key at each start, so a restarted page could no
    longer read what browsers had stored and every conversation was lost; one
    kept beside the index (owner-only) lets history survive a restart.
    """
    path = Path(index) / ".page-secret"
    try:
        value = path.read_text(encoding="ascii").strip()
        if len(value) >= 32:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".page-secret.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
        os.replace(tmp, path)
    except OSError:  # a read-only index: history then lasts as long as this process
        pass
    return value


class Withdrawn:
    """Documents being removed: never cited from the moment removal starts.

    The file is deleted first and the index updated after (seconds, more on a
    big corpus); questions meanwhile are answered from the served generation,
    which still holds the document. Filtering it out of those answers closes
    that window: once removal starts, the document is never cited again.
    """

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def holding(self, document: object) -> Iterator[None]:
        key = str(document)
        with self._lock:
            self._ids.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._ids.discard(key)

    def filter(self, only: Sequence[str] | None, known: Callable[[], Iterable[str]]) -> list[str] | None:
        """The `documents` filter for a question: `only` (None: every document) less the withdrawn ones."""
        with self._lock:
            gone = set(self._ids)
        if not gone:
            return list(only) if only else None
        keep = [d for d in (only or known()) if d not in gone]
        if not keep:
            raise InvalidArgument("The documents chosen for this question have been removed.")
        return keep


def status_words(documents: int, passages: int, built_at: str, now: datetime | None = None) -> str:
    """"2 documents · 15 passages · updated 3 minutes ago": the index's state in words."""
    return f"{counted(documents, 'document')} · {counted(passages, 'passage')} · updated {_ago(built_at, now)}"


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


def example_questions(documents: Path, titles: Iterable[str], limit: int = 4) -> list[str]:
    """Starter questions: the corpus's own `.questions.txt` if present, else built from titles."""
    listed = Path(documents) / ".questions.txt"
    if listed.is_file():
        lines = [line.strip() for line in listed.read_text(encoding="utf-8", errors="replace").splitlines()]
        found = [line for line in lines if line and not line.startswith("#")]
        if found:
            return found[:limit]
    shorts = (title if len(title) <= 70 else title[:69].rsplit(" ", 1)[0] + "…" for title in titles)
    return list(dict.fromkeys(f"What does the text “{short}” say?" for short in shorts))[:limit]  # one per title
