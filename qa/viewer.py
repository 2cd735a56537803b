"""Document views for the web page: the cited file itself, with the cited lines highlighted.

A document is found only by its id in the served index, and only inside the
documents folder; no path from a client is ever opened. Everything taken from a
document is HTML-escaped, so a hostile file is shown as text.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from bisect import bisect_right
from pathlib import Path
from typing import Iterable

from .answer import Citation, on_pages
from .chat import escape, numbered_lines
from .readers import Unreadable, read_path

# Lines shown on each side of the cited ones; a whole book is not sent to the page.
WINDOW = 200
PDF_SCALE = 1.5


@dataclass(frozen=True)
class Request:
    """What a click on a citation asks for: a document id and lines (1-based), maybe a page."""

    document: str
    line_start: int
    line_end: int
    page: int | None = None


def parse_request(raw: object) -> Request | None:
    """`doc|line_start|line_end|page` from the page's script → Request, or None if malformed."""
    if not isinstance(raw, str) or raw.count("|") != 3 or len(raw) > 2000:
        return None
    doc, a, b, page = raw.split("|")
    try:
        start, end = int(a), int(b)
        number = int(page) if page else None
    except ValueError:
        return None
    if not doc or start < 1 or end < start or (number is not None and number < 1):
        return None
    return Request(doc, start, end, number)


def locate(documents: Path, document: str, known: Iterable[str]) -> Path | None:
    """The file of index document `document`, if the index knows it and it lies inside `documents`."""
    if document not in set(known):
        return None
    root = Path(documents).resolve()
    path = (root / document).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


# Copies the download folder keeps: Gradio serves a file only from its temp folder (never the
# documents folder) and copies it into its own cache as the click is answered, so only the
# newest few are still needed; a folder per click would fill the disk of a server left running.
KEPT_DOWNLOADS = 16
_downloads: list[Path] = []  # this process's download folder, made on first use
_lock = threading.Lock()


def download_copy(path: Path) -> Path:
    """A copy of the original for the page's download button, under its own name, in this process's
    one download folder (removed at exit), which keeps the KEPT_DOWNLOADS newest copies."""
    with _lock:
        if not _downloads:
            _downloads.append(Path(tempfile.mkdtemp(prefix="qa-download-")))
            atexit.register(shutil.rmtree, _downloads[0], True)
        slot = _downloads[0] / hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        slot.mkdir(parents=True, exist_ok=True)  # the folder again, if a /tmp cleaner took it
        part = slot / ".part"
        shutil.copyfile(path, part)
        os.replace(part, slot / path.name)  # a copy being served is never seen half written
        os.utime(slot)
        for old in sorted(_downloads[0].iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)[KEPT_DOWNLOADS:]:
            shutil.rmtree(old, ignore_errors=True)
        return slot / path.name


def view(documents: Path, request: Request, known: Iterable[str]) -> str:
    """HTML showing the cited place in its document: a PDF page image with the cited words boxed,
    or the text with line numbers; in both, the cited lines are marked `qa-hl`."""
    path = locate(documents, request.document, known)
    if path is None:
        return f'<div class="qa-doc"><p>The document <code>{escape(request.document)}</code> is not in the index.</p></div>'
    try:
        _, lines, pages, paragraphs = read_path(path)
    except (Unreadable, OSError) as exc:
        return f'<div class="qa-doc"><p>The document cannot be read: {escape(str(exc))}</p></div>'
    a, b = min(request.line_start, len(lines)), min(request.line_end, len(lines))
    place = Citation(request.document, "", a, b, 0, 0, **on_pages(a, b, pages)).place  # named as its citation is
    head = (f'<div class="qa-doc" role="region" aria-label="Source document">'
            f'<p class="qa-doc-title"><strong>{escape(request.document)}</strong> · {escape(place)}</p>')
    image = ""
    if pages and path.suffix.lower() == ".pdf":
        page = request.page or max(1, bisect_right(pages, a))
        image = _pdf_page(path, page, "\n".join(lines[a - 1 : b]))
    return head + image + numbered_lines(lines, a, b, WINDOW, pages, paragraphs) + "</div>"


def _pdf_page(path: Path, page: int, needle: str) -> str:
    from .readers import pdfview

    try:
        png = pdfview.render_page(path, page, PDF_SCALE)
    except Exception as exc:  # a page that will not render still leaves the text view
        return f"<p>Page {page} cannot be shown: {escape(str(exc))}</p>"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    boxes = pdfview.span_boxes(path, page, needle, PDF_SCALE)
    if not boxes:  # the cited lines may run onto the next page: box each line found here
        for line in needle.split("\n"):
            boxes += pdfview.span_boxes(path, page, line, PDF_SCALE) if line.strip() else []
    marks = "".join(
        f'<span class="qa-box{" qa-hl" if i == 0 else ""}" style="left:{100 * x0 / width:.3f}%;top:{100 * y0 / height:.3f}%;'
        f'width:{100 * (x1 - x0) / width:.3f}%;height:{100 * (y1 - y0) / height:.3f}%"></span>'
        for i, (x0, y0, x1, y1) in enumerate(boxes)
    )
    data = base64.b64encode(png).decode("ascii")
    return (f'<div class="qa-page"><img alt="Page {page} of the document" src="data:image/png;base64,{data}">'
            f"{marks}</div><p><small>Page {page}; the cited text is boxed. Its extracted lines:</small></p>")
