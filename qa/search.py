"""Answering: from a question to ranked, cited passages and the answering sentence."""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .chunking import Passage
from .embedding import Embedder
from .errors import EmptyQuestion, ModelMismatch
from .fast_encoder import open_fast
from .index import Generation, check_model, current_name, load

# When none of the top three passages reaches this cosine similarity, the
# answer is "not found". On tests/data/sample_questions.jsonl the off-topic
# questions peak at 0.16 and the real ones bottom out at 0.28; 0.20 sits in
# the gap, nearer the off-topic side so that real questions keep their answer.
MIN_SCORE = 0.20
# Share of the keyword (BM25) score in the fused passage score.
LEXICAL_FUSION = 0.3
# Weight of exact-term overlap against meaning when picking the answer sentence.
LEXICAL_WEIGHT = 0.35
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
ANSWER_SHAPE_BONUS = 0.1


@dataclass(frozen=True)
class Citation:
    """Where a piece of text stands in its file: enough to check it by hand."""

    document: str
    title: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int

    def __str__(self) -> str:
        lines = f"line {self.line_start}" if self.line_start == self.line_end else f"lines {self.line_start}-{self.line_end}"
        return f"{self.document}, {lines}"


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
            c = self.answer.citation
            best = {
                "sentence": self.answer.sentence,
                "document": c.document,
                "title": c.title,
                "line_start": c.line_start,
                "line_end": c.line_end,
                "score": round(self.answer.score, 4),
            }
        return {
            "question": self.question,
            "answer": best,
            "passages": [
                {
                    "rank": h.rank,
                    "score": round(h.score, 4),
                    "text": h.text,
                    "document": h.citation.document,
                    "title": h.citation.title,
                    "line_start": h.citation.line_start,
                    "line_end": h.citation.line_end,
                    "char_start": h.citation.char_start,
                    "char_end": h.citation.char_end,
                    "answer_sentence": h.answer_sentence,
                    "answer_start": h.answer_start,
                    "answer_end": h.answer_end,
                    "also_in": [
                        {"document": c.document, "line_start": c.line_start, "line_end": c.line_end} for c in h.also_in
                    ],
                }
                for h in self.passages
            ],
            "notices": list(self.notices),
        }


class Searcher:
    """An open index that answers questions and follows index updates.

    Each question first checks (one small file read) whether `qa index` has
    switched to a new generation; if so it loads it. Questions already running
    keep the generation they started with.
    """

    def __init__(self, index: str | Path = "index", model: str | None = None, embedder: Embedder | None = None):
        self.root = Path(index)
        # What CURRENT said when we last loaded; a damaged generation it points
        # at is not retried on every question, only when CURRENT changes.
        self._pointer = current_name(self.root)
        self._damaged: set[str] = set()
        self._gen = load(self.root)
        self._reload_lock = threading.Lock()
        built = self._gen.manifest["model"]["name"]
        if model is not None and model != built and embedder is None:
            raise ModelMismatch(
                f"The index in {self.root} was built with the model {built}, not {model}. "
                f"Rebuild it with: qa index --full --model {model} --index {self.root}"
            )
        # The checked ONNX export answers without importing torch; torch is
        # the fallback when there is none for these weights.
        self.embedder = embedder or open_fast(self._gen.model.sha256) or Embedder(built)
        self._checked: str | None = None

    @property
    def generation(self) -> Generation:
        name = current_name(self.root)
        if name is not None and name != self._pointer:
            with self._reload_lock:
                if name != self._pointer:
                    self._gen = load(self.root, frozenset(self._damaged))
                    self._pointer = name
        if self._gen.damage is not None:
            # A large generation's background checksum check failed.
            with self._reload_lock:
                gen = self._gen
                if gen.damage is not None:
                    self._damaged.add(gen.name)
                    self._gen = load(self.root, frozenset(self._damaged))
                    warnings.warn(
                        f"The index generation {gen.name} is damaged ({gen.damage}); serving {self._gen.name}. "
                        f"Run `qa index --index {self.root}` to repair it.",
                        stacklevel=2,
                    )
        return self._gen

    def rank(self, question: str, depth: int, mode: str = "hybrid") -> tuple[list[Passage], list[float]]:
        """Low level: the top `depth` passages and scores, no answer sentences (used by evaluation)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        gen = self.generation
        q = self.embedder.encode([" ".join(question.split())])[0]
        rows, scores, _ = _candidates(gen, question, q, depth, None, mode)
        return [gen.passages[r] for r in rows[:depth]], scores[:depth]

    def documents(self) -> list[str]:
        return sorted(self.generation.manifest["documents"])

    def ask(self, question: str, k: int = 5, documents: Iterable[str] | None = None) -> Answer:
        """The `k` best passages for `question`, each with its answering sentence."""
        if not isinstance(question, str) or not question.strip():
            raise EmptyQuestion("The question is empty. Type a question, for example: Who chairs the Military Chamber?")
        if k < 1:
            raise ValueError("k must be at least 1")
        question = " ".join(question.split())
        gen = self.generation
        if self._checked != gen.name:
            check_model(gen, self.embedder.identity())
            self._checked = gen.name
        notices = []
        n_tokens = self.embedder.count_tokens([question])[0]
        if n_tokens > self.embedder.max_tokens:
            notices.append(
                f"The question is {n_tokens} tokens long; only its first {self.embedder.max_tokens} shape the meaning search."
            )
        q = self.embedder.encode([question])[0]
        rows, scores, dense = _candidates(gen, question, q, k, documents)
        similarity = dict(zip(rows, dense))
        hits = _collapse(gen.passages, rows, scores, k)
        chosen = _answer_sentences(self.embedder, question, q, [gen.passages[r] for r, _, _ in hits])
        results = []
        for rank, ((row, score, twins), (a, b, _)) in enumerate(zip(hits, chosen), start=1):
            p = gen.passages[row]
            results.append(
                Hit(
                    rank=rank,
                    score=float(score),
                    text=p.text,
                    citation=_citation(p),
                    answer_start=a,
                    answer_end=b,
                    also_in=tuple(_citation(gen.passages[t]) for t in twins),
                )
            )
        best = None
        if results and max(similarity[row] for row, _, _ in hits[:3]) >= MIN_SCORE:
            # The overall answer comes from the strongest passages only: a
            # sentence that matches well inside a weak passage is often a decoy.
            top = max(range(min(3, len(results))), key=lambda i: chosen[i][2] + 0.5 * results[i].score)
            hit = results[top]
            p = gen.passages[hits[top][0]]
            best = AnswerSentence(hit.answer_sentence, _sentence_citation(p, hit.answer_start), chosen[top][2])
        return Answer(question=question, answer=best, passages=tuple(results), notices=tuple(notices))


MODES = ("hybrid", "dense", "bm25")


def _candidates(
    gen: Generation, question: str, q: np.ndarray, k: int, documents: Iterable[str] | None, mode: str = "hybrid"
) -> tuple[list[int], list[float], list[float]]:
    """Rows ranked by fused score, with (fused, dense) scores.

    Meaning (cosine) and keywords (BM25, scaled by the best BM25 score of this
    question) are added; candidates come from the top of either list.
    """
    lexical = gen.lexical.scores(question)
    n = len(gen.passages)
    # Extra depth leaves room for collapsing passages with identical text.
    depth = min(n, max(100, 3 * k + 10))
    if documents is not None:
        pool = gen.passages.rows_of(documents)
    else:
        _, dense_rows = gen.store.search(q[None, :], depth)
        lex_rows = np.argpartition(-lexical, depth - 1)[:depth] if depth < n else np.arange(n)
        lex_rows = lex_rows[lexical[lex_rows] > 0]
        pool = np.unique(np.concatenate([dense_rows[0][dense_rows[0] >= 0], lex_rows]))
    if not len(pool):
        return [], [], []
    dense = gen.store.vectors(pool) @ q
    top = float(lexical.max()) if len(lexical) else 0.0
    keyword = lexical[pool] / top if top > 0 else np.zeros(len(pool), dtype=np.float32)
    weight = {"hybrid": LEXICAL_FUSION, "dense": 0.0, "bm25": 1.0}[mode]
    fused = (1 - weight) * dense + weight * keyword
    order = np.argsort(-fused, kind="stable")
    return pool[order].tolist(), fused[order].tolist(), dense[order].tolist()


def _collapse(passages: Sequence[Passage], rows: list[int], scores: list[float], k: int) -> list[tuple[int, float, list[int]]]:
    """Show a text once; list the other places it occurs."""
    out: list[tuple[int, float, list[int]]] = []
    by_text: dict[str, int] = {}
    for row, score in zip(rows, scores):
        key = " ".join(passages[row].text.split()).lower()
        if key in by_text:
            out[by_text[key]][2].append(row)
            continue
        if len(out) == k:
            continue
        by_text[key] = len(out)
        out.append((row, score, []))
    return out


def _terms(text: str) -> set[str]:
    # A five-letter prefix is a cheap stemmer: "chairs"/"chairman", "adopted"/"adoption".
    return {t[:5] for t in _TERM.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1}


def _answer_sentences(embedder: Embedder, question: str, q: np.ndarray, passages: list[Passage]) -> list[tuple[int, int, float]]:
    """Per passage: (start, end, score) of the sentence that best answers."""
    q_terms = _terms(question)
    shape = next((pattern for wants, pattern in _EXPECTS if wants.search(question)), None)
    spans = [(i, a, b) for i, p in enumerate(passages) for a, b, _, _ in p.sentences]
    texts = [passages[i].text[a:b] for i, a, b in spans]
    dense = np.zeros(len(texts), dtype=np.float32)
    limit = min(len(texts), MAX_SENTENCES)
    if limit:
        dense[:limit] = embedder.encode(texts[:limit]) @ q
    best: list[tuple[int, int, float]] = [(0, len(p.text), -1.0) for p in passages]
    for (i, a, b), text, d in zip(spans, texts, dense):
        lexical = len(q_terms & _terms(text)) / len(q_terms) if q_terms else 0.0
        score = float(d) + LEXICAL_WEIGHT * lexical
        if shape is not None and shape.search(text):
            score += ANSWER_SHAPE_BONUS
        if score > best[i][2]:
            best[i] = (a, b, score)
    return best


def _citation(p: Passage) -> Citation:
    return Citation(p.document, p.title, p.line_start, p.line_end, p.char_start, p.char_end)


def _sentence_citation(p: Passage, start: int) -> Citation:
    for a, b, ls, le in p.sentences:
        if a == start:
            return Citation(p.document, p.title, ls, le, p.char_start, p.char_end)
    return _citation(p)
