"""Passage relevance: a small cross-encoder that reads the question with each of the best passages.

The two-tower search (a question vector against passage vectors, plus BM25)
never sees question and passage together. This model does: all-MiniLM-L6-v2
with low-rank weights (LoRA, rank 16: 1.3 MB in qa/models/) and a one-number
head over its mean-pooled tokens, trained by bench/train_relevance.py on
SciFact *train* claims and squad_tune *train* questions against the
passages our own hybrid search ranked highest for them. Alone it is a weak
ranker (it saw ~1,600 questions); added with a small weight to the second
stage's score of the DEPTH best passages it orders them better than either.

Like the reader, `qa index` merges the adapter and exports it to ONNX once
(qa/reader_export.py, checked against torch), and only the weights it was
trained on get it; questions run it with ONNX Runtime, no torch. A user's own
cross-encoder (`--reranker`, qa/rerank.py) replaces it.

The answer-sentence model has the same shape and its own adapter (kind
"sentence", trained by bench/train_sentence.py): it reads the question with
one sentence of a leading passage (`sentence_texts`), and qa/sentence_scorer.py
adds its weighted logit to that sentence's score.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from .fast_encoder import PairModel

log = logging.getLogger(__name__)

ADAPTER = Path(__file__).parent / "models" / "relevance-minilm-l6-lora.safetensors"
RELEVANCE_VERSION = 1
# The answer-sentence model: the same shape, trained by bench/train_sentence.py to read the
# question with one sentence (the title line, then the sentence) and say whether it answers.
SENTENCE_ADAPTER = Path(__file__).parent / "models" / "sentence-minilm-l6-lora.safetensors"
SENTENCE_VERSION = 1
MAX_TOKENS = 256  # question and passage (title line, then text) together, as trained
QUESTION_CHARS = 250  # as the reader: a question past the page's 4,000 characters must not crash the tokenizer
# The second stage's best passages read again, and the weight of the model's score
# (a logit, mostly within -10..10) added to theirs (cosine + BM25 share, ~0.3-1.2).
# Chosen on the fifth of SciFact's train claims the model did not train on (164;
# `python -m bench.train_relevance choose`): nDCG@10 0.7097 without it; weight 0.03
# is best at every depth (10: 0.7328, 20: 0.7356, 30: 0.7367; 0.02: 0.7271, 0.05:
# 0.7366 at 30). 20 passages cost two thirds of 30 for 0.001 less.
DEPTH = 20
WEIGHT = 0.03


def sentence_texts(passage) -> list[str]:
    """What the answer-sentence model reads of each sentence of a passage: its title line, then the sentence."""
    head = f"{passage.title}\n" if passage.title else ""
    return [head + passage.text[a:b] for a, b, _, _ in passage.sentences]


def judge_sentences(model: "Relevance | None", question: str, passages) -> list[np.ndarray]:
    """The sentence model's logit of each sentence of each of `passages` (one batch), or none: no model, or it
    failed (it helps an answer, never stops one)."""
    if model is None:
        return []
    texts = [sentence_texts(p) for p in passages]
    try:
        flat = model.scores(question, [t for each in texts for t in each])
    except Exception as exc:
        log.warning("The sentence model could not read these sentences (%s); answering without it.", exc)
        return []
    cuts = np.cumsum([len(t) for t in texts])[:-1]
    return list(np.split(flat, cuts))


def passage_text(passage) -> str:
    """What the model reads of a passage: its title line, then its text."""
    return f"{passage.title}\n{passage.text}" if passage.title else passage.text


class Relevance(PairModel):
    """The exported relevance model (or with kind="sentence", the answer-sentence model): ONNX Runtime and
    `tokenizers` only."""

    def __init__(self, folder: Path, kind: str = "relevance"):
        version = SENTENCE_VERSION if kind == "sentence" else RELEVANCE_VERSION
        super().__init__(folder, f"{kind}_version", version, MAX_TOKENS, QUESTION_CHARS)

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The model's relevance logit of each text for `question`, in one batch."""
        if not texts:
            return np.zeros(0)
        _, (out,) = self._run(["relevance"], question, texts)
        return np.asarray(out, dtype=np.float64).reshape(len(texts))


def fuse(relevance: Relevance | None, question: str, rows: list[int], passage_of, scores: list[float],
         *columns: list) -> tuple[list, ...]:
    """`rows` with their first DEPTH ordered by score + WEIGHT x relevance (the rest after them, as they
    were, their scores capped at the last of those), and each of `columns` in the same order."""
    if relevance is None or len(rows) < 2:
        return (rows, scores, *columns)
    head = min(DEPTH, len(rows))
    fused = np.asarray(scores[:head], dtype=np.float64) + WEIGHT * relevance.scores(
        question, [passage_text(passage_of(r)) for r in rows[:head]])
    order = np.argsort(-fused, kind="stable").tolist() + list(range(head, len(rows)))
    floor = float(fused.min())
    new = [float(fused[i]) if i < head else min(float(scores[i]), floor) for i in order]
    return ([rows[i] for i in order], new, *([column[i] for i in order] for column in columns))
