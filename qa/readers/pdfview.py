"""What the web page needs to show a cited PDF page: the page as an image, and boxes around the cited words."""

from __future__ import annotations

import ctypes
from pathlib import Path

from . import layout, ocr


def _pdf():
    from . import pdf

    return pdf


def render_page(path: Path, page_number: int, scale: float = 1.5) -> bytes:
    """Page `page_number` (1-based) as PNG bytes, for showing a cited page."""
    pdf = _pdf().open_pdf(Path(path).read_bytes())
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
    _, raw = _pdf()._pdfium()
    pdf = _pdf().open_pdf(Path(path).read_bytes())
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
