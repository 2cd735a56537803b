"""Reading one Milvus generation: the SearchIndex over a collection (dense, BM25, passages by row)."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..chunking import Passage
from ..lexical import K1
from .milvus_lock import _quote

KIND = "milvus"
# Rows per query call: servers cap a query's result window at 16,384.
FETCH = 4096


def _passage(row: dict) -> Passage:
    return Passage.from_dict(row)


class MilvusIndex:
    kind = KIND

    def __init__(self, backend, collection: str, rows: int, dimension: int, approximate: bool):
        self.backend, self.collection, self.dimension = backend, collection, dimension
        self._n, self._approximate = rows, approximate
        self.passage = lru_cache(maxsize=4096)(self._passage)

    def __len__(self) -> int:
        return self._n

    def warm(self) -> None:
        try:
            self._search("warm", "sparse", 1, "", {"metric_type": "BM25"})
        except Exception:  # closed meanwhile, or a server hiccup: the first question builds it instead
            pass

    def _get(self, rows: np.ndarray, field: str) -> dict[int, object]:
        out: dict[int, object] = {}
        for s in range(0, len(rows), FETCH):
            ids = [int(r) for r in rows[s : s + FETCH]]
            for hit in self.backend.client.get(self.collection, ids=ids, output_fields=["row", field]):
                out[hit["row"]] = hit[field]
        return out

    def _passage(self, row: int) -> Passage:
        return _passage(self._get(np.array([row]), "passage")[row])

    def passages_at(self, rows: Sequence[int]) -> list[Passage]:
        """Many passages in one call (one round trip instead of one per row)."""
        got = self._get(np.asarray(rows, dtype=np.int64), "passage")
        return [_passage(got[int(r)]) for r in rows]

    def passages(self) -> Iterator[Passage]:
        for s in range(0, self._n, FETCH):
            hits = self.backend.client.query(self.collection, filter=f"row >= {s} and row < {s + FETCH}", output_fields=["row", "passage"])
            for hit in sorted(hits, key=lambda h: h["row"]):
                yield _passage(hit["passage"])

    def _search(self, data, field: str, depth: int, expr: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
        limit = min(depth, self._n, 16_384)
        if limit <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        [hits] = self.backend.client.search(
            self.collection, data=[data], anns_field=field, limit=limit, filter=expr, output_fields=["row"], search_params=params
        )
        rows = np.array([h["row"] for h in hits], dtype=np.int64)
        return rows, np.array([h["distance"] for h in hits], dtype=np.float32)

    def dense(self, q: np.ndarray, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if documents is not None and not len(documents):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        params = {"metric_type": "IP", "params": {"ef": max(64, depth)} if self._approximate else {}}
        q = np.asarray(q, dtype=np.float32).reshape(-1).tolist()
        return self._search(q, "dense", depth, _documents(documents), params)

    def _bm25(self, question: str, depth: int, expr: str) -> tuple[np.ndarray, np.ndarray]:
        [text] = self.backend.keyword_input([question])
        if not text.strip():  # only stopwords: nothing to score (a server would reject empty text)
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, d = self._search(text, "sparse", depth, expr, {"metric_type": "BM25"})
        # Lite reports -score, a server +score. Milvus multiplies each term by
        # (k1 + 1), bm25s does not: dividing gives the FAISS backend's scale.
        scores = np.abs(d) / (1.0 + K1)
        keep = scores > 0
        return rows[keep], scores[keep]

    def keyword(self, question: str, depth: int, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if documents is not None and not len(documents):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self._bm25(question, depth, _documents(documents))

    def keyword_scores(self, question: str, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float32)
        for s in range(0, len(rows), 16_384):
            part = rows[s : s + 16_384]
            got, scores = self._bm25(question, len(part), f"row in [{', '.join(str(int(r)) for r in part)}]")
            where = dict(zip(got.tolist(), scores.tolist()))
            out[s : s + len(part)] = [where.get(int(r), 0.0) for r in part]
        return out

    def keyword_count(self, question: str, documents: Sequence[str] | None = None) -> int:
        # Milvus keeps no term statistics to read: the matches are counted (a search's window caps them at 16,384).
        return len(self.keyword(question, self._n, documents)[0])

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        got = self._get(rows, "dense")
        if len(got) != len(set(rows.tolist())):
            raise IndexError(f"rows outside 0..{self._n - 1} in {self.collection}")
        return np.array([got[int(r)] for r in rows], dtype=np.float32).reshape(len(rows), self.dimension)

    def rows_of(self, documents: Iterable[str]) -> np.ndarray:
        documents = list(documents)
        if not documents:
            return np.zeros(0, np.int64)
        rows: list[int] = []
        # Server queries return at most 16,384 rows: page by row ranges.
        for s in range(0, self._n, 16_384):
            expr = f"{_documents(documents)} and row >= {s} and row < {s + 16_384}"
            rows += [h["row"] for h in self.backend.client.query(self.collection, filter=expr, output_fields=["row"])]
        return np.array(sorted(rows), dtype=np.int64)


def _documents(documents: Sequence[str] | None) -> str:
    return "" if documents is None else f"document in [{', '.join(_quote(d) for d in documents)}]"
