"""What `ask` returns, and choosing the sentence that answers inside each passage."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .chunking import Passage

# Weight of exact-term overlap against meaning when picking the answer sentence.
LEXICAL_WEIGHT = 0.35
# Sentences embedded per question to pick answer sentences; bounds latency.
MAX_SENTENCES = 48
ANSWER_SHAPE_BONUS = 0.1

_STOPWORDS = frozenset(
    """a an and are as at be been being by can could did do does doing for from had has have how i if in
    into is it its me my of on or our so than that the their them then there these they this those to
    was we were what when where which while who whom whose why will with would you your about after
    against all also any before between both during each few more most no nor not only other over
    same should some such through under until up very""".split()
)
_TERM = re.compile(r"\w+")
# What kind of answer a question wants, and what such an answer looks like.
# A small bonus for the right shape separates "On 6th of May 2004 ..." from a
# sentence that merely repeats the question's words.
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b\d{1,2}(st|nd|rd|th)? (of )?(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
)
_NAME = re.compile(r"\b(Mr|Mrs|Ms|Dr|Prof)\.? [A-Z]|(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+ [A-Z][a-z]+\b")
_NUMBER = re.compile(r"\d")
_EXPECTS = (
    (re.compile(r"^\s*(when|what year|which year|what date|since when|in what year|on what date)\b", re.I), _DATE),
    (re.compile(r"^\s*(who|whom|whose)\b|\bwhom\b", re.I), _NAME),
    (re.compile(r"^\s*(how many|how much|how long|how old|what percentage)\b", re.I), _NUMBER),
)


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
        if self.page_start is not None:
            pages = f"p. {self.page_start}" if self.page_start == self.page_end else f"pp. {self.page_start}–{self.page_end}"
            a, b = self.page_line_start, self.page_line_end
            where = f"{pages}, " + (f"line {a}" if a == b and self.page_start == self.page_end else f"lines {a}–{b}")
        else:
            a, b = self.line_start, self.line_end
            where = f"line {a}" if a == b else f"lines {a}-{b}"
        ocr = f" (OCR, {self.ocr_confidence:.0f}% confidence)" if self.ocr_confidence is not None else ""
        return f"{self.document}, {where}{ocr}"

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
    page: dict = {}
    if pages:
        first, last = bisect_right(pages, line_start), bisect_right(pages, line_end)
        page = dict(page_start=first, page_end=last, page_line_start=line_start - pages[first - 1] + 1,
                    page_line_end=line_end - pages[last - 1] + 1)
        read = [c for c in ocr[first - 1 : last] if c is not None]
        if read:
            page["ocr_confidence"] = round(min(read), 1)
    return Citation(p.document, p.title, line_start, line_end, p.char_start, p.char_end, p.section, **page)


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


@dataclass(frozen=True)
class Answer:
    """Everything `ask` returns. `answer` is None when the documents do not seem to answer."""

    question: str
    answer: AnswerSentence | None
    passages: tuple[Hit, ...]
    notices: tuple[str, ...] = field(default=())

    @property
    def answered(self) -> bool:
        return self.answer is not None

    def to_dict(self) -> dict:
        """The JSON shape of `qa ask --json` and the web API."""
        best = None
        if self.answer is not None:
            best = {"sentence": self.answer.sentence, **self.answer.citation.to_dict(), "score": round(self.answer.score, 4)}
        return {
            "question": self.question,
            "answer": best,
            "passages": [h.to_dict() for h in self.passages],
            "notices": list(self.notices),
        }


def _terms(text: str) -> set[str]:
    # A five-letter prefix is a cheap stemmer: "chairs"/"chairman", "adopted"/"adoption".
    return {t[:5] for t in _TERM.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1}


def answer_sentences(encode, question: str, q: np.ndarray, passages: list[Passage]) -> list[tuple[int, int, float]]:
    """Per passage: (start, end, score) of the sentence that best answers.

    Meaning (cosine of the sentence's vector to the question's) plus term
    overlap, plus a small bonus when the sentence has the shape the question
    asks for (a date for "when", a name for "who", a number for "how many").
    """
    q_terms = _terms(question)
    shape = next((pattern for wants, pattern in _EXPECTS if wants.search(question)), None)
    spans = [(i, a, b) for i, p in enumerate(passages) for a, b, _, _ in p.sentences]
    texts = [passages[i].text[a:b] for i, a, b in spans]
    dense = np.zeros(len(texts), dtype=np.float32)
    limit = min(len(texts), MAX_SENTENCES)
    if limit:
        dense[:limit] = encode(texts[:limit]) @ q
    best: list[tuple[int, int, float]] = [(0, len(p.text), -1.0) for p in passages]
    for (i, a, b), text, d in zip(spans, texts, dense):
        lexical = len(q_terms & _terms(text)) / len(q_terms) if q_terms else 0.0
        score = float(d) + LEXICAL_WEIGHT * lexical
        if shape is not None and shape.search(text):
            score += ANSWER_SHAPE_BONUS
        if score > best[i][2]:
            best[i] = (a, b, score)
    return best


def sentence_lines(p: Passage, start: int) -> tuple[int, int]:
    """The lines of the sentence of `p` that starts at `start` (the passage's lines if none does)."""
    for a, _, ls, le in p.sentences:
        if a == start:
            return ls, le
    return p.line_start, p.line_end
