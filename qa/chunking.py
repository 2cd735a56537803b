"""Cutting cleaned documents into sentence-aware passages that fit the model.

Passage size is counted with the embedding model's own tokenizer, so no passage
is ever truncated silently at embedding time.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from dataclasses import asdict, dataclass, fields
from typing import Callable, Sequence

from .documents import Document
from .text import CleanText, Span, sentences

_WORD_RUN = re.compile(r"\S+")
TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Passage:
    """A unit of retrieval with everything needed to cite it.

    `char_start`/`char_end` index the document's decoded text; `line_start` and
    `line_end` are 1-based lines of the extracted text (for a text file, the
    file's own lines). `sentences` holds, per sentence, (start, end) inside
    `text` and its (line_start, line_end). `section` is the heading path in
    force where the passage starts ("" when the format has none).
    `line_breaks` holds (offset in `text`, line) wherever the cited line
    changes after the first, so a piece of a sentence (the short answer) can
    cite its own line; () for a passage on one line and in indexes built
    before it was kept.
    """

    document: str
    title: str
    text: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    sentences: tuple[tuple[int, int, int, int], ...]
    tokens: int
    section: str = ""
    line_breaks: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict:
        """Plain JSON types: how every backend stores a passage."""
        row = asdict(self)
        row["sentences"] = [list(s) for s in self.sentences]
        return row

    @classmethod
    def from_dict(cls, row: dict) -> "Passage":
        # JSON turns tuples into lists: every field declared as a tuple is turned
        # back, so fields added later round-trip through every backend unchanged.
        # A question reads a few hundred passages (the fused pool): the field
        # names are looked up once, and a list of flat lists converts in one pass.
        tuples = _tuple_fields(cls)
        return cls(**{k: _tuples(v) if k in tuples else v for k, v in row.items()})


@functools.lru_cache(maxsize=None)
def _tuple_fields(cls) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if str(f.type).startswith(("tuple", "Tuple")))


def _tuples(x):
    if not isinstance(x, list):
        return x
    if x and isinstance(x[0], list) and not (x[0] and isinstance(x[0][0], list)):
        return tuple(map(tuple, x))  # sentence spans: [[start, end, line, line], ...], as written
    return tuple(_tuples(i) for i in x)


# Recorded in the manifest (Chunking.chunker_version): another version means
# every passage is cut again. 1: no lead-in rule; 2: lead-in sentences travel
# with what they introduce.
CHUNKER_VERSION = 2
# A sentence introducing what follows (a command, a list, a field): "...in ~/.devscripts:",
# "...as follows.", "...by the following."
_LEAD_IN = re.compile(r"(:|\bas follows\W?|\bthe followings?\W?)\s*$", re.I)


def chunk(
    doc: Document,
    clean: CleanText,
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int = 1,
) -> list[Passage]:
    """Pack whole sentences into passages of at most `max_tokens` tokens.

    A paragraph break ends a passage once it is half full, so passages follow
    the author's structure, and a new section always starts a new passage;
    inside a long paragraph consecutive passages share `overlap` whole
    sentences, so an answer straddling a cut is not lost. A paragraph ending
    with a lead-in sentence ("...in ~/.devscripts:") does not end a half-full
    passage; when the first sentence it introduces does not fit, the next
    passage starts with the lead-in again, so a command line or list item
    starts beside the sentence that says what it is for (a long run it
    introduces may still be cut further on, without the lead-in).
    """
    units = _units(clean, count_tokens, max_tokens)
    starts = [a for a, _ in doc.sections]
    sec = [_section_index(starts, clean, u[0]) for u in units]
    tok = [u[1] for u in units]
    groups: list[tuple[int, int]] = []  # [a, b) ranges of units
    a = used = 0
    for i, (span, n, para) in enumerate(units):
        if i > a:
            boundary = para != units[i - 1][2]
            new_section = boundary and sec[i] != sec[i - 1]
            last = units[i - 1][0]
            lead_in = boundary and not new_section and bool(_LEAD_IN.search(clean.text, last.start, last.end))
            if used + n > max_tokens or (boundary and used * 2 >= max_tokens and not lead_in) or new_section:
                groups.append((a, i))
                if boundary:
                    keep = i - 1 if lead_in and i - 1 > a else i
                else:
                    keep = max(a, i - overlap) if overlap else i
                # The overlap must leave room for the new sentence.
                while keep < i and sum(tok[keep:i]) + n > max_tokens:
                    keep += 1
                a, used = keep, sum(tok[keep:i])
        used += n
    if units:
        groups.append((a, len(units)))
    spans = [[u[0] for u in units[a:b]] for a, b in groups]
    return [_passage(doc, clean, g, n) for g, n in _fit(clean.text, spans, count_tokens, max_tokens)]


def _section_index(starts: list[int], clean: CleanText, span: Span) -> int:
    """Which section (index into the document's sections, -1 before the first) holds a cleaned span."""
    return bisect_right(starts, clean.raw_offset(span.start)) - 1 if starts else -1


def _units(clean: CleanText, count_tokens: TokenCounter, max_tokens: int) -> list[tuple[Span, int, int]]:
    """Sentences (split further where one alone exceeds the limit) with token counts."""
    spans: list[tuple[Span, int]] = []
    for p, para in enumerate(clean.paragraphs):
        for s in sentences(clean.text, para.start, para.end):
            spans.append((s, p))
    counts = count_tokens([clean.text[s.start : s.end] for s, _ in spans]) if spans else []
    units: list[tuple[Span, int, int]] = []
    for (s, p), n in zip(spans, counts):
        if n <= max_tokens:
            units.append((s, n, p))
        else:
            units.extend((piece, m, p) for piece, m in _split_long(clean.text, s, count_tokens, max_tokens))
    return units


def _split_long(text: str, span: Span, count_tokens: TokenCounter, max_tokens: int) -> list[tuple[Span, int]]:
    """Cut an over-long sentence at word boundaries into pieces that fit."""
    words = [Span(m.start(), m.end()) for m in _WORD_RUN.finditer(text, 0, span.end) if m.start() >= span.start]
    counts = count_tokens([text[w.start : w.end] for w in words])
    pieces: list[tuple[Span, int]] = []
    start = None
    used = 0
    last_end = span.start
    for w, n in zip(words, counts):
        if n > max_tokens:  # a single absurd "word" (a URL, a hash): cut by characters
            if start is not None:
                pieces.append((Span(start, last_end), used))
                start, used = None, 0
            step = max(1, len(text[w.start : w.end]) * max_tokens // (n + 1))
            for a in range(w.start, w.end, step):
                b = min(a + step, w.end)
                pieces.append((Span(a, b), count_tokens([text[a:b]])[0]))
            last_end = w.end
            continue
        if start is not None and used + n > max_tokens:
            pieces.append((Span(start, last_end), used))
            start, used = None, 0
        if start is None:
            start = w.start
        used += n
        last_end = w.end
    if start is not None:
        pieces.append((Span(start, last_end), used))
    return pieces


def _passage(doc: Document, clean: CleanText, spans: list[Span], tokens: int) -> Passage:
    start, end = spans[0].start, spans[-1].end
    raw_start, raw_end = clean.raw_span(start, end)
    sents = []
    for s in spans:
        ls, le = clean.lines(s.start, s.end)
        sents.append((s.start - start, s.end - start, ls, le))
    i = bisect_right([a for a, _ in doc.sections], raw_start) - 1
    return Passage(
        section=doc.sections[i][1] if i >= 0 else "",
        document=doc.id,
        title=doc.title,
        text=clean.text[start:end],
        char_start=raw_start,
        char_end=raw_end,
        line_start=clean.line_of(raw_start),
        line_end=clean.line_of(raw_end - 1),
        sentences=tuple(sents),
        tokens=tokens,
        line_breaks=_line_breaks(clean, start, end),
    )


def _line_breaks(clean: CleanText, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """(offset from `start`, line) where the raw line changes inside cleaned [start, end).

    Lines change at a joint (the space standing for a line break) or inside a
    word whose line-end hyphen was repaired; the latter is recorded at the
    word's last character, so a span holding the word cites both lines.
    """
    first, last = clean.lines(start, end)
    if first == last:
        return ()
    out, line = [], first
    for m in _WORD_RUN.finditer(clean.text, start, end):
        a, b = m.start(), m.end()
        la = clean.line_of(clean.raw_offset(a))
        if la != line:
            out.append((a - start, la))
            line = la
        lb = clean.line_of(clean.raw_offset(b - 1))
        if lb != line:
            out.append((b - 1 - start, lb))
            line = lb
    return tuple(out)


def _fit(
    text: str, groups: list[list[Span]], count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[list[Span], int]]:
    """Count each passage as a whole and halve any that tokenises longer.

    Sentence counts add up to the passage's count for WordPiece and most
    tokenizers, but not for every one; this check makes the limit a fact.
    """
    counts = count_tokens([text[g[0].start : g[-1].end] for g in groups]) if groups else []
    out: list[tuple[list[Span], int]] = []
    for g, n in zip(groups, counts):
        if n <= max_tokens or len(g) == 1:
            out.append((g, n))
        else:
            half = len(g) // 2
            out.extend(_fit(text, [g[:half], g[half:]], count_tokens, max_tokens))
    return out
