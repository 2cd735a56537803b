"""PDF: PDFium's text layer page by page, OCR for scanned pages, page images for the web page.

Each visual line becomes one line of `Extracted.text`, in PDFium's order. A
blank line is added only where the page shows a paragraph gap (or a heading
starts), never at a page break by itself, so a sentence running over a page
break stays one sentence. Running headers and footers, bare page numbers and
table-of-contents leader lines stay in the text (line numbers keep matching
the page) but are listed in `skip`. Pages are opened, read and closed one at
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
    by_ocr, no_ocr, failed, damaged = [], [], [], []
    try:
        title = meaningful_title(pdf.get_metadata_value("Title"), path)
        for i in range(len(pdf)):
            lines: list[Line] | None = []
            conf = None
            try:
                page = pdf[i]
            except Exception:
                damaged.append(i + 1)
                pages.append([])
                confidence.append(None)
                continue
            try:
                textpage = page.get_textpage()
                try:
                    lines = text_lines(page, textpage)
                finally:
                    textpage.close()
                if lines is None:
                    lines = []
                    if not _has_images(page):
                        pass  # a blank page (or drawings only): nothing to read
                    elif exe is None:
                        no_ocr.append(i + 1)
                    else:
                        try:
                            lines, conf = ocr.read_page(page, exe)
                            by_ocr.append(i + 1)
                        except ocr.OcrError as exc:
                            failed.append(f"page {i + 1}: {exc}")
            finally:
                page.close()
            pages.append(lines)
            confidence.append(conf)
        outline = _outline(pdf)
    finally:
        pdf.close()
    notes = []
    if by_ocr:
        known = [c for c in confidence if c is not None]
        mean = f" (mean confidence {sum(known) / len(known):.0f}%)" if known else ""
        notes.append(f"{_ranges(by_ocr)} read by OCR{mean}")
    if no_ocr:
        verb = "has" if len(no_ocr) == 1 else "have"
        notes.append(f"{_ranges(no_ocr)} {verb} no usable text layer and {'was' if len(no_ocr) == 1 else 'were'} skipped; "
                     f"to read scanned pages, {ocr.HINT}")
    notes += [f"OCR failed on {f}" for f in failed]
    if damaged:
        notes.append(f"{_ranges(damaged)} could not be read (damaged)")
    if not any(pages):
        if no_ocr:
            raise Unreadable(f"no text layer (a scanned PDF?) and OCR is not available; to read it, {ocr.HINT}")
        if by_ocr or failed:
            raise Unreadable("no text found, not even by OCR" + (f" ({failed[0]})" if failed else ""))
        raise Unreadable("no text (the pages are empty or hold only drawings)")
    return _assemble(pages, confidence, outline, title, tuple(notes))


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
    where: list[list[int]] = []  # per page, per line: index in `out`
    last: tuple[int, int] | None = None  # (page, line) of the last kept line so far
    for p, lines in enumerate(pages):
        kept = [j for j in range(len(lines)) if j not in marks[p] and not layout.is_leader(lines[j].text)]
        if kept and last is not None and layout.page_break(pages[last[0]], last[1], lines, kept[0]):
            out.append("")  # the paragraph gap belongs to the end of the previous page
        starts.append(len(out))
        inside = layout.breaks(lines, kept)
        rows = []
        for j, line in enumerate(lines):
            if j in inside:
                out.append("")
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


def render_page(path: Path, page_number: int, scale: float = 1.5) -> bytes:
    """Page `page_number` (1-based) as PNG bytes, for showing a cited page."""
    pdf = open_pdf(Path(path).read_bytes())
    try:
        if not 1 <= page_number <= len(pdf):
            raise ValueError(f"page {page_number} out of range 1..{len(pdf)}")
        page = pdf[page_number - 1]
        try:
            return ocr.render_png(page, scale, grayscale=False)
        finally:
            page.close()
    finally:
        pdf.close()


def span_boxes(path: Path, page_number: int, needle: str, scale: float = 1.5) -> list[tuple[float, float, float, float]]:
    """Character boxes (left, top, right, bottom in pixels of `render_page` at `scale`) of the
    first occurrence of `needle` on the page, matching with whitespace collapsed and words
    hyphenated at a line end joined; [] when it is not there."""
    _, raw = _pdfium()
    pdf = open_pdf(Path(path).read_bytes())
    try:
        if not 1 <= page_number <= len(pdf):
            return []
        page = pdf[page_number - 1]
        textpage = page.get_textpage()
        try:
            return _find_boxes(page, textpage, needle, scale, raw)
        finally:
            textpage.close()
            page.close()
    finally:
        pdf.close()


def _find_boxes(page, textpage, needle, scale, raw):
    text = textpage.get_text_range()
    if len(text) != textpage.count_chars():
        return []
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in "\ufffe\x02\xad":
            continue  # a hyphen at a line end: the cited text has the word joined
        piece = layout.clean_line("x" + ch + "x")[1:-1] or " "
        for c in piece:
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
            index.append(i)
    want = " ".join(layout.clean_line(needle).split())
    at, end = _locate(chars, want)
    if at < 0:
        return []
    width, height = page.get_size()
    size_x, size_y = int(-(-width * scale // 1)), int(-(-height * scale // 1))
    boxes = []
    dx, dy = ctypes.c_int(), ctypes.c_int()
    for i in sorted(set(index[at:end])):
        if text[i].isspace():
            continue
        try:
            left, bottom, right, top = textpage.get_charbox(i)
        except Exception:
            continue
        corners = []
        for px, py in ((left, top), (right, bottom)):
            raw.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, px, py, dx, dy)
            corners.append((dx.value, dy.value))
        (x0, y0), (x1, y1) = corners
        boxes.append((float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1))))
    return boxes


def _locate(chars: list[str], want: str) -> tuple[int, int]:
    """[start, end) of `want` in `chars`; failing an exact match, ignoring spaces and hyphens
    (the cleaner may have kept or dropped a line-end hyphen, or joined lines differently)."""
    if not want:
        return -1, -1
    at = "".join(chars).find(want)
    if at >= 0:
        return at, at + len(want)
    keep = [k for k, c in enumerate(chars) if c not in " -"]
    squeezed = "".join(chars[k] for k in keep)
    target = "".join(c for c in want if c not in " -")
    at = squeezed.find(target) if target else -1
    if at < 0:
        return -1, -1
    return keep[at], keep[at + len(target) - 1] + 1
