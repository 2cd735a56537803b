"""The short answer inside the answering sentence: a name, date, number or noun phrase.

With the default model, the extractive reader (qa/reader.py) proposes the
span and these rules keep the last word only where their pick looks like code
(`answer_span`); with any other model the rules pick it alone. No tagger: the question's wh-phrase says what kind of answer it
wants; candidate spans come from patterns (qa/span_candidates.py: capitalised
runs, dates, numbers with their unit, quoted titles, lists, runs of content
words between function words), none made only of the question's words; a
linear scorer learned on SQuAD (bench/tune_answers.py) picks one. Below a learned
probability the span is withheld: no span beats a wrong one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import span_features
from .span_candidates import FUNCTION, KINDS, WORD, candidates, question_terms, stem
from .span_features import FEATURES

# What the question asks for. Checked in order; the first match wins.
_WANTS = (
    ("date", r"\b(when|what (year|date|day|month|century|decade|time|period|era|season)|which (year|date|day|month|century|decade|season|draft)"
             r"|since when|how long ago)\b"),
    ("number", r"\bhow (many|much|long|old|far|large|big|high|tall|wide|deep|fast|heavy|often|frequently)\b"
               r"|\bwhat (was |is )?(the )?(final )?(score|margin|population|total)\b"
               r"|\bwhat (percentage|percent|proportion|share|number|amount|fraction|size|length|speed|temperature)\b"
               # a numbered part or edition: "section 144(1)", "version 3.2", "page 12"
               r"|\b(what|which) (section|article|chapter|clause|paragraph|subsection|version|release|page|port)\b"),
    ("person", r"\b(who|whom|whose)\b|\b(what|which) (person|man|woman|people|king|emperor|president|scientist)\b"),
    ("place", r"\bwhere\b|\b(what|which|in what|in which) (city|country|state|town|place|region|continent|county|location"
              r"|island|river|area|street|building|nation|province)\b"),
    ("thing", r"\b(what|which)\b"),
)
_WANT_RES = tuple((kind, re.compile(p, re.I)) for kind, p in _WANTS)

@dataclass(frozen=True)
class Span:
    """A short answer inside the answer sentence: `sentence[start:end] == text`.

    `citation` (an answer.Citation, set by `ask`) is the line(s), and page for
    paged files, that hold the span itself; None until it is cited.
    """

    text: str
    start: int
    end: int
    kind: str
    score: float = 0.0
    citation: object | None = None

    def to_dict(self) -> dict:
        d = {"text": self.text, "start": self.start, "end": self.end, "kind": self.kind}
        if self.citation is not None:
            d["citation"] = self.citation.to_dict()
            d["cited"] = str(self.citation)
        return d


_DESCRIBE = re.compile(r"^\W*what (do|does|did)\b.*\b(say|says|think|believe|mean|argue|claim|propose|suggest|feel|note|"
                       r"state|stress|emphasi[sz]e)\b", re.I)


_WHY = re.compile(r"\bwhy\b", re.I)


def wanted(question: str) -> str | None:
    """The kind of answer `question` asks for, None for why/how questions, "what does X say about" and statements."""
    if _DESCRIBE.search(question):
        return None
    for kind, pattern in _WANT_RES:
        if pattern.search(question):
            return kind
    return None


# Learned by bench/tune_answers.py (conditional logit over the candidates of
# the sentence holding the gold answer, SQuAD-tune train articles, 3,368 questions, l2 1e-4:
# `python -m bench.tune_answers span --indexes /tmp/qwork2 --cache /tmp/qwork2/collected.json`);
# order = span_features.FEATURES.
WEIGHTS = np.array([
    2.598, 0.002, -0.716, -1.618, -0.283, 0.016, -0.209, 2.315, -2.008, -1.193, 0.704, 0.391, -0.834, -2.310,
    3.212, 0.003, -0.261, 0.190, -1.226, -1.652, 1.646, -0.047, 0.632, 0.647, -1.558, -0.114, 1.094, -0.323,
    0.933, -0.033, -0.609, -0.635, -0.184, 0.191, 1.255, -0.018, -1.252, -0.176, 2.826, -0.785, -0.103, 0.052,
    1.014, 0.367, -0.514, -0.751, -0.069, 0.186, 0.501, 0.104, -0.634, 0.361, 1.732, 0.197, 1.298, 0.202,
    0.280, 0.126, -0.067, -0.263, 0.212, -0.195, 0.166, 0.840, 0.946, -0.345, 0.402, 1.025, 0.107, 0.713,
    2.269, 1.726, -0.405, 0.845, 0.008, 0.749, 0.910, 1.233, -0.543, -0.029, -0.755, 0.315, -0.747, 0.309,
    -0.011, -0.470, -0.693, -0.136, 0.462, 0.335, 0.811, 1.108, -1.868, -0.581, -0.169, -0.052,
    # code, code_wanted: fitted alone, the others held, on the manuals' tune questions whose chosen
    # sentence holds the gold (69; l2 1e-2). Manuals' test halves, sentence as `ask` chooses it:
    # short answer EM/F1 0.228/0.275 -> 0.267/0.314; SQuAD-tune gold sentences unchanged (dev F1 0.534 -> 0.533).
    0.192, 0.995,
], dtype=np.float32)
# A span is shown only when its probability among the sentence's candidates reaches this:
# on train (gold sentence given) 0.10 withholds the 0.9% least sure spans for 0.002 of F1;
# 0.15 would withhold 4.4% for 0.010 (a withheld span scores 0, a wrong one little more).
MIN_PROBABILITY = 0.10
_MATCHES = {"date": ("date",), "number": ("number", "date"), "person": ("name",), "place": ("name",),
            "thing": ("name", "phrase")}


def span_kind(question: str) -> str | None:
    """The kind the span scorer uses: wanted(question), "other" for how/what-does questions, None for why.

    A reason is a clause, and a phrase cut from it misleads (SQuAD-tune train: F1 0.24 for why-questions).
    """
    kind = wanted(question)
    return kind if kind is not None else (None if _WHY.search(question) else "other")


def features(question: str, sentence: str, cands: list[tuple[int, int, str]], kind: str | None = None) -> np.ndarray:
    """One row of FEATURES per candidate."""
    return span_features.features(question, sentence, cands, kind or span_kind(question) or "other")


def best_span(question: str, sentence: str, kind: str | None = None, given: Sequence[str] = ()) -> Span | None:
    """The most likely short answer in `sentence`, or None when none is likely enough; never one that
    overlaps a place where `given` (what a "who else" follow-up was already told) stands in it."""
    kind = span_kind(question) if kind is None else kind
    if kind is None:
        return None
    scored = _scored(question, sentence, kind)
    if scored is None:
        return None
    cands, logits = scored
    taken = given_ranges(sentence, given)
    if taken:
        logits = np.where([any(a < e and s < b for s, e in taken) for a, b, _ in cands], -np.inf, logits)
        if not np.isfinite(logits).any():
            return None
    p = np.exp(logits - logits.max())
    p /= p.sum()
    i = int(np.argmax(p))
    if p[i] < MIN_PROBABILITY:
        return None
    a, b, shape = cands[i]
    label = kind if shape in _MATCHES.get(kind, ()) and kind != "thing" else {"name": "name", "date": "date",
                                                                              "number": "number"}.get(shape, "thing")
    return Span(sentence[a:b], a, b, label, float(p[i]))


# The rules' pick stands over the reader's when they are this sure of it (see answer_span).
RULES_SURE = 0.7


def given_ranges(text: str, given: Sequence[str], lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Where each of `given` stands, as whole words, reaching into `text[lo:hi]` (character ranges of
    `text`, case-insensitive: "US" is not inside "Huseynova")."""
    hi = len(text) if hi is None else hi
    return [(m.start(), m.end()) for g in given if g.strip()
            for m in re.finditer(rf"(?<!\w){re.escape(g.strip())}(?!\w)", text, re.I) if m.end() > lo and m.start() < hi]


def answer_span(question: str, sentence: str, read: tuple[int, int, float] | None,
                given: Sequence[str] = ()) -> Span | None:
    """The short answer: the reader's span `read` (start, end, probability in `sentence`), except

    - where the rules pick a span that looks like code ("/etc/alternatives/", "Accept=yes"), which
      they weigh for command, file and option questions and the reader, trained on SQuAD, was never
      shown (the manuals' and sample's tune halves, F1: reader alone 0.415, with this 0.449);
    - where the rules are sure (probability >= RULES_SURE among the sentence's candidates), or the
      reader's span is made only of the question's own words ("Chairman" for "Who chairs the
      Military Chamber?"; the rules never offer such a span): tune halves' exact match 41 -> 42
      of 122, F1 unchanged (0.5, 0.8 and 0.9 no better).

    Without a reading, the rules' pick. Neither is ever one of `given` (see best_span); the caller
    reads the reader's span with them avoided (Reading.best)."""
    rule = best_span(question, sentence, given=given)
    if read is None or (rule is not None and (span_features.looks_like_code(rule.text) or rule.score >= RULES_SURE)):
        return rule
    found = read_span(question, sentence, *read)
    if rule is not None and found is not None and _only_question_words(question, found.text):
        return rule
    return found


def _only_question_words(question: str, text: str) -> bool:
    words = [w for w in WORD.findall(text) if w.lower() not in FUNCTION]
    return bool(words) and {stem(w) for w in words} <= question_terms(question)


_WORD_REACH = 20  # characters a cut word is widened by, at most, on either side
_LETTERS = re.compile(r"[^\W_]+")  # a run of letters and digits
_NUMBER = re.compile(r"\d+(?:[:.,]\d+)+")  # a time, a decimal, a number with thousands: "09:15", "3.50", "1,200"


def read_span(question: str, sentence: str, start: int, end: int, probability: float) -> Span | None:
    """The reader's span (qa/reader.py) `sentence[start:end]`, labelled by its shape; None for why-questions."""
    kind = span_kind(question)
    text = sentence[start:end].strip()
    if kind is None or not text:
        return None
    start = sentence.index(text, start)
    end = start + len(text)
    # whole words: the reader's tokens are word pieces, and "condemn" of "condemns" reads as a glitch
    # (within a word's length: a script written without spaces would otherwise grow to its whole run)
    for run in (*_LETTERS.finditer(sentence), *_NUMBER.finditer(sentence)):  # "09" of "09:15" is a glitch too
        if run.start() < start < run.end() and start - run.start() <= _WORD_REACH:
            start = run.start()
        if run.start() < end < run.end() and run.end() - end <= _WORD_REACH:
            end = run.end()
    # a date, a quoted title or a name the reader cut short ("June 2005" of "28th of June 2005", "Combating" of
    # the law "On Combating Human Trafficking") is shown whole, the longest that holds it (a name of up to six words)
    start, end = max(((a, b) for a, b, shape in candidates(sentence) if a <= start and end <= b and (
        shape == "date" or shape in ("quote", "name") and len(sentence[a:b].split()) <= 6)),
        key=lambda ab: ab[1] - ab[0], default=(start, end))
    text = sentence[start:end]
    whole = [shape for a, b, shape in candidates(text) if a == 0 and b == len(text)]
    shape = whole[0] if whole else "phrase"
    label = kind if shape in _MATCHES.get(kind, ()) and kind != "thing" else {"name": "name", "date": "date",
                                                                              "number": "number"}.get(shape, "thing")
    return Span(text, start, start + len(text), label, probability)


def span_strength(question: str, sentence: str, kind: str | None = None) -> float:
    """How strongly `sentence` offers a short answer of the wanted kind: its best candidate's score (0 when none)."""
    if kind is None:
        return 0.0
    scored = _scored(question, sentence, kind)
    return 0.0 if scored is None else float(np.max(scored[1]))


@functools.lru_cache(maxsize=256)
def _scored(question: str, sentence: str, kind: str) -> tuple[list[tuple[int, int, str]], np.ndarray] | None:
    """Candidates and their logits, or None: the sentence scorer asks for every sentence's strength and
    `ask` then for the chosen one's span, the same work (callers never modify the arrays)."""
    cands = candidates(sentence, question)
    return (cands, features(question, sentence, cands, kind) @ WEIGHTS) if cands else None


def type_match(question: str, sentence: str) -> bool:
    """Whether `sentence` holds the kind of answer `question` asks for, near the question's words."""
    return has_kind(wanted(question), sentence, question_terms(question))


def has_kind(question_kind: str | None, sentence: str, q_terms: set[str]) -> bool:
    """Whether `sentence` holds a candidate of the wanted shape that is not made of the question's own words."""
    if question_kind is None:
        return False
    shapes = _MATCHES[question_kind] if question_kind != "thing" else ("name",)
    for a, b, shape in candidates(sentence):
        if shape in shapes and not any(stem(w) in q_terms for w in WORD.findall(sentence[a:b])):
            return True
    return False
