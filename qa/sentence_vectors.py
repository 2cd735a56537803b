"""Sentence vectors stored at build time, so answering a question needs no model call beyond the question.

Finding the answering sentence compares the question with every sentence of
the top passages. Embedding those sentences at question time cost ~100-190 ms
per answer (up to 48 sentences through the model); with the vectors stored it
is one small matrix product.

Each sentence is embedded on its own, exactly as the answer code embedded it
at question time (same text, same model), so answers do not change; the
sentences are the passage's own `Passage.sentences` boundaries. Layout beside
the backend's files in a generation folder (so it works with every backend)::

    sentences.i8.npy       (sentences, dimension) int8: each unit vector / its scale, rounded
    sentences.scale.npy    (sentences,) float32: per-row scale (largest component / 127)
    sentences.offsets.npy  (passages + 1,) int64: passage i owns rows offsets[i]:offsets[i+1]

int8 with a per-row scale is a quarter of float32 (384 + 4 bytes a sentence,
~1.9 GB for five million sentences) and moves a cosine by ~0.0005, far below
the gaps the sentence scorer separates. Memory-mapped: opening costs nothing
and a question touches a few pages. An index written before this has none
of these files and answers as before, embedding sentences at question time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .chunking import Passage
from .errors import IndexCorrupt

VECTORS = "sentences.i8.npy"
SCALES = "sentences.scale.npy"
OFFSETS = "sentences.offsets.npy"
FILES = (VECTORS, SCALES, OFFSETS)


def texts(passages: Sequence[Passage]) -> list[str]:
    """Every sentence of `passages` in row order, cut where the answer code cuts them."""
    return [p.text[a:b] for p in passages for a, b, _, _ in p.sentences]


def offsets(passages: Sequence[Passage]) -> np.ndarray:
    counts = np.fromiter((len(p.sentences) for p in passages), dtype=np.int64, count=len(passages))
    return np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)])


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 rows, float32 scales) with vectors ~= rows * scales[:, None]."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0 if len(vectors) else np.zeros(0, np.float32)
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    rows = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return rows, scales


@dataclass(frozen=True)
class Pending:
    """Sentence vectors of a generation about to be written (already quantised)."""

    rows: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, carried: "SentenceVectors | None", keep_rows: np.ndarray,
              passages: Sequence[Passage], fresh: np.ndarray) -> "Pending":
        """Carried passages' rows copied as stored (never quantised twice), then the new passages' vectors."""
        rows, scales = quantise(fresh)
        if carried is not None and len(keep_rows):
            old_rows, old_scales = carried.take(keep_rows)
            rows, scales = np.concatenate([old_rows, rows]), np.concatenate([old_scales, scales])
        return cls(rows, scales, offsets(passages))

    def write(self, folder: Path) -> tuple[str, ...]:
        if not self.offsets[-1] == len(self.rows) == len(self.scales):
            raise ValueError(f"{len(self.rows)} sentence vectors for {self.offsets[-1]} sentences")
        np.save(Path(folder) / VECTORS, np.ascontiguousarray(self.rows), allow_pickle=False)
        np.save(Path(folder) / SCALES, np.ascontiguousarray(self.scales), allow_pickle=False)
        np.save(Path(folder) / OFFSETS, np.ascontiguousarray(self.offsets), allow_pickle=False)
        return FILES


class SentenceVectors:
    """The stored sentence vectors of one generation, memory-mapped."""

    def __init__(self, folder: Path, passages: int, dimension: int):
        try:
            self._rows = np.load(Path(folder) / VECTORS, mmap_mode="r", allow_pickle=False)
            self._scales = np.load(Path(folder) / SCALES, mmap_mode="r", allow_pickle=False)
            # Memory-mapped too: reading and scanning 8 MB of offsets was ~0.1 s of opening at a million passages.
            self._offsets = np.load(Path(folder) / OFFSETS, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"the sentence vectors in {folder} cannot be read ({exc})") from None
        n = len(self._rows)
        # Order is checked per use (`count`, `take`), and by the generation's checksums.
        if (self._rows.ndim != 2 or self._rows.dtype != np.int8 or self._rows.shape[1] != dimension
                or self._scales.shape != (n,) or self._offsets.shape != (passages + 1,)
                or self._offsets.dtype != np.int64 or self._offsets[0] != 0 or self._offsets[-1] != n):
            raise IndexCorrupt(f"the sentence vectors in {folder} do not match its {passages} passages")

    def __len__(self) -> int:
        return len(self._rows)

    def count(self, row: int) -> int:
        """Sentences stored for passage `row` (-1 for damaged offsets: never a passage's count)."""
        a, b = int(self._offsets[row]), int(self._offsets[row + 1])
        return b - a if 0 <= a <= b <= len(self._rows) else -1

    def of(self, row: int) -> np.ndarray:
        """float32 vectors of passage `row`'s sentences, in order."""
        a, b = int(self._offsets[row]), int(self._offsets[row + 1])
        if not 0 <= a <= b <= len(self._rows):
            raise IndexCorrupt(f"the sentence offsets of passage {row} are out of order")
        return self._rows[a:b].astype(np.float32) * self._scales[a:b, None]

    def best_cosines(self, rows: Sequence[int], q: np.ndarray) -> np.ndarray:
        """Per passage row, the best cosine of one of its sentences to the unit vector `q` (0 with none)."""
        rows = np.asarray(rows, dtype=np.int64)
        i8, scales = self.take(rows)
        cos = (i8.astype(np.float32) @ q.astype(np.float32)) * scales
        counts = np.asarray(self._offsets[rows + 1] - self._offsets[rows], dtype=np.int64)
        out = np.zeros(len(rows), np.float32)
        has = counts > 0
        if has.any():
            out[has] = np.maximum.reduceat(cos, (np.cumsum(counts) - counts)[has])
        return out

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stored (int8 rows, scales) of these passages' sentences, concatenated in order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.asarray(self._offsets[rows], dtype=np.int64)
        counts = np.asarray(self._offsets[rows + 1], dtype=np.int64) - starts
        if np.any(counts < 0):
            raise IndexCorrupt("the stored sentence offsets are out of order")
        # Row numbers of every sentence, without a Python loop (a million passages carried by an update).
        at = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
        return np.asarray(self._rows[at]), np.asarray(self._scales[at])


def open_stored(folder: Path, files: Mapping[str, object], passages: int, dimension: int) -> SentenceVectors | None:
    """The generation's sentence vectors, or None when it was written without them (answers then embed sentences)."""
    if not all(f in files for f in FILES):
        return None
    return SentenceVectors(folder, passages, dimension)


def by_text(stored: SentenceVectors, rows: Sequence[int], passages: Sequence[Passage]) -> dict[str, np.ndarray]:
    """Sentence text -> stored vector for these passages (a passage whose count disagrees is left out)."""
    known: dict[str, np.ndarray] = {}
    for row, p in zip(rows, passages):
        if stored.count(row) == len(p.sentences):
            known.update(zip((p.text[a:b] for a, b, _, _ in p.sentences), stored.of(row)))
    return known


def remembering(encode, known: dict[str, np.ndarray] | None = None):
    """`encode` that embeds each distinct text once per question; `known` vectors are never embedded."""
    seen: dict[str, np.ndarray] = dict(known or {})

    def remembered(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encode(missing)))
        return np.stack([seen[t] for t in texts])

    return remembered
