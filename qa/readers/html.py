"""HTML: readable blocks on the source lines they come from, headings as sections, boilerplate dropped.

Citations count lines of the source file, so `text` has exactly as many lines
as the source and the text of every block (paragraph, list item, heading) is
written on the source lines it stands on; a table row is one line, on its
first. Each block that starts a line starts a paragraph (`Extracted.breaks`:
a heading on the line above a paragraph is not read into its first sentence);
blocks that share a source line share it. `<pre>` keeps its lines. The stdlib parser
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


def place(blocks: list[Block], n_lines: int) -> tuple[list[str], list[tuple[int, int, Block]], list[int]]:
    """Lines of output (as many as the source), (line index, column, block) of each placed block, and
    the lines on which a block starts a paragraph (a run of preformatted lines is one)."""
    out = [""] * n_lines
    placed: list[tuple[int, int, Block]] = []
    starts: list[int] = []
    prev = 0  # 0-based line written last: text never goes above it, so it keeps its order
    for b in blocks:
        for k, (line, text) in enumerate(b.parts or ((b.first, b.text),)):
            at = max(min(line, n_lines) - 1, prev)
            column = len(out[at]) + 1 if out[at] else 0
            out[at] = f"{out[at]} {text}" if out[at] else text
            if not k:
                if not column and not (b.pre and placed and placed[-1][2].pre):
                    starts.append(at)
                placed.append((at, column, b))
            prev = at
    return out, placed, starts


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


def line_starts(lines: list[str]) -> list[int]:
    """The offset of each line in "\n".join(lines)."""
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return starts


def sections(lines: list[str], placed: list[tuple[int, int, Block]], prefix: str = "") -> list[tuple[int, str]]:
    """(offset, heading path) for each heading, the path under `prefix` when given."""
    starts = line_starts(lines)
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
    lines, placed, starts = place(blocks, text.count("\n") + 1)
    offsets = line_starts(lines)
    return Extracted(
        text="\n".join(lines),
        encoding=encoding,
        title=clean_title(title, blocks, site),
        sections=tuple(sections(lines, placed)),
        breaks=tuple(offsets[at] for at in starts),
    )
