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
               r"|\bwhat (percentage|percent|proportion|share|number|amount|fraction|size|length|speed|temperature)\b"),
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
    2.573, -0.014, -0.718, -1.628, -0.273, 0.059, -0.247, 2.315, -1.985, -1.211, 0.650, 0.478, -0.820, -2.305,
    3.177, 0.010, -0.216, 0.154, -1.218, -1.642, 1.653, -0.067, 0.643, 0.631, -1.559, -0.109, 1.054, -0.304,
    0.933, -0.014, -0.619, -0.630, -0.181, 0.187, 1.253, -0.009, -1.273, -0.173, 2.856, -0.759, -0.115, 0.061,
    1.017, 0.346, -0.510, -0.742, -0.072, 0.201, 0.526, 0.095, -0.682, 0.359, 1.735, 0.187, 1.392, 0.181,
    0.244, 0.110, -0.086, -0.248, 0.203, -0.224, 0.186, 0.809, 0.953, -0.157, 0.415, 0.994, 0.155, 0.734,
    2.318, 1.756, -0.430, 0.849, -0.009, 0.740, 0.876, 1.386, -0.533, -0.078, -0.546, -0.607, -0.084, 0.455,
    0.349, 0.786, 1.073, -1.790, -0.583, -0.184, -0.044,
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
