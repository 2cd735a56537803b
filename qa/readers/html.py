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
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .base import Extracted, Unreadable
from .layout import clean_line
from .text import decode

# A backstop: `defuse` removes the parser's known quadratic cases, this bounds any other.
DEADLINE_S = 20.0
_SKIP = frozenset("script style noscript template nav aside form svg math iframe object select textarea button".split())
_BOILERPLATE_ROLES = frozenset("navigation banner contentinfo complementary search menu menubar toolbar".split())
# class/id tokens that name site chrome, not content ("header" alone is too often an article's own header).
_BOILERPLATE_NAMES = frozenset(
    """nav navbar navigation breadcrumb breadcrumbs sidebar site-header site-footer cookie-banner cookies
    skip-link skiplink menu toc toc-sidebar navheader navfooter""".split()  # the last two: DocBook's prev/next bars
)
_BLOCK = frozenset(
    """address article blockquote body caption dd details dialog div dl dt fieldset figcaption figure
    footer header hr html legend li main ol p section summary table tbody tfoot thead ul center""".split()
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


@dataclass
class Block:
    first: int  # 1-based source lines spanned by the block's text
    last: int
    text: str
    level: int = 0  # heading level, 0 for other blocks
    pre: bool = False  # one line of preformatted text


class _Parser(HTMLParser):
    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.blocks: list[Block] = []
        self.buf: list[str] = []
        self.span: list[int] = []  # first and last line of the buffered text
        self.level = 0
        self.skip: tuple[str, int] | None = None  # (tag, nesting depth) of a dropped element
        self.pre = 0
        self.tables = 0
        self.row = False
        self.content = 0  # inside <article> or <main>: their <header>/<footer> are content
        self.head = False
        self.title: list[str] | None = None
        self.titles: list[str] = []
        self.site = ""

    # Blocks -----------------------------------------------------------------
    def flush(self) -> None:
        if not self.buf:
            return
        text = clean_line(" ".join(" ".join(self.buf).split()))
        if text:
            self.blocks.append(Block(self.span[0], self.span[1], text, self.level))
        self.buf, self.span = [], []

    def text(self, data: str, line: int) -> None:
        stripped = data.strip()
        if not stripped:
            if self.buf:
                self.buf.append(" ")
            return
        first = line + data[: data.index(stripped[0])].count("\n")
        last = first + stripped.count("\n")
        self.span = [self.span[0] if self.span else first, last]
        self.buf.append(data)

    # Parser callbacks -------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if time.monotonic() > self.deadline:
            raise Unreadable("HTML too complex to read in reasonable time")
        if self.skip:
            if tag == self.skip[0]:
                self.skip = (tag, self.skip[1] + 1)
            return
        if tag == "title" and self.title is None:
            self.title = []
        elif tag == "head":
            self.head = True
        elif tag == "body":
            self.head = False
        if tag == "meta":
            a = dict(attrs)
            if (a.get("property") or a.get("name") or "").lower() in ("og:site_name", "application-name"):
                self.site = " ".join((a.get("content") or "").split())
            return
        if self._dropped(tag, attrs):
            self.skip = (tag, 1)
            return
        if tag in ("article", "main"):
            self.content += 1
        if tag == "table":
            self.tables += 1
        if tag == "tr" and self.tables <= 1:
            self.flush()
            self.row = True
        elif tag in ("td", "th") and self.row:
            if self.buf:
                self.buf.append(" | ")
        elif tag == "pre":
            self.flush()
            self.pre += 1
        elif tag in _HEADINGS and not self.row:
            self.flush()
            self.level = _HEADINGS[tag]
        elif tag in _BLOCK or tag == "br":
            if self.row or tag == "br":
                self.buf.append(" ")  # inside a table row, the row stays one line
            elif not self.pre:
                self.flush()

    def _dropped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIP or tag in ("header", "footer") and not self.content:
            return True
        if not attrs:
            return False
        a = dict(attrs)
        if "hidden" in a or (a.get("aria-hidden") or "").lower() == "true":
            return True
        if (a.get("role") or "").lower() in _BOILERPLATE_ROLES:
            return True
        names = f"{a.get('class') or ''} {a.get('id') or ''}".lower().split()
        if any(n in _BOILERPLATE_NAMES for n in names) or (a.get("title") or "").lower() in ("header", "footer"):
            return True  # the last: LibreOffice's HTML export wraps page headers/footers so
        return bool(re.search(r"display\s*:\s*none", a.get("style") or "", re.I))

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[0]:
                depth = self.skip[1] - 1
                self.skip = (tag, depth) if depth else None
            return
        if tag == "title" and self.title is not None and not self.titles:
            self.titles.append(" ".join("".join(self.title).split()))
        elif tag == "head":
            self.head = False
        if tag in ("article", "main"):
            self.content = max(0, self.content - 1)
        if tag == "table":
            self.tables = max(0, self.tables - 1)
            if not self.tables:
                self.flush()
                self.row = False
        elif tag == "tr" and self.tables <= 1:
            self.flush()
            self.row = False
        elif tag == "pre" and self.pre:
            self.flush_pre()
            self.pre -= 1
        elif tag in _HEADINGS and self.level:
            self.flush()
            self.level = 0
        elif tag in _BLOCK and not self.row and not self.pre:
            self.flush()

    def handle_data(self, data: str) -> None:
        if time.monotonic() > self.deadline:
            raise Unreadable("HTML too complex to read in reasonable time")
        if self.skip:
            return
        if self.title is not None and not self.titles:
            self.title.append(data)
            return
        if self.head:
            return
        line = self.getpos()[0]
        if not self.pre:
            self.text(data, line)
            return
        # Preformatted: every source line stays a line. Text before an inline tag
        # stays buffered until its line ends, so "<b>x</b> = 1" is one line.
        for n, piece in enumerate(data.split("\n")):
            if n:
                self.flush_pre()
            if clean_line(piece):
                self.buf.append(piece)
                self.span = [line + n, line + n]

    def flush_pre(self) -> None:
        raw = "".join(self.buf).expandtabs(4)
        text = clean_line(raw, collapse=False)
        if text:  # keep the indentation: it is part of the code
            indent = len(raw) - len(raw.lstrip(" "))
            self.blocks.append(Block(self.span[0], self.span[0], " " * indent + text, pre=True))
        self.buf, self.span = [], []


def defuse(text: str) -> str:
    """The text with the constructs that make Python's parser quadratic made inert, line count unchanged.

    The parser rescans to the end of the input at every "<" that no ">" follows,
    and at every "<!--" or "<![" that is never closed. Such a tail is a comment
    or stray text to a browser too; escaped, it parses in linear time.
    """
    for opener, closer in (("<", ">"), ("<!--", "-->"), ("<![", "]]>")):
        last = text.rfind(closer)
        cut = last + len(closer) if last >= 0 else 0
        if text.find(opener, cut) >= 0:
            text = text[:cut] + text[cut:].replace(opener, "&lt;" + opener[1:])
    return text


def blocks_of(text: str) -> tuple[list[Block], str | None, str]:
    """Blocks in document order, the <title> text (or None) and the declared site name."""
    parser = _Parser(time.monotonic() + DEADLINE_S)
    parser.feed(defuse(text))
    parser.close()
    if parser.pre:
        parser.flush_pre()
    parser.flush()
    return parser.blocks, (parser.titles[0] if parser.titles else None), parser.site


def _lf(text: str) -> str:
    """Line ends as the text reader makes them, so line numbers agree with it: CR LF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_html(data: bytes) -> tuple[str, str]:
    """(text, encoding): a byte-order mark, else a <meta> charset, else the text reader's detection."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return _lf(data.decode(codec, errors="replace")), codec
    m = _META_CHARSET.search(data[:4096])
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
