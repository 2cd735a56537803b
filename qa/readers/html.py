"""HTML: readable blocks on the source lines they come from, headings as sections, boilerplate dropped.

Citations count lines of the source file, so `text` has exactly as many lines
as the source and every block (paragraph, list item, heading, table row) is
written as one line on a line of its own source range, leaving a blank line
before it wherever the source has room (a blank line ends a paragraph for the
cleaner). Where two blocks sit on adjacent source lines with no room between
them, they stay adjacent and the cleaner reads them as one paragraph; where
they share a line, they share it. `<pre>` keeps its lines. The stdlib parser
is used because it reports source line numbers; it never executes anything,
entities are decoded to inert text, and a deadline bounds the rare inputs on
which it is slow.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from .base import Extracted, Unreadable
from .text import decode

from .htmlparse import META_CHARSET, Block, blocks_of  # noqa: F401 - the EPUB reader uses blocks_of

def _lf(text: str) -> str:
    """Line ends as the text reader makes them, so line numbers agree with it: CR LF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_html(data: bytes) -> tuple[str, str]:
    """(text, encoding): a byte-order mark, else a <meta> charset, else the text reader's detection."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return _lf(data.decode(codec, errors="replace")), codec
    m = META_CHARSET.search(data[:4096])
    if m and b"\x00" not in data[:4096]:
        name = m.group(1).decode("ascii").lower()
        # As browsers do: Latin-1 labels mean windows-1252, and a UTF-16 label in ASCII bytes is a lie.
        name = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                "ascii": "cp1252"}.get(name, name)
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            codec = ""
        if codec and not codec.startswith("utf-16") and not codec.startswith("utf-32"):
            return _lf(data.decode(codec, errors="replace")), codec
    return decode(data)


def place(blocks: list[Block], n_lines: int) -> tuple[list[str], list[tuple[int, int, Block]]]:
    """Lines of output (as many as the source) and (line index, column, block) of each placed block."""
    out = [""] * n_lines
    placed = []
    prev = -1  # 0-based line of the last placed block
    for b in blocks:
        first, last = min(b.first, n_lines) - 1, min(b.last, n_lines) - 1
        if b.pre:
            at = first if first > prev else prev
        elif max(first, prev + 2) <= last:
            at = max(first, prev + 2)  # room for a blank line: a paragraph of its own
        elif max(first, prev + 1) <= last:
            at = max(first, prev + 1)
        else:
            at = max(prev, 0)
        column = len(out[at]) + 1 if out[at] else 0
        out[at] = f"{out[at]} {b.text}" if out[at] else b.text
        placed.append((at, column, b))
        prev = max(prev, at)
    return out, placed


def compact(blocks: list[Block]) -> tuple[list[str], list[tuple[int, int, Block]]]:
    """Blocks one after another, a blank line between (preformatted lines stay together)."""
    out: list[str] = []
    placed = []
    for b in blocks:
        if out and not (b.pre and placed and placed[-1][2].pre):
            out.append("")
        placed.append((len(out), 0, b))
        out.append(b.text)
    return out, placed


def sections(lines: list[str], placed: list[tuple[int, int, Block]], prefix: str = "") -> list[tuple[int, str]]:
    """(offset, heading path) for each heading, the path under `prefix` when given."""
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    path: list[tuple[int, str]] = []
    out = []
    for at, column, b in placed:
        if b.level:
            path = [(lv, t) for lv, t in path if lv < b.level] + [(b.level, b.text)]
            names = [t for _, t in path]
            # The chapter's title prefixes its headings, unless its top heading already says it
            # ("Chapter 1. Overview" under the table of contents' "1. Overview").
            if prefix and not (names[0].endswith(prefix) or prefix.endswith(names[0])):
                names.insert(0, prefix)
            out.append((starts[at] + column, " › ".join(names)))
    return out


def clean_title(title: str | None, blocks: list[Block], site: str) -> str | None:
    """The <title>, less an obvious " — Site" suffix; else the first <h1>."""
    h1 = next((b.text for b in blocks if b.level == 1), None)
    title = " ".join((title or "").split()) or None
    if title:
        for sep in (" | ", " — ", " – ", " - ", " · ", " :: "):
            head, _, tail = title.rpartition(sep)
            if head and (site and tail == site or head == h1):
                return head
        return title
    return h1


def read_html(path: Path, data: bytes) -> Extracted:
    """Text of an HTML page with one line per source line (see the module docstring)."""
    text, encoding = decode_html(data)
    blocks, title, site = blocks_of(text)
    if not blocks:
        raise Unreadable("no readable text in the page (only markup, scripts or navigation)")
    lines, placed = place(blocks, text.count("\n") + 1)
    return Extracted(
        text="\n".join(lines),
        encoding=encoding,
        title=clean_title(title, blocks, site),
        sections=tuple(sections(lines, placed)),
    )
