"""HTML parsing: blocks of readable text with the source lines they come from (the stdlib parser reports them).

Nothing is executed: scripts, styles and boilerplate are dropped, entities
are decoded to inert text, and a deadline bounds the rare inputs on which the
parser is slow.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser

from .base import Unreadable
from .layout import clean_line

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
META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


@dataclass
class Block:
    first: int  # 1-based source lines spanned by the block's text
    last: int
    text: str
    level: int = 0  # heading level, 0 for other blocks
    pre: bool = False  # one line of preformatted text
    # (source line, its text) for each source line the text is on; a table row is one part
    parts: tuple[tuple[int, str], ...] = ()


class _Parser(HTMLParser):
    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.blocks: list[Block] = []
        self.buf: list[tuple[int, str]] = []  # (source line, text) pieces of the block being read
        self.span: list[int] = []  # first and last line of the buffered text
        self.prebuf: list[str] = []  # the preformatted line being read, and its line
        self.preline = 0
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
        if not self.span:
            self.buf = []
            return
        # Pieces join as written ("spring</a>, weather" is "spring, weather"); each source line keeps its own text.
        per: dict[int, list[str]] = {}
        for line, data in self.buf:
            for n, chunk in enumerate(data.split("\n")):
                per.setdefault(line + n, []).append(chunk)
        parts = [(n, t) for n in sorted(per) if (t := clean_line(" ".join("".join(per[n]).split())))]
        if self.row and parts:  # a table row stays one line, on its first
            parts = [(parts[0][0], " ".join(t for _, t in parts))]
        text = " ".join(t for _, t in parts)
        if text:
            self.blocks.append(Block(self.span[0], self.span[1], text, self.level, parts=tuple(parts)))
        self.buf, self.span = [], []

    def text(self, data: str, line: int) -> None:
        stripped = data.strip()
        if stripped:
            first = line + data[: data.index(stripped[0])].count("\n")
            self.span = [self.span[0] if self.span else first, first + stripped.count("\n")]
        elif not self.buf:
            return
        self.buf.append((line, data))

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
                self.buf.append((self.getpos()[0], " | "))
        elif tag == "pre":
            self.flush()
            self.pre += 1
        elif tag in _HEADINGS and not self.row:
            self.flush()
            self.level = _HEADINGS[tag]
        elif tag in _BLOCK or tag == "br":
            if self.pre and tag == "br":
                self.prebuf.append(" ")
            elif self.row or tag == "br":
                self.buf.append((self.getpos()[0], " "))  # inside a table row, the row stays one line
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
                self.prebuf.append(piece)
                self.preline = line + n

    def flush_pre(self) -> None:
        raw = "".join(self.prebuf).expandtabs(4)
        text = clean_line(raw, collapse=False)
        if text:  # keep the indentation: it is part of the code
            indent = len(raw) - len(raw.lstrip(" "))
            text = " " * indent + text
            self.blocks.append(Block(self.preline, self.preline, text, pre=True, parts=((self.preline, text),)))
        self.prebuf = []


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
