"""Ranking the candidates of a question: meaning and keywords fused, a second stage on
sentence evidence, and identical or near-identical passages shown once.

`Searcher.ask` and `Searcher.rank` (evaluation) both rank through here, so what
`qa eval` measures is what a person is shown.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .backends import SearchIndex
from .generation import Generation
from .sentence_scorer import ANSWER_FROM

# Share of the keyword (BM25) score in the fused passage score.
LEXICAL_FUSION = 0.3
# Second stage: each candidate's fused score plus this share of its best sentence's
# cosine (stored sentence vectors), so the passage holding the one sentence that
# answers outranks its neighbour that shares more words. Chosen on the manuals'
# tune halves and SQuAD-tune train (python -m bench.tune_rescore grid: 0.1-0.5;
# 0.3 lowered none, 0.4 lowered developers-reference).
SENTENCE_EVIDENCE = 0.3
MODES = ("hybrid", "dense", "bm25")


def candidates(
    index: SearchIndex, question: str, q: np.ndarray, k: int, documents: Sequence[str] | None, mode: str = "hybrid"
) -> tuple[list[int], list[float], list[float]]:
    """Rows ranked by fused score, with (fused, dense) scores.

    Meaning (cosine) and keywords (BM25, scaled by the best BM25 score of this
    question in the whole corpus) are added; candidates come from the top of
    either list.
    """
    # Extra depth leaves room for collapsing passages with identical text.
    depth = min(len(index), max(100, 3 * k + 10))
    if depth <= 0:
        return [], [], []
    dense_rows, _ = index.dense(q, depth, documents)
    lex_rows, lex = index.keyword(question, depth, documents)
    # Unfiltered, the first keyword match is the corpus's best: one keyword search, not two.
    best = lex if documents is None else index.keyword(question, 1)[1]
    top = float(best[0]) if len(best) else 0.0
    pool = np.sort(np.concatenate([dense_rows, lex_rows]).astype(np.int64))
    if not len(pool):
        return [], [], []
    pool = pool[np.concatenate([[True], pool[1:] != pool[:-1]])]  # np.unique, without importing numpy.ma (~30 ms in a new process)
    dense = index.vectors(pool) @ q
    keyword = index.keyword_scores(question, pool) / top if top > 0 else np.zeros(len(pool), dtype=np.float32)
    weight = {"hybrid": LEXICAL_FUSION, "dense": 0.0, "bm25": 1.0}[mode]
    fused = (1 - weight) * dense + weight * keyword
    order = np.argsort(-fused, kind="stable")
    return pool[order].tolist(), fused[order].tolist(), dense[order].tolist()


def rescore(gen: Generation, rows: list[int], fused: list[float], dense: list[float], q: np.ndarray):
    """The pool ranked again by fused score + SENTENCE_EVIDENCE x its best stored sentence's cosine.

    An index stored without sentence vectors keeps the fused order.
    """
    if gen.sentences is None or not rows:
        return rows, fused, dense
    score = np.asarray(fused, dtype=np.float32) + SENTENCE_EVIDENCE * gen.sentences.best_cosines(rows, q)
    order = np.argsort(-score, kind="stable")
    return [rows[i] for i in order], score[order].tolist(), [dense[i] for i in order]


# The passage that holds the answer leads when the evidence for it is decisive:
# the answer sentence comes from the 2nd or 3rd passage, that passage scores
# within LEAD_MARGIN of the first, and the sentence scorer (a conditional logit)
# rates its sentence LEAD_EVIDENCE or more above the first passage's best one,
# e^3: twenty times likelier to answer. A dead heat (within LEAD_TIE, far below
# what separates passages otherwise) goes to the answer's passage on weaker
# evidence, LEAD_TIE_EVIDENCE. Chosen on the manuals' tune halves, SQuAD-tune
# train and sample_tune (python -m bench.tune_rescore lead): the best setting
# that lowers none; SQuAD-tune train first passage 0.839 -> 0.850 -> 0.852 (the
# tie). The sentence scorer is weaker on manuals (their answers are commands and
# paths): any looser setting lost one of their tune questions (a tie of 0.005
# on any evidence lost a debian-policy one).
LEAD_MARGIN = 0.1
LEAD_EVIDENCE = 3.0
LEAD_TIE = 0.0025
LEAD_TIE_EVIDENCE = 0.5


def answer_leads(scores: Sequence[float], sentence_scores: Sequence[float], top: int) -> bool:
    """Whether the passage at `top`, whose sentence was chosen as the answer, should be shown first."""
    if not 0 < top < min(ANSWER_FROM, len(scores), len(sentence_scores)):
        return False
    gap, evidence = scores[0] - scores[top], sentence_scores[top] - sentence_scores[0]
    return (gap < LEAD_TIE and evidence >= LEAD_TIE_EVIDENCE) or (gap < LEAD_MARGIN and evidence >= LEAD_EVIDENCE)


# Passages whose word pairs overlap this much (Jaccard) are one text shown
# once: the same paragraph with a changed date or a typo fixed.
NEAR_DUPLICATE = 0.9


def shingles(text: str) -> frozenset:
    words = re.findall(r"\w+", text.lower())
    return frozenset(zip(words, words[1:])) if len(words) > 1 else frozenset(words)


def collapse(index: SearchIndex, rows: list[int], scores: list[float], k: int) -> list[tuple[int, float, list[int]]]:
    """Show a text once; list the other places it, or a near copy of it, occurs.

    Only the candidate pool is compared, each passage against the ones kept.
    """
    out: list[tuple[int, float, list[int]]] = []
    by_text: dict[str, int] = {}
    kept: list[tuple[frozenset, int]] = []
    for row, score in zip(rows, scores):
        text = index.passage(row).text
        key = " ".join(text.split()).lower()
        twin = by_text.get(key)
        if twin is None:
            sh = shingles(text)
            twin = next((i for other, i in kept if _jaccard(sh, other) >= NEAR_DUPLICATE), None)
        if twin is not None:
            out[twin][2].append(row)
            continue
        if len(out) == k:
            continue
        by_text[key] = len(out)
        kept.append((shingles(text), len(out)))
        out.append((row, score, []))
    return out


def _jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < NEAR_DUPLICATE * len(large):
        return 0.0
    inter = sum(1 for x in small if x in large)
    return inter / (len(a) + len(b) - inter)
