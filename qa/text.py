"""Repairing extracted text without losing the way back to the original file.

Real texts arrive hard-wrapped, hyphenated at line ends and with repeated
headlines. `clean` turns the raw text into paragraphs of running text and keeps
a map from every character of the cleaned text to a character of the raw text,
so a citation can always name the real lines.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

# Lines or paragraphs shorter than this may repeat legitimately ("Yes.",
# "Article 5"), so only longer ones are collapsed as duplicates.
MIN_REPEAT_CHARS = 30
# ... and only a line found this often: a running headline repeats on every
# page, while a manual repeats a sentence's line or two where it quotes itself
# (Debian Policy's abstract opens section 1.1; dropped, the section began
# "in the distribution.").
MIN_REPEATS = 3
# Bumped when the same file would give other passages, so `qa index` cuts every file again:
# 2 = a plain-text manual's table of contents and heading underlines are left out, a
#     numbered line ending in "or"/"and" is no heading (qa/readers/headings.py), and a
#     line is dropped as a repeat only when it occurs MIN_REPEATS times.
CLEANER_VERSION = 3

_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


class CleanText:
    """Cleaned text plus the map back to the raw text it came from.

    `segments` is a sorted list of (clean_start, raw_start, length): each run of
    cleaned characters copies a run of raw characters, except single inserted
    joints (a space for a line break), which map onto the raw character they
    replace.
    """

    def __init__(self, raw: str, text: str, segments: list[tuple[int, int, int]], paragraphs: list[Span]):
        self.raw = raw
        self.text = text
        self._clean_starts = [s[0] for s in segments]
        self._segments = segments
        self.paragraphs = paragraphs
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", raw)]

    def raw_offset(self, i: int) -> int:
        """Raw offset of cleaned character `i`."""
        j = bisect_right(self._clean_starts, i) - 1
        clean_start, raw_start, length = self._segments[j]
        return raw_start + min(i - clean_start, length - 1)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) covering cleaned [start, end)."""
        return self.raw_offset(start), self.raw_offset(end - 1) + 1

    def line_of(self, raw_offset: int) -> int:
        """1-based line number of a raw offset."""
        return bisect_right(self._line_starts, raw_offset)

    def lines(self, start: int, end: int) -> tuple[int, int]:
        """1-based first and last raw line of cleaned [start, end)."""
        raw_start, raw_end = self.raw_span(start, end)
        return self.line_of(raw_start), self.line_of(raw_end - 1)


def words(text: str) -> Iterable[str]:
    """Lower-cased alphabetic words, as used for hyphen repair."""
    return (w.lower() for w in _WORD.findall(text))


def clean(
    raw: str, known_word: Callable[[str], bool] = lambda w: False, skip: Sequence[tuple[int, int]] = (),
    breaks: Sequence[int] = (),
) -> CleanText:
    """Join wrapped lines, repair line-end hyphenation, drop repeated lines.

    `known_word(w)` says whether a lower-case word is attested (elsewhere in the
    corpus or in the model vocabulary); only then is "organ-/isation" joined to
    "organisation". Otherwise the hyphen stays ("law-/enforcement").
    Lines inside a `skip` span (a PDF's running header, a page number) are left
    out without breaking the paragraph around them. Where a reader gives
    `breaks` (the line starts where its paragraphs begin: PDF, Word, HTML),
    they alone start paragraphs: a blank line does not end one (an HTML
    paragraph whose middle source line holds only a tag stays one paragraph).
    """
    pieces: list[str] = []
    segments: list[tuple[int, int, int]] = []
    paragraphs: list[Span] = []
    size = 0

    def emit(text: str, raw_start: int) -> None:
        nonlocal size
        if not text:
            return
        pieces.append(text)
        segments.append((size, raw_start, len(text)))
        size += len(text)

    # Each line with its whitespace-collapsed text, counted over the document first.
    blocks = [[(a, b, " ".join(raw[a:b].split())) for a, b in block] for block in _paragraph_lines(raw, skip, breaks)]
    counts = Counter(key for block in blocks for _, _, key in block if len(key) >= MIN_REPEAT_CHARS)
    seen_lines: set[str] = set()
    seen_paragraphs: set[str] = set()
    for block in blocks:
        kept = []
        # A line left out as a repeat ends any hyphen split before it: the
        # next kept line is not the continuation of that word.
        after_gap: list[bool] = []
        dropped = False
        for start, end, key in block:
            if counts[key] >= MIN_REPEATS:
                if key in seen_lines:
                    dropped = True
                    continue
                seen_lines.add(key)
            kept.append((start, end))
            after_gap.append(dropped)
            dropped = False
        tokens = [(m.start(), m.end(), li) for li, (s, e) in enumerate(kept) for m in _TOKEN.finditer(raw, s, e)]
        if not tokens:
            continue
        key = " ".join(raw[a:b] for a, b, _ in tokens)
        if len(key) >= MIN_REPEAT_CHARS:
            if key in seen_paragraphs:
                continue
            seen_paragraphs.add(key)
        if paragraphs:
            # Paragraph break: map it onto the raw gap between the paragraphs.
            gap = tokens[0][0] - 1
            emit("\n", gap)
            emit("\n", gap)
        para_start = size
        skip_join = False
        for n, (a, b, line) in enumerate(tokens):
            if n:
                prev_a, prev_b, prev_line = tokens[n - 1]
                if prev_line != line and not after_gap[line] and _hyphen_split(raw, prev_a, prev_b, a, b):
                    left = _trailing_letters(raw[prev_a : prev_b - 1])
                    right = _leading_letters(raw[a:b])
                    if known_word((left + right).lower()):
                        # Drop the hyphen emitted with the previous token.
                        pieces[-1] = pieces[-1][:-1]
                        cs, rs, ln = segments[-1]
                        segments[-1] = (cs, rs, ln - 1)
                        size -= 1
                    skip_join = True
                if not skip_join:
                    emit(" ", prev_b)
                skip_join = False
            emit(raw[a:b], a)
        paragraphs.append(Span(para_start, size))
    segments = [s for s in segments if s[2] > 0]
    if not segments:
        segments = [(0, 0, 1)]
    return CleanText(raw, "".join(pieces), segments, paragraphs)


def _paragraph_lines(raw: str, skip: Sequence[tuple[int, int]] = (),
                     breaks: Sequence[int] = ()) -> Iterable[list[tuple[int, int]]]:
    """Groups of (start, end) raw line spans, one group per paragraph."""
    block: list[tuple[int, int]] = []
    pos = 0
    spans = sorted(skip)
    starts = [a for a, _ in spans]
    new = set(breaks)
    for line in raw.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if spans and line.strip():
            j = bisect_right(starts, start) - 1
            if j >= 0 and spans[j][1] >= end:
                continue  # left out, and the paragraph goes on
        if block and start in new:
            yield block
            block = []
        if line.strip():
            block.append((start, end))
        elif block and not new:
            yield block
            block = []
    if block:
        yield block


def _hyphen_split(raw: str, prev_a: int, prev_b: int, a: int, b: int) -> bool:
    """Previous line ends "word-" and this one starts with a lower-case letter."""
    prev = raw[prev_a:prev_b]
    return (
        len(prev) >= 2
        and prev.endswith("-")
        and prev[-2].isalpha()
        and not prev.endswith("--")
        and raw[a].isalpha()
        and raw[a].islower()
    )


def _trailing_letters(s: str) -> str:
    m = re.search(r"[^\W\d_]+$", s)
    return m.group(0) if m else ""


def _leading_letters(s: str) -> str:
    m = re.match(r"[^\W\d_]+", s)
    return m.group(0) if m else ""


# Sentence splitting --------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt no nos vs etc e.g i.e cf al fig figs art arts sec
    secs para paras vol vols pp p ch inc ltd co corp dept gov govt gen col lt sgt capt
    jan feb mar apr jun jul aug sep sept oct nov dec approx est u.s u.k u.n op ed eds rev""".split()
)
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+)")


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cut = start
    for m in _END.finditer(text, start, end):
        stop = m.end()
        nxt = _next_nonspace(text, stop, end)
        if nxt is None:
            break
        if not (text[nxt].isupper() or text[nxt].isdigit() or text[nxt] in "\"'“‘(["):
            continue
        before = text[cut : m.start()]
        word = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
        word = word.lstrip("(\"'“‘[")
        if m.group(0).startswith(".") and (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue
        spans.append(_trim(text, cut, stop))
        cut = nxt
    if cut < end and text[cut:end].strip():
        spans.append(_trim(text, cut, end))
    return [s for s in spans if s.end > s.start]


def _next_nonspace(text: str, i: int, end: int) -> int | None:
    while i < end and text[i].isspace():
        i += 1
    return i if i < end else None


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)


def counted(n: int, word: str) -> str:
    """"1 passage", "2,304 passages": a count in words (an English plural in -s)."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def printable(text: str) -> str:
    """Text that can be sent as JSON: a lone surrogate becomes U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


# Longer questions are cut: no real question is this long, and tokenising a
# megabyte of text per request would let one client stall the server.
MAX_QUESTION_CHARS = 4000


def normalise_question(question: object, limit: int | None = MAX_QUESTION_CHARS) -> str:
    """Text a tokenizer can take: invalid surrogates replaced, NULs and controls dropped, NFC, one line,
    at most `limit` characters (`Searcher.ask` cuts it itself, with a notice)."""
    from .errors import EmptyQuestion, InvalidArgument

    if not isinstance(question, str):
        raise InvalidArgument(f"The question must be text, not {type(question).__name__}.")
    text = question.encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in text)
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text:
        raise EmptyQuestion("The question is empty: type a question about the documents.")
    return text[:limit]
