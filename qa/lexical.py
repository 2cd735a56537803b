"""Keyword search (BM25): exact names, numbers and codes that meaning search misses.

The index is built with bm25s and saved as its arrays (.npy) and vocabulary
(JSON), never pickle. Questions are scored straight from those arrays: the
saved matrix holds each passage's BM25 weight per term, so a question's
scores are a sum over the columns of its terms, touching only the passages
that contain them. Answering never imports bm25s (and scipy behind it), which
would cost ~0.4 s in every new process.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
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
# bm25s's default word pattern; the same splitting at build and question time.
_WORD = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS_FILE = "stopwords.json"


def _stem():
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer(_LANGUAGE)
    return _stemmer


def keyword_text(title: str, text: str, section: str = "") -> str:
    """What BM25 indexes for a passage: its text, led by its document's title and its section's heading.

    A passage deep in a document still carries the words of its title (on
    SciFact train this alone lifts nDCG@10 from 0.664 to 0.682), and one deep
    in a manual those of the heading it sits under.
    """
    lead = []
    # A title made of the text's own opening words ("…" at its end) adds nothing but noise.
    if title and not text.startswith(title) and not title.endswith("…"):
        lead.append(title)
    heading = _heading(section)
    if heading and not text.startswith(heading):
        lead.append(heading)
    return "\n".join(lead + [text])


# Which part of the section path BM25 indexes: "leaf" (the heading the passage
# sits under), "path" (every heading above it too) or "" (none).
SECTION_WORDS = "leaf"


def _heading(section: str) -> str:
    if not section or not SECTION_WORDS:
        return ""
    return section.rsplit(" › ", 1)[-1] if SECTION_WORDS == "leaf" else section.replace(" › ", "\n")


def _english_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: Sequence[str], stopwords: frozenset[str] | None = None) -> list[list[str]]:
    """Lower-cased words of 2+ characters, stop words out, stemmed: the terms BM25 counts."""
    stop = _english_stopwords() if stopwords is None else stopwords
    stem = _stem().stemWords
    return [stem([w for w in _WORD.findall(t.lower()) if w not in stop]) for t in texts]


class Lexical:
    """A BM25 index whose row i is passage i."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int],
                 rows: int, stopwords: frozenset[str]):
        self._data, self._indices, self._indptr = data, indices, indptr
        self._vocab, self._rows, self._stopwords = vocab, rows, stopwords

    @staticmethod
    def write(folder: Path, texts: Sequence[str]) -> None:
        """Build the index of `texts` with bm25s and save it into `folder`."""
        import bm25s

        stopwords = _english_stopwords()
        retriever = bm25s.BM25(k1=K1, b=B)
        with contextlib.redirect_stderr(io.StringIO()):
            retriever.index(tokenize(texts, stopwords), show_progress=False)
        retriever.save(str(folder))
        (Path(folder) / STOPWORDS_FILE).write_text(json.dumps(sorted(stopwords)), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") != "lucene":  # other variants add a non-occurrence term
            raise ValueError(f"BM25 variant {params.get('method')!r} is not supported")
        arrays = [np.load(folder / f"{n}.csc.index.npy", mmap_mode="r", allow_pickle=False) for n in ("data", "indices", "indptr")]
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        listed = folder / STOPWORDS_FILE
        # Indexes written before the list was saved were tokenised with bm25s's
        # English list: the same words, so they keep answering after an upgrade.
        stopwords = (frozenset(json.loads(listed.read_text(encoding="utf-8"))) if listed.exists()
                     else _english_stopwords())
        return cls(*arrays, vocab, int(params["num_docs"]), stopwords)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query` (zeros when no term is known)."""
        out = np.zeros(self._rows, dtype=np.float32)
        [terms] = tokenize([query], self._stopwords)
        for term in terms:  # a repeated term counts again, as in bm25s
            t = self._vocab.get(term)
            if t is not None:
                a, b = int(self._indptr[t]), int(self._indptr[t + 1])
                out[self._indices[a:b]] += self._data[a:b]  # rows are unique within a column
        return out

    def __len__(self) -> int:
        return self._rows
