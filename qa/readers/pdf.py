"""PDF: PDFium's text layer page by page, OCR for scanned pages, page images for the web page.

Each visual line becomes one line of `Extracted.text`, in PDFium's order, and
nothing else does: line N of a page is the Nth line a person counts on it.
Where the page shows a paragraph gap (or a heading starts) the line is listed
in `breaks`, never at a page break by itself, so a sentence running over a
page break stays one sentence. Running headers and footers, bare page numbers
and table-of-contents leader lines stay in the text (line numbers keep
matching the page) but are listed in `skip`. Pages are opened, read and closed one at
a time, so a 2,000-page file costs the memory of its text, not of its pages.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

from . import layout, ocr
from .base import Extracted, Unreadable
from .layout import Line

PDF_MAX_BYTES = 200 * 1024 * 1024
MAX_BOOKMARKS = 5000
_BREAK = re.compile(r"\r\n|\r|\n")


def _pdfium():
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    return pdfium, raw


def open_pdf(data: bytes):
    """A PdfDocument, or `Unreadable` saying why not (not a PDF, truncated, encrypted, damaged)."""
    pdfium, raw = _pdfium()
    if b"%PDF-" not in data[:1024]:
        raise Unreadable("not a PDF file (no %PDF header)")
    # Producers end every revision with %%EOF; without one in the tail the file was cut off
    # (an interrupted download or copy), and whatever PDFium salvages would be silently incomplete.
    if b"%%EOF" not in data[-65536:]:
        raise Unreadable("truncated PDF (the file ends before its end marker; copy or download it again)")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == raw.FPDF_ERR_PASSWORD:
            raise Unreadable(
                "encrypted (password-protected) PDF; save a copy without the password "
                "(for example: qpdf --decrypt --password=PASSWORD in.pdf out.pdf) and add that instead"
            ) from None
        raise Unreadable(f"damaged PDF that cannot be opened ({exc})") from None


def meaningful_title(title: str | None, path: Path) -> str | None:
    """The metadata title unless it is empty, a file name or a converter's label."""
    title = " ".join((title or "").split())
    low = title.lower()
    if not title or not any(c.isalpha() for c in title) or len(title) > 300:
        return None
    if re.match(r"^(microsoft (word|powerpoint|excel) - |untitled|title$|document\d*$|no title|unknown$)", low):
        return None
    if re.search(r"\.(pdf|docx?|odt|rtf|tex|dvi|ps|indd|pages|txt|html?|xlsx?|pptx?)$", low) or "\\" in title:
        return None
    if low in (path.stem.lower(), path.name.lower()) or ("/" in title and " " not in title):
        return None
    return title


def text_lines(page, textpage) -> list[Line] | None:
    """The page's text-layer lines with geometry; None when there is no usable text layer."""
    _, raw = _pdfium()
    text = textpage.get_text_range()
    if layout.garbage(text):
        return None
    # Text index == character index for the whole page is what lets us measure a line.
    aligned = len(text) == textpage.count_chars()
    top = page.get_bbox()[3]
    x, y = ctypes.c_double(), ctypes.c_double()
    lines: list[Line] = []
    for start, seg in _pieces(text):
        cleaned = layout.clean_line(seg)
        if not cleaned:
            continue
        line = Line(cleaned)
        if aligned:
            first = start + len(seg) - len(seg.lstrip())
            last = start + len(seg.rstrip()) - 1
            if raw.FPDFText_GetCharOrigin(textpage, first, x, y):
                line.base = top - y.value
                line.size = raw.FPDFText_GetFontSize(textpage, first) or None
            try:
                line.x1 = textpage.get_charbox(last)[2]
            except Exception:  # PDFium has no box for a generated character
                pass
        lines.append(line)
    return lines


def _pieces(text: str):
    """(start index, text) of each visual line. PDFium joins a word hyphenated at a line end
    into one run, marking the hyphen U+FFFE; the line is split again after it."""
    pos = 0
    for m in [*_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        seg_start = pos
        for part in text[pos:end].split("\ufffe"):
            seg_end = seg_start + len(part)
            hyphen = seg_end < end
            if part or hyphen:
                yield seg_start, part + ("\ufffe" if hyphen else "")
            seg_start = seg_end + 1
        pos = m.end() if m else len(text)


def _has_images(page) -> bool:
    _, raw = _pdfium()
    return any(True for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=4))


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("–")[-1] == str(n - 1):
            out[-1] = out[-1].split("–")[0] + f"–{n}"
        else:
            out.append(str(n))
    return ("page " if len(numbers) == 1 else "pages ") + ", ".join(out)


def read_pdf(path: Path, data: bytes) -> Extracted:
    """Text of a PDF: text layer per page, OCR where a page has none, running headers in `skip`."""
    pdf = open_pdf(data)
    exe = ocr.tesseract()
    pages: list[list[Line]] = []
    confidence: list[float | None] = []
    how: list[str] = []
    try:
        title = meaningful_title(pdf.get_metadata_value("Title"), path)
        for i in range(len(pdf)):
            try:
                page = pdf[i]
            except Exception:  # PDFium could not parse this page's objects
                lines, conf, status = [], None, "damaged"
            else:
                try:
                    lines, conf, status = _read_page(page, exe)
                finally:
                    page.close()
            pages.append(lines)
            confidence.append(conf)
            how.append(status)
        outline = _outline(pdf)
    finally:
        pdf.close()
    if not any(pages):
        if "no-ocr" in how:
            raise Unreadable(f"no text layer (a scanned PDF?) and OCR is not available; to read it, {ocr.HINT}")
        failed = [s.removeprefix("failed:") for s in how if s.startswith("failed:")]
        if "ocr" in how or failed:
            raise Unreadable("no text found, not even by OCR" + (f" ({failed[0]})" if failed else ""))
        raise Unreadable("no text (the pages are empty, damaged or hold only drawings)")
    return _assemble(pages, confidence, outline, title, _notes(how, confidence))


def _read_page(page, exe: str | None) -> tuple[list[Line], float | None, str]:
    """Lines, OCR confidence, and how the page was read: "text", "ocr", "blank", "no-ocr" or "failed:why"."""
    textpage = page.get_textpage()
    try:
        lines = text_lines(page, textpage)
    finally:
        textpage.close()
    if lines is not None:
        return lines, None, "text"
    if not _has_images(page):
        return [], None, "blank"  # an empty page, or drawings only: nothing to read
    if exe is None:
        return [], None, "no-ocr"
    try:
        lines, conf = ocr.read_page(page, exe)
    except ocr.OcrError as exc:
        return [], None, f"failed:{exc}"
    return lines, conf, "ocr"


def _notes(how: list[str], confidence: list[float | None]) -> tuple[str, ...]:
    notes = []
    by_ocr = [n for n, s in enumerate(how, 1) if s == "ocr"]
    if by_ocr:
        known = [c for c in confidence if c is not None]
        mean = f" (mean confidence {sum(known) / len(known):.0f}%)" if known else ""
        notes.append(f"{_ranges(by_ocr)} read by OCR{mean}")
    missed = [n for n, s in enumerate(how, 1) if s == "no-ocr"]
    if missed:
        verb = "has no usable text layer and was" if len(missed) == 1 else "have no usable text layer and were"
        notes.append(f"{_ranges(missed)} {verb} skipped; to read scanned pages, {ocr.HINT}")
    notes += [f"OCR failed on page {n}: {s.removeprefix('failed:')}" for n, s in enumerate(how, 1) if s.startswith("failed:")]
    damaged = [n for n, s in enumerate(how, 1) if s == "damaged"]
    if damaged:
        notes.append(f"{_ranges(damaged)} could not be read (damaged)")
    return tuple(notes)


def _outline(pdf) -> list[tuple[int, int, str, float | None]]:
    """(level, page index, title, destination y from the page top) of each bookmark."""
    out = []
    try:
        for n, mark in enumerate(pdf.get_toc(max_depth=8)):
            if n >= MAX_BOOKMARKS:
                break
            dest = mark.get_dest()
            index = dest.get_index() if dest is not None else None
            if index is None or not 0 <= index < len(pdf):
                continue
            mode, view = dest.get_view()
            y = None
            if mode == 1 and len(view) >= 2 and view[1]:  # XYZ: left, top, zoom in page space
                y = pdf.get_page_size(index)[1] - view[1]
            out.append((mark.level, index, " ".join(mark.get_title().split()), y))
    except Exception:  # a broken outline only costs the section names
        return out
    return out


def _assemble(pages, confidence, outline, title, notes) -> Extracted:
    marks = layout.running(pages)
    out: list[str] = []
    skipped: set[int] = set()
    starts: list[int] = []
    paragraphs: list[int] = []  # indices in `out` of lines that start a paragraph
    where: list[list[int]] = []  # per page, per line: index in `out`
    last: tuple[int, int] | None = None  # (page, line) of the last kept line so far
    for p, lines in enumerate(pages):
        kept = [j for j in range(len(lines)) if j not in marks[p] and not layout.is_leader(lines[j].text)]
        if kept and last is not None and layout.page_break(pages[last[0]], last[1], lines, kept[0]):
            paragraphs.append(len(out) + kept[0])
        starts.append(len(out))
        inside = layout.breaks(lines, kept)
        rows = []
        for j, line in enumerate(lines):
            if j in inside:
                paragraphs.append(len(out))
            rows.append(len(out))
            if j not in kept:
                skipped.add(len(out))
            out.append(line.text)
        where.append(rows)
        if kept:
            last = (p, kept[-1])
    offsets, pos = [], 0
    for line in out:
        offsets.append(pos)
        pos += len(line) + 1
    text = "\n".join(out)
    page_offsets = tuple(offsets[s] if s < len(out) else len(text) for s in starts)
    skip = tuple((offsets[k], offsets[k] + len(out[k])) for k in sorted(skipped))
    return Extracted(
        text=text,
        encoding="pdf",
        title=title,
        pages=page_offsets,
        sections=_sections(outline, pages, where, offsets, page_offsets, skipped),
        ocr=tuple(confidence),
        notes=notes,
        skip=skip,
        breaks=tuple(offsets[k] for k in paragraphs),
    )


def _sections(outline, pages, where, offsets, page_offsets, skipped) -> tuple[tuple[int, str], ...]:
    """Bookmarks placed at the first body line at or below their destination."""
    found: list[tuple[int, int, str]] = []
    path: list[tuple[int, str]] = []
    for n, (level, index, name, y) in enumerate(outline):
        path = [(lv, t) for lv, t in path if lv < level] + [(level, name)]
        offset = page_offsets[index]
        for j, line in enumerate(pages[index]):
            if where[index][j] in skipped:
                continue
            if y is None or line.base is None or line.base >= y - 1:
                offset = offsets[where[index][j]]
                break
        found.append((offset, n, " › ".join(t for _, t in path)))
    return tuple((o, s) for o, _, s in sorted(found))
