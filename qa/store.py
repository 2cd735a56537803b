"""The vector store behind a small interface, so another backend can replace FAISS."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStore(Protocol):
    """Rows are numbered 0..n-1 in insertion order; row i is passage i."""

    kind: str
    dimension: int

    def __len__(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each of shape (len(queries), k'); k' <= k, rows >= 0."""
        ...

    def vectors(self, rows: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


class FlatStore:
    """Exact inner-product search. On unit vectors inner product equals cosine."""

    kind = "faiss-flat-ip"

    def __init__(self, dimension: int, index=None):
        import faiss

        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexFlatIP(dimension)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k <= 0:
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, self.dimension), np.float32)
        if len(rows) > 64:
            # One bulk copy beats a Python call per row once rows are many.
            return self.all_vectors()[np.asarray(rows, dtype=np.int64)]
        return np.vstack([self._index.reconstruct(int(r)) for r in rows]).astype(np.float32)

    def all_vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dimension), np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "FlatStore":
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)


STORES = {FlatStore.kind: FlatStore}
