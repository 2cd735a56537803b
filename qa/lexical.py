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


def keyword_text(title: str, text: str) -> str:
    """What BM25 indexes for a passage: its text, led by its document's title.

    A passage deep in a document still carries the words of its title (on
    SciFact train this alone lifts nDCG@10 from 0.664 to 0.682).
    """
    # A title made of the text's own opening words ("…" at its end) adds nothing but noise.
    if not title or text.startswith(title) or title.endswith("…"):
        return text
    return f"{title}\n{text}"


_english: frozenset[str] | None = None


def _english_stopwords() -> frozenset[str]:
    """bm25s's English list, read from its file: `import bm25s.stopwords` runs
    bm25s's __init__, which imports scipy (~0.2-0.4 s in every new `qa ask`)."""
    global _english
    if _english is None:
        import importlib.util

        spec = importlib.util.find_spec("bm25s")  # locates the package without running it
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("bm25s is not installed")
        path = Path(list(spec.submodule_search_locations)[0]) / "stopwords.py"
        found = importlib.util.spec_from_file_location("qa._bm25s_stopwords", path)
        module = importlib.util.module_from_spec(found)
        found.loader.exec_module(module)  # a file of tuple literals, nothing imported
        _english = frozenset(module.STOPWORDS_EN)
    return _english


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
