"""What `ask` returns, and where its pieces stand in their files (citations).

The answering sentence is chosen in qa/sentence_scorer.py; its names are
re-exported here, where `ask` and the bench have always found them.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from .chunking import Passage
from .sentence_scorer import (  # noqa: F401
    ANSWER_FROM, MAX_SENTENCES, NEVER_PENALTY, SCORED_OVER, SENTENCE_FEATURES, SENTENCE_WEIGHTS, answer_sentences,
    sentence_matrix, with_what_follows,
)
from .span import Span


@dataclass(frozen=True)
class Citation:
    """Where a piece of text stands in its file: enough to check it by hand.

    `line_start`/`line_end` count lines of the text the file's reader extracts
    (for a text file, its own lines). For paged files (PDF), `page_start` and
    `page_end` are 1-based pages as a viewer numbers them and
    `page_line_start`/`page_line_end` the lines on those pages. `section` is
    the heading path in force, "" when the format has none.
    """

    document: str
    title: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    section: str = ""
    page_start: int | None = None
    page_end: int | None = None
    page_line_start: int | None = None
    page_line_end: int | None = None
    # Set when a cited page was read by OCR: the lowest mean confidence (0..100) among them.
    ocr_confidence: float | None = None

    def __str__(self) -> str:
        return f"{self.document}, {self.place}"

    @property
    def place(self) -> str:
        """Where in the file, as the citation names it: "lines 5-7", "p. 3, lines 2–4", OCR noted."""
        if self.page_start is not None:
            a, b = self.page_line_start, self.page_line_end
            if self.page_start != self.page_end:  # "lines 26–2" would read as a range run backwards
                where = f"p. {self.page_start}, line {a} – p. {self.page_end}, line {b}"
            else:
                where = f"p. {self.page_start}, " + (f"line {a}" if a == b else f"lines {a}–{b}")
        else:
            a, b = self.line_start, self.line_end
            where = f"line {a}" if a == b else f"lines {a}-{b}"
        ocr = f" (OCR, {self.ocr_confidence:.0f}% confidence)" if self.ocr_confidence is not None else ""
        return f"{where}{ocr}"

    def to_dict(self) -> dict:
        d = {"document": self.document, "title": self.title, "section": self.section,
             "line_start": self.line_start, "line_end": self.line_end}
        if self.page_start is not None:
            d.update(page_start=self.page_start, page_end=self.page_end,
                     page_line_start=self.page_line_start, page_line_end=self.page_line_end)
        if self.ocr_confidence is not None:
            d["ocr_confidence"] = self.ocr_confidence
        return d


def cite(p: Passage, line_start: int, line_end: int, pages: Sequence[int] = (),
         ocr: Sequence[float | None] = ()) -> Citation:
    """A citation of lines of passage `p`'s document; `pages` is the document's page-start
    lines, `ocr` its per-page OCR confidence (None for a text layer)."""
    page = on_pages(line_start, line_end, pages)
    if page:
        read = [c for c in ocr[page["page_start"] - 1 : page["page_end"]] if c is not None]
        if read:
            page["ocr_confidence"] = round(min(read), 1)
    return Citation(p.document, p.title, line_start, line_end, p.char_start, p.char_end, p.section, **page)


def on_pages(line_start: int, line_end: int, pages: Sequence[int]) -> dict:
    """Citation's page fields for lines of a file whose pages start on the lines `pages` ({} if none)."""
    first, last = bisect_right(pages, line_start), bisect_right(pages, line_end)
    if not first:
        return {}
    return dict(page_start=first, page_end=last, page_line_start=line_start - pages[first - 1] + 1,
                page_line_end=line_end - pages[last - 1] + 1)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage. `answer_start`/`answer_end` locate the answering sentence in `text`."""

    rank: int
    score: float
    text: str
    citation: Citation
    answer_start: int
    answer_end: int
    also_in: tuple[Citation, ...] = ()

    @property
    def answer_sentence(self) -> str:
        return self.text[self.answer_start : self.answer_end]

    def to_dict(self) -> dict:
        c = self.citation
        return {
            "rank": self.rank, "score": round(self.score, 4), "text": self.text, **c.to_dict(),
            "char_start": c.char_start, "char_end": c.char_end,
            "answer_sentence": self.answer_sentence, "answer_start": self.answer_start, "answer_end": self.answer_end,
            "also_in": [{"document": o.document, "line_start": o.line_start, "line_end": o.line_end} for o in self.also_in],
        }


@dataclass(frozen=True)
class AnswerSentence:
    """The single sentence that best answers the question, with its own lines."""

    sentence: str
    citation: Citation
    score: float
    span: Span | None = None

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, **self.citation.to_dict(), "score": round(self.score, 4),
                "span": self.span.to_dict() if self.span is not None else None}


@dataclass(frozen=True)
class Answer:
    """Everything `ask` returns. `answer` is None when the documents do not seem to answer.

    `confidence` is the calibrated probability that the top passage answers
    the question (when the one holding the answer moved up,
    `qa.ranking.answer_leads`, that one; with k below 3 the answer's passage
    may take the last place shown without being the top one), `label` its band ("strong",
    "partial", or "weak", which is not found); `interpreted_as` is the
    question as searched when a follow-up was completed from the
    conversation, else None.
    """

    question: str
    answer: AnswerSentence | None
    passages: tuple[Hit, ...]
    notices: tuple[str, ...] = field(default=())
    confidence: float = 0.0
    label: str = "weak"
    interpreted_as: str | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None

    def to_dict(self) -> dict:
        """The JSON shape of `qa ask --json` and the web API."""
        return {
            "question": self.question,
            "answer": self.answer.to_dict() if self.answer is not None else None,
            "confidence": round(self.confidence, 4),
            "label": self.label,
            "interpreted_as": self.interpreted_as,
            "passages": [h.to_dict() for h in self.passages],
            "notices": list(self.notices),
        }


def span_lines(p: Passage, start: int, end: int) -> tuple[int, int]:
    """The lines holding `p.text[start:end]`: exact where the passage kept its line breaks,
    else the lines of the sentence(s) it lies in."""
    if p.line_breaks or p.line_start == p.line_end:
        offsets = [o for o, _ in p.line_breaks]
        at = lambda x: p.line_breaks[bisect_right(offsets, x) - 1][1] if bisect_right(offsets, x) else p.line_start  # noqa: E731
        return at(start), at(max(start, end - 1))
    inside = [(ls, le) for a, b, ls, le in p.sentences if a < end and start < b]
    return (min(x for x, _ in inside), max(y for _, y in inside)) if inside else (p.line_start, p.line_end)


def sentence_lines(p: Passage, start: int, end: int | None = None) -> tuple[int, int]:
    """The lines of the sentence of `p` that starts at `start`, through the one ending at `end`
    (a lead-in carries the next sentence); the passage's lines if no sentence starts there."""
    inside = [(ls, le) for a, b, ls, le in p.sentences if a >= start and (b <= end if end is not None else a == start)]
    return (inside[0][0], max(le for _, le in inside)) if inside else (p.line_start, p.line_end)


def cited_span(span: Span | None, p: Passage, sentence_start: int,
               citation: Callable[[Passage, tuple[int, int]], Citation]) -> Span | None:
    """`span` (offsets inside the sentence starting at `sentence_start` of `p`) with its own citation."""
    if span is None:
        return None
    a = sentence_start + span.start
    return replace(span, citation=citation(p, span_lines(p, a, a + len(span.text))))

