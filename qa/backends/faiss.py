"""The default backend: FAISS vectors, a bm25s keyword index and a passage table, as files in the generation folder.

Layout of a generation folder (beside manifest.json)::

    vectors.faiss         one vector per passage, row i = line i of passages.jsonl
    vectors.int8.faiss    IVF stores only: the same cells in int8, scanned to pick candidates
    passages.jsonl        passage text and citation, one JSON object a line
    passages.offsets.npy  byte offset of each line, so a passage is read on demand
    bm25/                 keyword index over the same passages (bm25s: .npy + JSON, and
                          impact.rows/weights.npy: each term's postings by weight, for top-k without a full scan)

Everything is memory-mapped on open: instant at any size, shared between
processes serving one index. No pickle anywhere.
"""

from __future__ import annotations

import functools
import json
import mmap
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..chunking import Passage
from ..errors import IndexCorrupt
from ..lexical import Lexical, best, keyword_text
from ..store import STORES, FlatStore, store_for
from .base import SearchIndex, Written

VECTORS = "vectors.faiss"
PASSAGES = "passages.jsonl"
OFFSETS = "passages.offsets.npy"
BM25 = "bm25"


class PassageTable(Sequence[Passage]):
    """The passages of a generation, read from disk on demand.

    Opening a million-passage index must not parse a million JSON lines: the
    file is memory-mapped and line i is parsed when passage i is asked for
    (a question touches a few hundred).
    """

    def __init__(self, path: Path, offsets: Path):
        self.path = path
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._offsets = np.load(offsets, mmap_mode="r", allow_pickle=False)  # 8 MB at a million passages: not read to open
        if self._offsets.ndim != 1 or len(self._offsets) == 0 or self._offsets[-1] != size:
            raise IndexCorrupt(f"{path} does not match its line offsets")
        self._documents: np.ndarray | None = None
        self._names: list[str] = []

    @staticmethod
    def write(path: Path, offsets: Path, passages: Sequence[Passage]) -> None:
        ends = np.zeros(len(passages) + 1, dtype=np.int64)
        with open(path, "wb") as fh:
            for i, p in enumerate(passages):
                line = (json.dumps(p.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
                ends[i + 1] = ends[i] + fh.write(line)
        np.save(offsets, ends, allow_pickle=False)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return Passage.from_dict(json.loads(self._map[self._offsets[i] : self._offsets[i + 1]]))

    def __iter__(self) -> Iterator[Passage]:
        for a, b in zip(self._offsets[:-1].tolist(), self._offsets[1:].tolist()):
            yield Passage.from_dict(json.loads(self._map[a:b]))

    def rows_of(self, documents: Iterable[str]) -> np.ndarray:
        """Rows of the passages of these documents (one full read, then cached)."""
        if self._documents is None:
            ids: dict[str, int] = {}
            column = [ids.setdefault(p.document, len(ids)) for p in self]
            self._documents, self._names = np.array(column, dtype=np.int64), list(ids)
        names = set(documents)
        wanted = [i for i, name in enumerate(self._names) if name in names]
        return np.flatnonzero(np.isin(self._documents, wanted)).astype(np.int64)


class FaissIndex:
    """One generation of the FAISS backend, open for questions (implements SearchIndex)."""

    def __init__(self, store: FlatStore, lexical: Lexical, table: PassageTable):
        self.store, self.lexical, self.table = store, lexical, table
        self.kind = store.kind
        self.dimension = store.dimension
        # A document filter scores every row once per question (its top list, then the fused pool).
        self._scores = functools.lru_cache(maxsize=4)(self.lexical.scores)

    def __len__(self) -> int:
        return len(self.table)

    def passage(self, row: int) -> Passage:
        return self.table[row]

    def passages(self) -> Iterator[Passage]:
        return iter(self.table)

    def dense(self, q: np.ndarray, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if documents is not None:
            rows = self.rows_of(documents)
            return best(rows, self.store.vectors(rows) @ q, depth)
        scores, rows = self.store.search(q[None, :], depth)
        found = rows[0] >= 0
        return rows[0][found].astype(np.int64), scores[0][found]

    def keyword(self, question: str, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if documents is None:
            return self.lexical.top(question, depth)
        scores = self._scores(question)
        rows = self.rows_of(documents)
        rows = rows[scores[rows] > 0]
        return best(rows, scores[rows], depth)

    def keyword_scores(self, question: str, rows: np.ndarray) -> np.ndarray:
        # Only the asked rows' postings are read: at a million passages scoring
        # every row cost more than the rest of the search.
        return self.lexical.scores_of(question, np.asarray(rows, dtype=np.int64))

    def keyword_count(self, question: str, documents: Sequence[str] | None = None) -> int:
        return self.lexical.count(question, None if documents is None else self.rows_of(documents))

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.store.vectors(np.asarray(rows, dtype=np.int64))

    def rows_of(self, documents: Iterable[str]) -> np.ndarray:
        return self.table.rows_of(documents)


class FaissBackend:
    """Writes and opens FAISS generations: exact search below 50,000 passages, IVF cells above."""

    kind = "faiss"

    def write(
        self, folder: Path, passages: Sequence[Passage], vectors: np.ndarray, previous: SearchIndex | None = None
    ) -> Written:
        dimension = vectors.shape[1]
        # An IVF store reuses the previous generation's trained cells.
        store = store_for(dimension, len(vectors), previous.store if isinstance(previous, FaissIndex) else None)
        store.add(vectors)  # one add: an IVF store trains its cells on everything it will hold
        store.save(folder / VECTORS)
        PassageTable.write(folder / PASSAGES, folder / OFFSETS, passages)
        (folder / BM25).mkdir()
        Lexical.write(folder / BM25, [keyword_text(p.title, p.text, p.section) for p in passages])
        files = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file())
        return Written(kind=store.kind, params=store.params(), files=tuple(files))

    def open(self, folder: Path, written: Written) -> FaissIndex:
        if written.kind not in STORES:
            raise IndexCorrupt(f"{folder} uses the unknown vector store {written.kind!r}")
        for name in (VECTORS, PASSAGES):
            if name not in written.files:
                raise IndexCorrupt(f"the manifest in {folder} does not list {name}")
        try:
            store = STORES[written.kind].load(folder / VECTORS)
            table = PassageTable(folder / PASSAGES, folder / OFFSETS)
            lexical = Lexical.load(folder / BM25)
        except IndexCorrupt:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
            raise IndexCorrupt(f"{folder} cannot be loaded ({type(exc).__name__}: {exc})") from None
        if not len(store) == len(table) == len(lexical):
            raise IndexCorrupt(
                f"{folder} holds {len(store)} vectors, {len(table)} passages and {len(lexical)} keyword rows"
            )
        return FaissIndex(store, lexical, table)
