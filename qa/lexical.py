"""Keyword search (BM25, via bm25s): exact names, numbers and codes that meaning search misses.

bm25s stores its matrix as .npy arrays and its vocabulary as JSON, never
pickle, and loads them with allow_pickle=False.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Sequence

import numpy as np

# Stemming lets "adopted" match "adoption"; the English Snowball stemmer is
# what BM25 baselines on BEIR use.
_LANGUAGE = "english"
_stemmer = None
# Anserini's BEIR settings. Chosen on SciFact's train queries against bm25s's
# defaults (k1=1.5, b=0.75) and four other pairs: 0.686 vs 0.682 nDCG@10.
K1, B = 0.9, 0.4


def _stem():
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer(_LANGUAGE)
    return _stemmer


def keyword_text(title: str, text: str) -> str:
    """What BM25 indexes for a passage: its text, led by its document's title.

    A passage deep in a document still carries the words of its title (on
    SciFact train this alone lifts nDCG@10 from 0.664 to 0.682).
    """
    return text if not title or text.startswith(title) else f"{title}\n{text}"


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    with contextlib.redirect_stderr(io.StringIO()):
        return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stem(), show_progress=False, return_ids=False)


class Lexical:
    """A BM25 index whose row i is passage i."""

    def __init__(self, retriever):
        self._retriever = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> "Lexical":
        import bm25s

        retriever = bm25s.BM25(k1=K1, b=B)
        with contextlib.redirect_stderr(io.StringIO()):
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query` (zeros when no term is known)."""
        [terms] = tokenize([query])
        if not terms:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._retriever.get_scores(terms), dtype=np.float32)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        import bm25s

        with contextlib.redirect_stderr(io.StringIO()):
            return cls(bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False))

    def __len__(self) -> int:
        return int(self._retriever.scores["num_docs"])
