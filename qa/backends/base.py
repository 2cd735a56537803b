"""The searchable index behind one interface, so a second engine can replace FAISS + bm25s + files.

A backend writes one generation (passages, their vectors and their keyword
index) and opens it again for questions. Everything above it (fusion, answer
sentences, "not found", citations) is shared, so both backends answer alike.
Rows are numbered 0..n-1 in the order passages were written: row i is passage i.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

import numpy as np

from ..chunking import Passage


# A URI with one of these names a server (many processes, many machines);
# anything else is a local file (Milvus Lite: one process at a time).
SERVER_SCHEMES = ("http://", "https://", "tcp://", "grpc://", "unix:")


@dataclass(frozen=True)
class Written:
    """What a backend wrote: its kind and parameters (kept in the manifest) and
    the files it left in the generation folder (checksummed by the caller)."""

    kind: str
    params: dict = field(default_factory=dict)
    files: tuple[str, ...] = ()


class SearchIndex(Protocol):
    """One committed generation, open for questions."""

    kind: str
    dimension: int

    def __len__(self) -> int: ...

    def passage(self, row: int) -> Passage: ...

    def passages(self) -> Iterator[Passage]:
        """Every passage in row order (verify, migration, updates)."""
        ...

    def dense(self, q: np.ndarray, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine) of the `depth` nearest passages, best first; only
        passages of `documents` when given. May return fewer (approximate search)."""
        ...

    def keyword(self, question: str, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 score) of the best keyword matches, best first, scores > 0 only."""
        ...

    def keyword_scores(self, question: str, rows: np.ndarray) -> np.ndarray:
        """BM25 score of each of `rows` for `question` (0 where no term matches)."""
        ...

    def keyword_count(self, question: str, documents: Sequence[str] | None = None) -> int:
        """How many passages (of `documents` when given) `keyword` would match at unlimited depth."""
        ...

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored unit vectors of `rows`, shape (len(rows), dimension)."""
        ...

    def rows_of(self, documents: Iterable[str]) -> np.ndarray:
        """Rows of every passage of these documents."""
        ...


class Backend(Protocol):
    """Writes and opens generations. `write` must leave nothing visible to
    readers until the caller commits (the generation folder is renamed into
    place, or the engine's alias switched, by the caller's commit step)."""

    kind: str

    def write(
        self, folder: Path, passages: Sequence[Passage], vectors: np.ndarray, previous: SearchIndex | None = None
    ) -> Written: ...

    def open(self, folder: Path, written: Written) -> SearchIndex: ...
