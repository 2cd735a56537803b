"""Plain text and Markdown: decoding bytes safely, and Markdown headings as sections."""

from __future__ import annotations

import re
from pathlib import Path

from .base import Extracted, Unreadable
from .headings import contents_lines, plain_sections, underlines


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding), or `Unreadable` when the bytes are not usable text."""
    if not data.strip():
        raise Unreadable("empty (no text)")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _normalise(data.decode(codec)), codec
            except UnicodeDecodeError:
                raise Unreadable(f"not valid {codec} despite its byte-order mark") from None
    if b"\x00" in data[:8192]:
        raise Unreadable("binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _control_ratio(text) > 0.01:
            raise Unreadable("binary file (control characters), not text")
        return _normalise(text), "utf-8"
    # Only accept a guessed encoding when the detector is confident; a wrong
    # guess would index mojibake that no question can ever match.
    from charset_normalizer import from_bytes

    found = from_bytes(data)
    best = found.best()
    if best is None or best.chaos > 0.1:
        raise Unreadable("not UTF-8, and its encoding could not be detected reliably")
    # A short text often fits several code pages equally well ("Café crème" read as cp1250 is "Café crčme"):
    # then windows-1252, the one browsers assume for Latin text, is taken.
    best = next((m for m in found if m.encoding == "cp1252" and (m.chaos, m.coherence) == (best.chaos, best.coherence)),
                best)
    text = str(best)
    if _control_ratio(text) > 0.01:
        raise Unreadable("binary file (control characters), not text")
    return _normalise(text), best.encoding


def _normalise(text: str) -> str:
    # Offsets and line numbers are counted on this string, so only changes that
    # keep line numbering intact are allowed: lone CRs become LFs (old Mac files).
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(text)


def read_text(path: Path, data: bytes) -> Extracted:
    text, encoding = decode(data)
    if not text.strip():
        raise Unreadable("empty (no text)")
    # Underlined or numbered headings of manuals exported as text: each passage keeps its section path;
    # their table of contents and underlines are left out of passages (their lines still count for citations).
    sections = plain_sections(text)
    skip = tuple(sorted(contents_lines(text, sections) + underlines(text, sections)))
    return Extracted(text=text, encoding=encoding, sections=sections, skip=skip)


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^(```|~~~)", re.M)


def markdown_sections(text: str) -> tuple[tuple[int, str], ...]:
    """(offset, "H1 › H2 › H3") at each ATX heading outside code fences."""
    fenced = []
    inside, start = False, 0
    for m in _FENCE.finditer(text):
        if inside:
            fenced.append((start, m.end()))
        else:
            start = m.start()
        inside = not inside
    if inside:
        fenced.append((start, len(text)))
    path: list[tuple[int, str]] = []
    out: list[tuple[int, str]] = []
    for m in _HEADING.finditer(text):
        if any(a <= m.start() < b for a, b in fenced):
            continue
        level, title = len(m.group(1)), " ".join(m.group(2).split())
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        out.append((m.start(), " › ".join(t for _, t in path)))
    return tuple(out)


def read_markdown(path: Path, data: bytes) -> Extracted:
    text, encoding = decode(data)
    if not text.strip():
        raise Unreadable("empty (no text)")
    sections = markdown_sections(text)
    title = sections[0][1] if sections and text[: sections[0][0]].strip() == "" else None
    return Extracted(text=text, encoding=encoding, title=title, sections=sections)
