"""Keyword search (BM25): exact names, numbers and codes that meaning search misses.

The index is built with bm25s and saved as its arrays (.npy) and vocabulary
(JSON), never pickle. Questions are scored straight from those arrays: the
saved matrix holds each passage's BM25 weight per term, so a question's
scores are a sum over the columns of its terms, touching only the passages
that contain them. Answering never imports bm25s (and scipy behind it), which
would cost ~0.4 s in every new process.

At a million passages a question's terms hold ~300,000 postings, and adding
them all up was the largest cost of a search. Each term's postings are also
kept in impact order (highest weight first, IMPACT_ROWS/IMPACT_WEIGHTS), so a
question's best matches come from reading only the head of each long list
(POSTINGS in all); the rows found are then scored exactly. Short lists are
read whole, and while everything fits the result is exact. An index written
before the impact files were kept reads every list whole, as it always did.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
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
# Each term's postings again, highest weight first (same column bounds as the CSC arrays): rows
# (int32) and weights (float32). Stored in order, not as a permutation: a question then reads
# the head of a list in one sweep (gathering through a permutation cost ~10 ms at 1M passages).
IMPACT_ROWS, IMPACT_WEIGHTS = "impact.rows.npy", "impact.weights.npy"
# Postings a question's keyword search reads at most (its long terms are cut to fit), and
# how many of the rows found, per row asked for, are then scored exactly. At 1M derived
# passages (questions' terms hold ~320k postings at p50) 100k keeps 99% of the exact
# hybrid top 5 and saves ~4 ms of CPU a question; SciFact cut to the same share (3,000 of
# ~9,000) moved hybrid nDCG@10 by +0.001 (/tmp/scale scripts in the scale branch's report).
POSTINGS = 100_000
RESCORED = 4


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
                 rows: int, stopwords: frozenset[str], impact: tuple[np.ndarray, np.ndarray] | None = None):
        self._data, self._indices, self._indptr = data, indices, indptr
        self._vocab, self._rows, self._stopwords = vocab, rows, stopwords
        self._impact = impact
        self._local = threading.local()

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
        data, indptr = (np.load(Path(folder) / f"{n}.csc.index.npy", allow_pickle=False) for n in ("data", "indptr"))
        order = impact_order(data, indptr)
        np.save(Path(folder) / IMPACT_WEIGHTS, data[order], allow_pickle=False)
        del data
        indices = np.load(Path(folder) / "indices.csc.index.npy", allow_pickle=False)
        np.save(Path(folder) / IMPACT_ROWS, indices[order], allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") != "lucene":  # other variants add a non-occurrence term
            raise ValueError(f"BM25 variant {params.get('method')!r} is not supported")
        # Plain views of the maps: a np.memmap slice costs ~40 us, and a question takes dozens.
        arrays = [np.asarray(np.load(folder / f"{n}.csc.index.npy", mmap_mode="r", allow_pickle=False))
                  for n in ("data", "indices", "indptr")]
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        listed = folder / STOPWORDS_FILE
        # Indexes written before the list was saved were tokenised with bm25s's
        # English list: the same words, so they keep answering after an upgrade.
        stopwords = (frozenset(json.loads(listed.read_text(encoding="utf-8"))) if listed.exists()
                     else _english_stopwords())
        # An index written before impact order was kept scores every matching row instead.
        impact = None
        if (folder / IMPACT_ROWS).exists():
            impact = tuple(np.asarray(np.load(folder / n, mmap_mode="r", allow_pickle=False)) for n in (IMPACT_ROWS, IMPACT_WEIGHTS))
            if any(a.shape != arrays[0].shape for a in impact):
                raise ValueError("the impact-ordered postings do not match the index")
        return cls(*arrays, vocab, int(params["num_docs"]), stopwords, impact)

    def _columns(self, query: str) -> list[tuple[int, int]]:
        """(start, end) of each known term's postings, in question order (a repeated term again)."""
        [terms] = tokenize([query], self._stopwords)
        ids = [self._vocab.get(t) for t in terms]
        return [(int(self._indptr[t]), int(self._indptr[t + 1])) for t in ids if t is not None]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query` (zeros when no term is known)."""
        out = np.zeros(self._rows, dtype=np.float32)
        for a, b in self._columns(query):  # a repeated term counts again, as in bm25s
            out[self._indices[a:b]] += self._data[a:b]  # rows are unique within a column
        return out

    def scores_of(self, query: str, rows: np.ndarray) -> np.ndarray:
        """BM25 score of each of `rows`, the same float32 sums as `scores`, reading only their postings."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")  # ascending keys: each search starts where the last ended
        ranked = rows[order]
        out = np.zeros(len(rows), dtype=np.float32)
        for a, b in self._columns(query):
            column = self._indices[a:b]  # rows ascending within a column
            at = np.minimum(np.searchsorted(column, ranked), len(column) - 1)
            hit = column[at] == ranked
            out[order[hit]] += self._data[a:b][at[hit]]
        return out

    def count(self, query: str, rows: np.ndarray | None = None) -> int:
        """How many rows (of `rows` when given) hold any term of `query`: its keyword matches, unscored."""
        columns = list(dict.fromkeys(self._columns(query)))
        if rows is None and len(columns) == 1:
            return columns[0][1] - columns[0][0]
        if not columns:
            return 0
        marks = self._scratch("marks", bool)
        try:
            for a, b in columns:
                marks[self._indices[a:b]] = True
            return int(np.count_nonzero(marks if rows is None else marks[rows]))
        finally:
            for a, b in columns:
                marks[self._indices[a:b]] = False  # all clear again for the next question

    def top(self, query: str, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """The best (rows, scores) for `query`, at most `depth`, best first, scores > 0; ties keep row order.

        Exact while the question's terms have at most POSTINGS postings in all;
        beyond, each long term is read only down to the same depth of its
        impact order (its highest weights), the rows found are ranked by the
        weights read, and the best RESCORED * depth of them are scored exactly.
        """
        columns = self._columns(query)
        if depth <= 0 or not columns:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        lengths = [b - a for a, b in columns]
        heads = lengths if self._impact is None else _shares(lengths, POSTINGS)
        acc = self._scratch()
        seen = []
        try:
            for (a, b), n in zip(columns, heads):  # a repeated term counts again, as in bm25s
                rows, weights = (self._indices, self._data) if n == b - a else self._impact
                seen.append(rows[a : a + n])
                acc[seen[-1]] += weights[a : a + n]  # rows are unique within a column
            every = np.concatenate(seen)
            scores = acc[every]
        finally:
            for part in seen:
                acc[part] = 0  # the scratch is all zeros again for the next question
        exact = heads == lengths
        wanted = depth if exact else RESCORED * depth
        # A row is in at most len(columns) lists: the best wanted * len(columns) entries hold the best
        # `wanted` rows. Never scanning all rows keeps a question's cost to the postings read.
        if wanted * len(columns) < len(every):
            keep = np.argpartition(-scores, wanted * len(columns) - 1)[: wanted * len(columns)]
            every, scores = every[keep], scores[keep]
        order = np.argsort(every, kind="stable")
        every, scores = every[order], scores[order]
        first = np.ones(len(every), dtype=bool)
        first[1:] = every[1:] != every[:-1]
        rows, scores = best(every[first].astype(np.int64), scores[first], wanted)
        return (rows, scores) if exact else best(rows, self.scores_of(query, rows), depth)

    def _scratch(self, name: str = "acc", dtype=np.float32) -> np.ndarray:
        """One value per row, all zeros, kept per thread (callers clear what they set): allocating 4 MB
        per question at a million rows cost more (in page faults) than the scoring itself."""
        array = getattr(self._local, name, None)
        if array is None:
            array = np.zeros(self._rows, dtype=dtype)
            setattr(self._local, name, array)
        return array

    def __len__(self) -> int:
        return self._rows


def best(rows: np.ndarray, scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The `depth` best (rows, scores), best first; ties keep row order."""
    if depth < len(scores):
        keep = np.argpartition(-scores, depth - 1)[:depth]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


def _shares(lengths: list[int], budget: int) -> list[int]:
    """Postings read per column: all of the short ones, an equal share of what is left for the long ones."""
    if sum(lengths) <= budget:
        return list(lengths)
    left, cap = budget, 0
    for i, n in enumerate(sorted(lengths)):
        cap = left // (len(lengths) - i)
        if n > cap:
            break
        left -= n
    return [min(n, max(cap, 1)) for n in lengths]


def impact_order(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Positions of the postings, each term's column from highest weight to lowest (ties by row)."""
    order = np.arange(len(data), dtype=np.int64)
    lengths = np.diff(indptr)
    for t in np.flatnonzero(lengths > 1):  # a one-posting column is in order already
        a, b = int(indptr[t]), int(indptr[t + 1])
        order[a:b] = a + np.argsort(-data[a:b], kind="stable")
    return order
