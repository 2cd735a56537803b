"""The short answer inside the answering sentence: a name, date, number or noun phrase.

No tagger or model: the question's wh-phrase says what kind of answer it
wants; candidate spans come from patterns (capitalised runs, dates, numbers
with their unit, runs of content words between function words); a linear
scorer learned on SQuAD (bench/tune_answers.py) picks one. Below a learned
probability the span is withheld: no span beats a wrong one.
"""

from __future__ import annotations

import functools
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

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
KINDS = ("date", "number", "person", "place", "thing")

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_NUMWORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
            r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
            r"million|billion|trillion|dozen|half|several)")
_NUM = rf"(?:[$£€]\s?)?\d+(?:,\d{{3}})*(?:\.\d+)?(?:\s?[–-]\s?\d+(?:,\d{{3}})*(?:\.\d+)?)?(?:\s?(?:%|percent|per cent))?(?![A-Za-z0-9])|\b{_NUMWORD}(?:[- ]{_NUMWORD})*\b"
_DATE_RE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,\s*\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|\d{{4}}s|\d{{1,2}}(?:st|nd|rd|th) century"
    rf"|(?:1[0-9]|20)\d\d(?:\s*[–-]\s*\d{{2,4}})?)\b", re.I)
_NUM_RE = re.compile(rf"(?<![\w.])(?:{_NUM})(?:\s+(?:{_NUM}))?", re.I)
_CAP = r"[A-Z][\w'’.-]*"
_NAME_RE = re.compile(rf"{_CAP}(?:\s+(?:(?:of|the|de|del|da|von|van|der|and|&|for|on)\s+)*{_CAP})*")
_WORD = re.compile(r"[\w$£€%](?:[\w'’.$%/-]|,(?=\d{3}))*[\w%]|[\w$%]")
FUNCTION = frozenset(
    """a an the and or but nor so yet of in on at by for to from with without into onto upon over under about above
    below between among through during before after since until as than that which who whom whose what when where why
    how this these those it its they them their he him his she her we us our you your i me my is are was were be been
    being am do does did doing have has had having will would shall should can could may might must not no also only
    very more most such there here then thus however although though while if because both either neither each every
    all any some other another same own just even still again further once""".split()
)
# A verb-looking word ends a noun phrase (no tagger: endings and a few auxiliaries).
_VERBISH = re.compile(r"^\w+(ed|ing)$|^(said|says|made|became|become|began|known|called|named|used|led|won|held)$", re.I)


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


def wanted(question: str) -> str | None:
    """The kind of answer `question` asks for, None for why/how questions, "what does X say about" and statements."""
    if _DESCRIBE.search(question):
        return None
    for kind, pattern in _WANT_RES:
        if pattern.search(question):
            return kind
    return None


def _stem(word: str) -> str:
    return word.lower()[:5]


def question_terms(question: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(question) if w.lower() not in FUNCTION}


def candidates(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, shape) of every candidate span; shape is date, number, name or phrase."""
    return list(_candidates(sentence))


# Candidates and words depend on the sentence alone: one question scores each
# sentence twice (span strength, kind match), and popular passages come back
# across questions. Bounded: a few thousand sentences of a few hundred bytes.
@functools.lru_cache(maxsize=4096)
def _candidates(sentence: str) -> tuple[tuple[int, int, str], ...]:
    out: dict[tuple[int, int], str] = {}
    for m in _DATE_RE.finditer(sentence):
        out.setdefault(m.span(), "date")
    for m in _NUM_RE.finditer(sentence):
        a, b = m.span()
        out.setdefault((a, b), "number")
        # the number with its unit or counted noun: "3.2 million people", "24 points"
        unit = re.match(r"\s+([A-Za-z][\w-]*)(\s+[A-Za-z][\w-]*)?", sentence[b:])
        if unit and unit.group(1).lower() not in FUNCTION:
            out.setdefault((a, b + unit.end(1)), "number")
            if unit.group(2) and unit.group(2).strip().lower() not in FUNCTION:
                out.setdefault((a, b + unit.end(2)), "number")
    for m in _NAME_RE.finditer(sentence):
        a, b = m.span()
        text = sentence[a:b].rstrip(".")
        b = a + len(text)
        words = text.split()
        while words and words[0].lower() in FUNCTION:  # "The", "In" at the start of the sentence
            a += len(words[0]) + (len(sentence[a + len(words[0]):]) - len(sentence[a + len(words[0]):].lstrip()))
            words = words[1:]
        if words and b > a:
            out.setdefault((a, b), "name")
    # Runs of content words: a poor man's noun chunk, plus its last one to three words.
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(sentence)]
    run: list[tuple[int, int, str]] = []
    for w in words + [(len(sentence), len(sentence), ".")]:
        broken = run and sentence[run[-1][1] : w[0]].strip() not in ("", "-")
        if w[2].lower() in FUNCTION or _VERBISH.match(w[2]) or broken or w[2] == ".":
            if run:
                for i in range(max(0, len(run) - 3), len(run)):
                    out.setdefault((run[i][0], run[-1][1]), "phrase")
                out.setdefault((run[0][0], run[-1][1]), "phrase")
            run = [] if (w[2].lower() in FUNCTION or _VERBISH.match(w[2]) or w[2] == ".") else [w]
        else:
            run.append(w)
    return tuple((a, b, s) for (a, b), s in sorted(out.items()) if b > a)


@functools.lru_cache(maxsize=4096)
def _words(sentence: str) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Stems, starts and ends of the sentence's words."""
    found = [(m.start(), m.end(), _stem(m.group(0))) for m in _WORD.finditer(sentence)]
    return tuple(w[2] for w in found), tuple(w[0] for w in found), tuple(w[1] for w in found)

# Learned by bench/tune_answers.py (conditional logit over the candidates of
# the sentence holding the gold answer, SQuAD-tune train articles, 3,256 questions:
# `python -m bench.tune_answers span`); order = FEATURES.
_SHAPES = ("date", "number", "name", "phrase")
FEATURES = tuple(f"{k}:{s}" for k in KINDS for s in _SHAPES) + (
    "overlap", "any_overlap", "near", "dist1", "dist2", "dist_far", "no_anchor", "window", "log_len", "one_word",
    "long", "after_anchor", "prep_before", "capital", "in_parens", "comma_after", "head_near", "all_capital") + tuple(
    f"{k}:log_len" for k in KINDS) + ("named:name", "verb_question:phrase")
WEIGHTS = np.array([
    2.270, -0.214, -0.559, -1.497, 0.105, 2.032, -1.050, -1.088, -0.353, -1.227, 2.113, -0.534, -0.328,
    -0.668, 1.182, -0.186, -0.783, -0.137, 1.049, -0.129, -3.348, 1.034, 0.643, 0.143, 0.246, -0.658, 1.079,
    1.153, -0.037, -0.754, 0.077, 0.395, 0.582, -0.094, -0.740, 0.180, 1.029, 0.445, -0.732, -1.320, 0.601,
    0.543, 0.871, 1.220, 0.281
], dtype=np.float32)
# A span is shown only when its probability among the sentence's candidates reaches this:
# on train (gold sentence given) 0.15 withholds ~7% of spans, the worst ones.
MIN_PROBABILITY = 0.15
_MATCHES = {"date": ("date",), "number": ("number", "date"), "person": ("name",), "place": ("name",),
            "thing": ("name", "phrase")}
_PREP = {"date": ("in", "on", "since", "by", "until", "from"), "place": ("in", "at", "from", "near", "to"),
         "person": ("by", "with"), "number": ("of", "about", "approximately", "nearly", "over", "than"),
         "thing": ("the", "a", "an", "as", "called", "named")}
_NAMED = re.compile(r"\b(name|called|company|team|group|organi[sz]ation|university|party|network|band)\b", re.I)
_DOES = re.compile(r"\bwhat (did|does|do|is|was|are|were)\b", re.I)
_HEAD = re.compile(r"\b(?:what|which|how)\s+(?:\w+\s+)?(\w+)", re.I)


def features(question: str, sentence: str, cands: list[tuple[int, int, str]], kind: str | None = None) -> np.ndarray:
    """One row of FEATURES per candidate.

    Every sentence of the top passages is scored per question, so this is the
    hot path of answering: the sentence's words are split once (cached), the
    loop works on tuples and makes one array at the end (a numpy column per
    feature was measured slower: ~18 candidates a sentence is too few).
    """
    kind = wanted(question) if kind is None else kind
    q = question_terms(question)
    head = _HEAD.search(question)
    head = _stem(head.group(1)) if head and head.group(1).lower() not in FUNCTION else ""
    stems, starts, ends = _words(sentence)
    anchors = [i for i, s in enumerate(stems) if s in q]
    heads = [i for i, s in enumerate(stems) if s == head] if head else []
    k0 = KINDS.index(kind) * len(_SHAPES) if kind in KINDS else None
    prep = _PREP.get(kind or "", ())
    n_q = max(1, len(q))
    named, does = bool(_NAMED.search(question)), bool(_DOES.search(question))
    kinds = [kind == k for k in KINDS]
    rows = []
    for a, b, shape in cands:
        lo, hi = bisect_left(starts, a), bisect_right(ends, b)
        inside = stems[lo:hi]
        n = len(inside)
        content = [s for s in inside if s not in FUNCTION] or inside
        overlap = sum(s in q for s in content) / max(1, len(content))
        first, last = (lo, hi - 1) if n else (0, 0)
        outside = [i for i in anchors if i < first or i > last]
        dist = min((first - i if i < first else i - last) for i in outside) if outside else 99
        window = len({stems[i] for i in outside if abs(i - first) <= 4 or abs(i - last) <= 4}) / n_q
        before = sentence[:a].rsplit(None, 1)[-1:] or [""]
        log_n = math.log1p(n)
        row = [0.0] * 20
        if k0 is not None:
            row[k0 + _SHAPES.index(shape)] = 1.0
        row += (
            overlap, overlap > 0, 1.0 / (1.0 + dist), dist == 1, dist == 2, dist > 6, not outside, window,
            log_n, n == 1, n > 6, bool(outside) and min(outside) < first,
            before[0].lower() in prep, sentence[a].isupper(), sentence[max(0, a - 1) : a] == "(",
            sentence[b : b + 1] == ",", any(first - 2 <= h <= last + 2 for h in heads),
            n > 0 and all(sentence[wa].isupper() or sentence[wa].isdigit() for wa in starts[lo:hi]),
            *[k * log_n for k in kinds],
            shape == "name" and named, shape == "phrase" and does,
        )
        rows.append(row)
    return np.array(rows, dtype=np.float32).reshape(len(cands), len(FEATURES))


def best_span(question: str, sentence: str, kind: str | None = None) -> Span | None:
    """The most likely short answer in `sentence`, or None when none is likely enough."""
    kind = wanted(question) if kind is None else kind
    if kind is None:
        return None
    cands = candidates(sentence)
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
    cands = candidates(sentence)
    if not cands:
        return 0.0
    return float(np.max(features(question, sentence, cands, kind) @ WEIGHTS))


def has_kind(question_kind: str | None, sentence: str, q_terms: set[str]) -> bool:
    """Whether `sentence` holds a candidate of the wanted shape that is not made of the question's own words."""
    if question_kind is None:
        return False
    shapes = _MATCHES[question_kind] if question_kind != "thing" else ("name",)
    for a, b, shape in candidates(sentence):
        if shape in shapes and not any(_stem(w) in q_terms for w in _WORD.findall(sentence[a:b])):
            return True
    return False
