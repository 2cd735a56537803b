"""What `ask` returns, and choosing the sentence that answers inside each passage."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .chunking import Passage
from .span import Span, has_kind, question_terms, span_strength, wanted

# Sentences embedded per question to pick answer sentences; bounds latency.
MAX_SENTENCES = 48

_STOPWORDS = frozenset(
    """a an and are as at be been being by can could did do does doing for from had has have how i if in
    into is it its me my of on or our so than that the their them then there these they this those to
    was we were what when where which while who whom whose why will with would you your about after
    against all also any before between both during each few more most no nor not only other over
    same should some such through under until up very""".split()
)
_TERM = re.compile(r"\w+")
_WORDS = re.compile(r"[^\W\d_][\w'’-]*|\d[\w.,/-]*")

# The sentence scorer: a linear score over these features, learned by
# bench/tune_answers.py (conditional logit: the gold-holding sentence against
# the other sentences of the top three passages, SQuAD-tune train articles,
# 3,410 questions: `python -m bench.tune_answers sentence`).
SENTENCE_FEATURES = ("cosine", "overlap", "type_match", "novelty", "first", "log_words", "heading", "restates",
                     "passage_score", "rank2", "rank3", "rare_overlap", "pair_overlap", "span_strength", "cosine_gap")
SENTENCE_WEIGHTS = np.array([
    2.034, 1.283, -0.009, -0.448, -0.387, -0.122, -0.308, -0.642, 1.710, -0.647, -1.052, 3.646, 1.711, 0.613, 2.034,
], dtype=np.float32)
# Large enough to put a heading or a restating sentence below every other one.
NEVER_PENALTY = 100.0


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
    span: Span | None = None

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, **self.citation.to_dict(), "score": round(self.score, 4),
                "span": self.span.to_dict() if self.span is not None else None}


@dataclass(frozen=True)
class Answer:
    """Everything `ask` returns. `answer` is None when the documents do not seem to answer.

    `confidence` is the calibrated probability that the top passage answers
    the question, `label` its band ("strong", "partial", or "weak", which is
    not found); `interpreted_as` is the question as searched when a follow-up
    was completed from the conversation, else None.
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


def _terms(text: str) -> set[str]:
    # A five-letter prefix is a cheap stemmer: "chairs"/"chairman", "adopted"/"adoption".
    return {t[:5] for t in _TERM.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1}


def _heading_like(text: str, p: Passage) -> bool:
    """A title or heading rather than a statement: short, no closing punctuation, or the title/section itself."""
    plain = " ".join(text.split()).strip()
    words = _WORDS.findall(plain)
    if plain.lower() in (p.title.strip().lower(), p.section.rsplit("/", 1)[-1].strip().lower()):
        return True
    if len(words) <= 12 and not plain.endswith((".", "!", "?", ":", ";", '"', "”", ")")):
        return True
    caps = sum(w[0].isupper() for w in words)
    return len(words) <= 8 and caps >= 0.7 * len(words)


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [t[:5] for t in _TERM.findall(text.lower())]
    return set(zip(words, words[1:]))


def sentence_matrix(question: str, passages: Sequence[Passage], cosines: np.ndarray,
                    scores: Sequence[float]) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """(passage index, start, end) of every sentence of `passages`, and its row of SENTENCE_FEATURES.

    `cosines` holds each sentence's cosine to the question, in the same order.
    Question words are weighted by how rare they are among these sentences.
    """
    q_terms, q_pairs, kind, q_words = _terms(question), _bigrams(question), wanted(question), question_terms(question)
    spans = [(i, j, a, b) for i, p in enumerate(passages) for j, (a, b, _, _) in enumerate(p.sentences)]
    texts = [passages[i].text[a:b] for i, _, a, b in spans]
    terms = [_terms(t) for t in texts]
    idf = {t: np.log((1 + len(texts)) / (1 + sum(t in ts for ts in terms))) + 1 for t in q_terms}
    total = sum(idf.values()) or 1.0
    top = float(np.max(cosines)) if len(cosines) else 0.0
    rows = np.zeros((len(spans), len(SENTENCE_FEATURES)), dtype=np.float32)
    for r, ((i, j, a, b), text, s_terms) in enumerate(zip(spans, texts, terms)):
        overlap = len(q_terms & s_terms) / len(q_terms) if q_terms else 0.0
        novelty = len(s_terms - q_terms) / len(s_terms) if s_terms else 0.0
        words = _WORDS.findall(text)
        rows[r] = (
            cosines[r], overlap, has_kind(kind, text, q_words), novelty, j == 0,
            np.log1p(len(words)), _heading_like(text, passages[i]), novelty < 0.25, scores[i], i == 1, i == 2,
            sum(idf[t] for t in q_terms & s_terms) / total, len(q_pairs & _bigrams(text)) / max(1, len(q_pairs)),
            span_strength(question, text, kind), cosines[r] - top,
        )
    return [(i, a, b) for i, _, a, b in spans], rows


def answer_sentences(encode, question: str, q: np.ndarray, passages: list[Passage],
                     scores: Sequence[float] | None = None, everything: bool = False) -> list[tuple[int, int, float]]:
    """Per passage: (start, end, score) of the sentence that best answers.

    The score is linear in SENTENCE_FEATURES: meaning (cosine of the
    sentence's vector to the question's), term overlap (plain, weighted by
    rarity, and of word pairs), whether the sentence holds the kind of answer
    asked for (a date for "when"...) near the question's words, how much it
    adds beyond them, its place and length, whether it looks like a heading,
    and the passage's own score and rank. Scores compare across passages, so
    the best of them is the answer. Only the first MAX_SENTENCES are
    embedded, unless `everything` (their vectors were stored at build time:
    scoring all of them costs nothing).
    """
    scores = list(scores) if scores is not None else [0.0] * len(passages)
    texts = [p.text[a:b] for p in passages for a, b, _, _ in p.sentences]
    dense = np.zeros(len(texts), dtype=np.float32)
    limit = len(texts) if everything else min(len(texts), MAX_SENTENCES)
    if limit:
        dense[:limit] = encode(texts[:limit]) @ q
    spans, rows = sentence_matrix(question, passages, dense, scores)
    # A heading, or a sentence made of the question's own words, is never the answer while a passage has another.
    never = (rows[:, SENTENCE_FEATURES.index("heading")] + rows[:, SENTENCE_FEATURES.index("restates")]) > 0
    best: list[tuple[int, int, float]] = [(0, len(p.text), -1e9) for p in passages]
    for (i, a, b), score in zip(spans, rows @ SENTENCE_WEIGHTS - NEVER_PENALTY * never):
        if score > best[i][2]:
            best[i] = (a, b, float(score))
    return best


def sentence_lines(p: Passage, start: int) -> tuple[int, int]:
    """The lines of the sentence of `p` that starts at `start` (the passage's lines if none does)."""
    for a, _, ls, le in p.sentences:
        if a == start:
            return ls, le
    return p.line_start, p.line_end
