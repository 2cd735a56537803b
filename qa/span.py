"""The short answer inside the answering sentence: a name, date, number or noun phrase.

No tagger or model: the question's wh-phrase says what kind of answer it
wants; candidate spans come from patterns (capitalised runs, dates, numbers
with their unit, runs of content words between function words); a linear
scorer learned on SQuAD (bench/tune_answers.py) picks one. Below a learned
probability the span is withheld: no span beats a wrong one.
"""

from __future__ import annotations

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
               r"|\bwhat (percentage|percent|proportion|share|number|amount|fraction|size|length|speed|temperature)\b"),
    ("person", r"\b(who|whom|whose)\b|\b(what|which) (person|man|woman|people|king|emperor|president|scientist)\b"),
    ("place", r"\bwhere\b|\b(what|which|in what|in which) (city|country|state|town|place|region|continent|county|location"
              r"|island|river|area|street|building|nation|province)\b"),
    ("thing", r"\b(what|which)\b"),
)
_WANT_RES = tuple((kind, re.compile(p, re.I)) for kind, p in _WANTS)

@dataclass(frozen=True)
class Span:
    """A short answer inside the answer sentence: `sentence[start:end] == text`."""

    text: str
    start: int
    end: int
    kind: str
    score: float = 0.0

    def to_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "kind": self.kind}


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
# the sentence holding the gold answer, SQuAD-tune train articles, 3,369 questions:
# `python -m bench.tune_answers span --indexes /tmp/qwork2 --cache /tmp/qwork2/collected.json`);
# order = span_features.FEATURES.
WEIGHTS = np.array([
    2.369, -0.056, -0.626, -1.458, -0.084, -0.144, 0.031, 2.048, -1.071, -1.103, 0.081, 0.014, -0.258, -1.172,
    2.433, -0.576, -0.136, -0.290, -0.361, -0.607, 1.198, -0.357, 0.060, 0.067, -0.876, -0.263, 0.962, -0.389,
    0.661, -0.094, -0.119, -0.254, -0.078, 0.081, 0.403, -0.033, -0.544, 0.021, 0.522, -0.122, 0.095, -0.588,
    0.572, 1.204, -0.323, -0.650, 0.016, 0.142, 0.576, 0.057, -0.518, 0.209, 0.996, 0.292, 1.201, 0.150,
    0.217, 0.268, 0.425, -0.153, 0.230, 0.285, 0.135, 0.606, 0.761, -0.137, -0.158, 0.895, -0.205, -0.451,
    -0.232, 0.031, 0.387, 0.146, 0.578, 0.780, -1.301, -0.385, -0.257, -0.066,
], dtype=np.float32)
# A span is shown only when its probability among the sentence's candidates reaches this:
# on train (gold sentence given) 0.10 withholds the 1.4% least sure spans for 0.002 of F1;
# 0.15 would withhold 7.6% for 0.017.
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
    cands = candidates(sentence, question)
    if not cands:
        return None
    logits = features(question, sentence, cands, kind) @ WEIGHTS
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
    cands = candidates(sentence, question)
    if not cands:
        return 0.0
    return float(np.max(features(question, sentence, cands, kind) @ WEIGHTS))


def has_kind(question_kind: str | None, sentence: str, q_terms: set[str]) -> bool:
    """Whether `sentence` holds a candidate of the wanted shape that is not made of the question's own words."""
    if question_kind is None:
        return False
    shapes = _MATCHES[question_kind] if question_kind != "thing" else ("name",)
    for a, b, shape in candidates(sentence):
        if shape in shapes and not any(stem(w) in q_terms for w in WORD.findall(sentence[a:b])):
            return True
    return False
