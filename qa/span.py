"""The short answer inside the answering sentence: a name, date, number or noun phrase.

No tagger or model: the question's wh-phrase says what kind of answer it
wants; candidate spans come from patterns (qa/span_features.py: capitalised
runs, dates, numbers with their unit, quoted titles, lists, runs of content
words between function words), none made only of the question's words; a
linear scorer learned on SQuAD (bench/tune_answers.py) picks one. Below a learned
probability the span is withheld: no span beats a wrong one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from . import span_features
from .span_features import FEATURES, FUNCTION, KINDS, WORD, candidates, question_terms, stem

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
    2.598, 0.002, -0.716, -1.619, -0.280, 0.016, -0.210, 2.316, -2.010, -1.194, 0.705, 0.392, -0.835, -2.311,
    3.213, 0.003, -0.262, 0.192, -1.227, -1.652, 1.644, -0.047, 0.637, 0.645, -1.556, -0.114, 1.094, -0.323,
    0.932, -0.033, -0.613, -0.633, -0.182, 0.192, 1.255, -0.018, -1.251, -0.176, 2.815, -0.782, -0.102, 0.052,
    1.013, 0.367, -0.514, -0.751, -0.069, 0.187, 0.501, 0.103, -0.635, 0.361, 1.732, 0.198, 1.298, 0.201,
    0.281, 0.127, -0.067, -0.263, 0.212, -0.195, 0.165, 0.840, 0.944, -0.345, 0.401, 1.025, 0.107, 0.713,
    2.271, 1.730, -0.406, 0.845, 0.008, 0.748, 0.910, 1.233, -0.543, -0.028, -0.758, 0.316, -0.747, 0.308,
    -0.011, -0.471, -0.693, -0.136, 0.462, 0.335, 0.810, 1.108, -1.868, -0.579, -0.168, -0.052,
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


def best_span(question: str, sentence: str, kind: str | None = None) -> Span | None:
    """The most likely short answer in `sentence`, or None when none is likely enough."""
    kind = span_kind(question) if kind is None else kind
    if kind is None:
        return None
    scored = _scored(question, sentence, kind)
    if scored is None:
        return None
    cands, logits = scored
    p = np.exp(logits - logits.max())
    p /= p.sum()
    i = int(np.argmax(p))
    if p[i] < MIN_PROBABILITY:
        return None
    a, b, shape = cands[i]
    label = kind if shape in _MATCHES.get(kind, ()) and kind != "thing" else {"name": "name", "date": "date",
                                                                              "number": "number"}.get(shape, "thing")
    return Span(sentence[a:b], a, b, label, float(p[i]))


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


def has_kind(question_kind: str | None, sentence: str, q_terms: set[str]) -> bool:
    """Whether `sentence` holds a candidate of the wanted shape that is not made of the question's own words."""
    if question_kind is None:
        return False
    shapes = _MATCHES[question_kind] if question_kind != "thing" else ("name",)
    for a, b, shape in candidates(sentence):
        if shape in shapes and not any(stem(w) in q_terms for w in WORD.findall(sentence[a:b])):
            return True
    return False
