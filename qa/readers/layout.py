"""Page layout repairs shared by the PDF text layer and OCR: running headers, leaders, paragraph gaps.

Everything here works on plain `Line` records (text plus a little geometry in
points, measured down from the top of the page), so it is the same logic for
PDFium's text layer and for Tesseract's words, and it can be tested without a PDF.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass


@dataclass
class Line:
    """One visual line. Geometry is None where it could not be measured."""

    text: str
    base: float | None = None  # baseline, points down from the page top
    size: float | None = None  # font size (text layer) or line height (OCR)
    x1: float | None = None  # right edge of the last character
    # OCR only: the engine's own paragraph analysis says a paragraph starts here.
    para: bool | None = None


# Typographic ligatures and the marks PDFium uses for a hyphen at a line end
# (U+FFFE from the text range, U+0002 from bounded text).
_TRANSLATE = {
    0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st",
    0xFFFE: "-", 0x02: "-", 0xFFFD: None, 0xFEFF: None, 0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None,
}
for _cp in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x2028, 0x2029, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B)):
    _TRANSLATE[_cp] = " "
for _cp in (*range(0x00, 0x20), 0x7F):  # other control characters carry no text
    _TRANSLATE.setdefault(_cp, None)
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_SPACES = re.compile(" {2,}")


def clean_line(s: str, collapse: bool = True) -> str:
    """Ligatures expanded, odd spaces made plain, soft hyphens resolved, controls dropped;
    runs of spaces collapsed unless `collapse` is False (preformatted text)."""
    s = s.rstrip()
    if s.endswith("\xad"):  # a soft hyphen where the line actually broke is shown as a hyphen
        s = s[:-1] + "-"
    s = s.replace("\xad", "").translate(_TRANSLATE)
    s = _PRIVATE_USE.sub("", s)
    return _SPACES.sub(" ", s).strip() if collapse else s.strip()


def garbage(raw: str) -> bool:
    """True when a text layer is not real text: replacement or private-use glyphs, or one glyph repeated."""
    chars = [c for c in raw if not c.isspace() and c not in "\ufffe\x02"]
    if not chars:
        return True
    bad = sum(1 for c in chars if c == "\ufffd" or "\ue000" <= c <= "\uf8ff" or ord(c) < 32)
    if bad > 0.3 * len(chars):
        return True
    if len(chars) >= 50 and len(set(chars)) <= 3:
        return True
    wordish = [c for c in chars if c not in "._-·…"]  # leaders and rules are legitimately non-letters
    return len(wordish) >= 50 and sum(c.isalnum() for c in wordish) < 0.25 * len(wordish)


# A well-formed roman numeral (so "did" or "mild" is not one), as front matter is numbered.
_ROMAN = r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"^(?:page|p\.|pg\.?|seite|página|pagina)?\s*[-–—(\[]?\s*(?:\d{{1,5}}|{_ROMAN})\s*[-–—)\]]?"
    rf"(?:\s*(?:of|/|de|von|sur)\s*\d{{1,5}})?$",
    re.I,
)
_LEADER = re.compile(r"(?:(?:\. ?){4,}|(?:… ?){2,}|(?:_ ?){5,}|(?:· ?){4,})\s*(?:\d{1,5}|" + _ROMAN + r")$", re.I)
_DIGITS = re.compile(r"\d+")
_ROMAN_WORD = re.compile(rf"(?<!\w){_ROMAN}(?!\w)", re.I)  # (?!\w), not \b: the numeral may match empty

EDGE = 3  # lines at the top and at the bottom of a page that may belong to a running header or footer


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


def is_leader(text: str) -> bool:
    """A table-of-contents line: dot (or rule) leaders running to a page number."""
    return bool(_LEADER.search(text))


def _key(text: str) -> str:
    # Headers differ from page to page only in their numbers ("3.7", "Page 12", "xiv").
    return " ".join(_ROMAN_WORD.sub("#", _DIGITS.sub("#", text)).split())


def running(pages: list[list[Line]]) -> list[set[int]]:
    """Per page, the indices of lines that are running headers/footers or bare page numbers.

    Candidates are the first and last `EDGE` lines of a page, walked from the
    edge inwards; a line further in only counts if it sits closer to the
    header above it than to the body below (so the body's first line is never
    taken along). A candidate counts when it is a page number, or its
    digit-blind text recurs in the same zone of another page, or it sits in
    the position and size of confirmed headers elsewhere with the same gap to
    the body: that catches a header naming a section that lasts one page,
    such as "CHAPTER 2. PREREQUISITES 2.3. SOCIAL DYNAMICS OF DEBIAN".
    """
    zones = []  # per page: (top candidates, bottom candidates) as line indices from the edge inwards
    for lines in pages:
        n = len(lines)
        zones.append((list(range(min(EDGE, n))), list(range(n - 1, max(n - EDGE, 0) - 1, -1))))
    seen: list[Counter[str]] = [Counter(), Counter()]
    stems: list[Counter[str]] = [Counter(), Counter()]  # first words of the edge line: "CHAPTER #. PREREQUISITES"
    for lines, zone in zip(pages, zones):
        for z in (0, 1):
            for k in {_key(lines[j].text) for j in zone[z]}:
                seen[z][k] += 1
            if zone[z]:
                stems[z][_stem(lines[zone[z][0]].text)] += 1
    marks: list[set[int]] = [set() for _ in pages]
    bands: list[list[tuple[float, float, float]]] = [[], []]  # confirmed (position, size, gap to body)

    def walk(p: int, z: int, accept) -> None:
        lines = pages[p]
        for n, j in enumerate(zones[p][z]):
            if j in marks[p]:
                continue
            if not accept(lines, j) or (n and not _clings(lines, j, 1 if z == 0 else -1)):
                return
            marks[p].add(j)
            g = _geometry(lines, j, z)
            if g and not is_page_number(lines[j].text):
                bands[z].append(g)

    for p in range(len(pages)):
        for z in (0, 1):
            walk(p, z, lambda lines, j: is_page_number(lines[j].text) or seen[z][_key(lines[j].text)] >= 2
                 or j == zones[p][z][0] and _stem(lines[j].text) != "" and stems[z][_stem(lines[j].text)] >= 3
                 and _apart(lines, j, z))
    for z in (0, 1):
        if len(bands[z]) < 3:
            continue
        known = list(bands[z])
        gap = statistics.median(b[2] for b in known)

        def in_band(lines: list[Line], j: int) -> bool:
            g = _geometry(lines, j, z)
            return bool(g) and g[2] >= 0.75 * gap and any(  # type: ignore[index]
                abs(g[0] - b[0]) <= 1.5 and abs(g[1] - b[1]) <= 0.6 for b in known  # type: ignore[index]
            )

        for p in range(len(pages)):
            walk(p, z, in_band)
    return marks


def _stem(text: str) -> str:
    words = _key(text).split()
    return " ".join(words[:3]) if len(words) >= 4 else ""  # short lines have no stem to share


def _apart(lines: list[Line], j: int, zone: int) -> bool:
    """Whether an edge line stands off from the body by more than the page's usual line pitch."""
    g = _geometry(lines, j, zone)
    bases = [x.base for x in lines if x.base is not None]
    pitches = sorted(b - a for a, b in zip(bases, bases[1:]) if b > a)
    return bool(g and pitches and g[2] > 1.4 * pitches[len(pitches) // 2])


def _clings(lines: list[Line], j: int, step: int) -> bool:
    """Whether line j sits closer to its neighbour toward the page edge than to the one toward the body."""
    outer, inner = j - step, j + step
    if not 0 <= inner < len(lines):
        return True
    a, b, c = lines[outer].base, lines[j].base, lines[inner].base
    if a is None or b is None or c is None:
        return False
    return abs(b - a) < abs(c - b)


def _geometry(lines: list[Line], j: int, zone: int) -> tuple[float, float, float] | None:
    """(baseline from its edge, font size, gap to the next line inwards) of a line at a page edge."""
    line = lines[j]
    inner = j + 1 if zone == 0 else j - 1
    if line.base is None or line.size is None or not 0 <= inner < len(lines) or lines[inner].base is None:
        return None
    gap = abs(lines[inner].base - line.base)  # type: ignore[operator]
    return (line.base if zone == 0 else -line.base), line.size, gap


_BULLET = re.compile(r"^(?:[•◦▪▫●○■□‣⁃–—*-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s", re.I)
_FINAL = re.compile(r"[.!?:;\"”’)\]]$")


def breaks(lines: list[Line], kept: list[int]) -> set[int]:
    """Indices in `kept` (in order) before which a paragraph starts, judged on one page.

    A paragraph starts after vertical space of about a third of a line more
    than the page's usual line pitch, or where the font size changes (a
    heading), or after a line that stops well short of the page's right
    margin (a paragraph's last line), or short and ending where the line above
    or below it ends (table rows: "Heron Pool 0.3 2.5" is not the start of the
    sentence under the table); moving up the page (the next column) is not a
    break.
    """
    out: set[int] = set()
    margin = _margin([lines[k] for k in kept])
    pitches = [
        lines[b].base - lines[a].base  # type: ignore[operator]
        for a, b in zip(kept, kept[1:])
        if lines[a].base is not None and lines[b].base is not None and lines[b].base > lines[a].base  # type: ignore[operator]
    ]
    usual = statistics.median(pitches) if pitches else None
    for n, (a, b) in enumerate(zip(kept, kept[1:])):
        la, lb = lines[a], lines[b]
        if lb.para is not None:
            if lb.para:
                out.add(b)
            continue
        if la.text.endswith("-") and la.text[-2:-1].isalpha():
            continue  # a word hyphenated across the line break
        if la.size and lb.size and max(la.size, lb.size) > 1.2 * min(la.size, lb.size):
            out.add(b)
        elif usual and la.base is not None and lb.base is not None and lb.base - la.base > 1.3 * usual:
            out.add(b)
        elif _stops_short(la, margin) or _row(la, lb, margin) or n and _row(la, lines[kept[n - 1]], margin):
            out.add(b)
    return out


def _row(line: Line, other: Line, margin: float | None) -> bool:
    """Two lines short of the margin by three em or more that end at the same place: rows of a table."""
    if margin is None or line.x1 is None or other.x1 is None:
        return False
    return abs(line.x1 - other.x1) < 0.5 and margin - line.x1 > 3 * (line.size or 10.0)


def _margin(lines: list[Line]) -> float | None:
    """Where the page's lines end on the right (most of them), None without enough measured lines."""
    rights = sorted(x.x1 for x in lines if x.x1 is not None)
    return rights[int(len(rights) * 0.9)] if len(rights) >= 3 else None


def _stops_short(line: Line, margin: float | None) -> bool:
    """A line ending well before the right margin ends its paragraph: by twelve em, or by three after a full stop
    (a wrapped line falls short by one word at most)."""
    if margin is None or line.x1 is None:
        return False
    em = line.size or 10.0
    short = margin - line.x1
    return short > 12 * em or (short > 3 * em and bool(_FINAL.search(line.text)))


def page_break(before: list[Line], a: int, after: list[Line], b: int) -> bool:
    """Whether line `b` of the next page starts a new paragraph after line `a` of this one.

    Without geometry across pages the signals are typographic: a heading
    (larger type) or a list item starts something new; a line that stops well
    short of the page's right margin ends its paragraph. Otherwise the text
    runs on, so a sentence crossing the page break stays one sentence.
    """
    la, lb = before[a], after[b]
    if la.text.endswith("-") and la.text[-2:-1].isalpha():
        return False
    if la.size and lb.size and lb.size > 1.2 * la.size:
        return True
    if _BULLET.match(lb.text):
        return True
    margin = _margin(before)
    if la.x1 is None or margin is None:
        return bool(_FINAL.search(la.text))
    return _stops_short(la, margin)
