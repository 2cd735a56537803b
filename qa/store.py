"""FAISS vector stores: exact below 50,000 passages, IVF cells above. Row i is passage i."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class FlatStore:
    """Exact inner-product search. On unit vectors inner product equals cosine."""

    kind = "faiss-flat-ip"

    def __init__(self, dimension: int, index=None):
        import faiss

        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexFlatIP(dimension)
        self._view: np.ndarray | None = None

    def params(self) -> dict:
        return {}

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self._view = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k <= 0:
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def _matrix(self) -> np.ndarray:
        """The stored vectors as a zero-copy (n, d) view into FAISS's memory."""
        import faiss

        if self._view is None:
            n = len(self)
            if n == 0:
                self._view = np.zeros((0, self.dimension), np.float32)
            else:
                self._view = faiss.rev_swig_ptr(self._index.get_xb(), n * self.dimension).reshape(n, self.dimension)
        return self._view

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, self.dimension), np.float32)
        # Copies only the rows asked for: at a million passages a full copy per
        # question would cost more than the search.
        return np.array(self._matrix()[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def all_vectors(self) -> np.ndarray:
        return np.array(self._matrix(), dtype=np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "FlatStore":
        import faiss

        # Memory-mapped, zero-copy: opening is instant at any size and pages
        # are shared with the OS cache (and between processes serving one index).
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        return cls(index.d, index)


class IvfStore(FlatStore):
    """Approximate search for large corpora: vectors grouped into `nlist` cells
    (k-means), a question scans only the `nprobe` nearest cells.

    Chosen over HNSW by measurement (`python -m bench`, real SciFact
    embeddings): on 2 cores an HNSW graph of a million vectors takes tens of
    minutes to build and must be rebuilt on every update, IVF a minute, and an
    update reuses the trained cells. Vectors are stored exactly in the cells,
    so fused scores are exact; only the candidate list is approximate. A
    question scans an int8 copy of the same cells (`scan_path`: a quarter of
    the bytes; at a million passages 6.2 -> 3.9 ms p50 at 96 cells, recall@10
    against exact unchanged once its candidates are rescored exactly).
    """

    kind = "faiss-ivf-flat-ip"
    # Cells scanned per question. Measured recall@10 against exact search on
    # real-derived vectors (bench.scale indexes, 2026-11-23): 96 gives 0.993 at
    # 100k passages (512 cells) and 0.990 at 1M (2048 cells) for 22% less search
    # CPU than 128 (0.994 / 0.993); 80 gives 0.984 / 0.986, 64 0.976 / 0.982.
    NPROBE = 96
    # k-means trains on this many points per cell (faiss warns below 39).
    TRAIN_PER_CELL = 48
    # Candidates the int8 scan hands to exact rescoring, per row asked for (at least SCAN_DEPTH).
    SCAN_WIDEN, SCAN_DEPTH = 2, 100

    def __init__(self, dimension: int, index=None, nlist: int = 16, quantizer=None, scan=None):
        import faiss

        self.dimension = dimension
        if index is None:
            quantizer = faiss.clone_index(quantizer) if quantizer is not None else faiss.IndexFlatIP(dimension)
            # Trained already when the quantizer comes from the previous generation.
            index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
            self._quantizer = quantizer  # the index borrows it: keep it alive
        self._index = index
        # The same cells with each vector in int8 (a quarter of the bytes): the scan
        # is memory-bound, so a question reads 4x less; candidates are then rescored
        # from the exact vectors above. None for an index written before it was kept.
        self._scan = scan
        self._view = None

    @staticmethod
    def cells_for(passages: int) -> int:
        """About 2*sqrt(n) cells, rounded to a power of two so that small
        updates keep the same cell count (and can reuse the trained cells)."""
        nlist = int(2 ** round(np.log2(max(1.0, 2 * np.sqrt(max(passages, 1))))))
        while nlist > 1 and nlist * 39 > passages:  # enough points to train every cell
            nlist //= 2
        return nlist

    @property
    def nlist(self) -> int:
        return int(self._index.nlist)

    def params(self) -> dict:
        return {"nlist": self.nlist, "nprobe": min(self.NPROBE, self.nlist)}

    def add(self, vectors: np.ndarray) -> None:
        if not len(vectors):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self._index.is_trained:
            rng = np.random.default_rng(0)  # same corpus, same cells
            size = min(len(vectors), self.TRAIN_PER_CELL * self.nlist)
            sample = vectors[np.sort(rng.choice(len(vectors), size, replace=False))] if size < len(vectors) else vectors
            self._index.train(sample)
        self._index.add(vectors)
        self._index.make_direct_map()
        # It must hold the same rows: built from these when they are all, else from every row at save.
        self._scan = self._int8(vectors) if len(self) == len(vectors) else None

    def _int8(self, vectors: np.ndarray):
        """An int8 copy of `vectors` (all rows) in the same cells: the same quantizer, so the same cells are scanned."""
        import faiss

        quantizer = faiss.clone_index(faiss.downcast_index(self._index.quantizer))
        scan = faiss.IndexIVFScalarQuantizer(quantizer, self.dimension, self.nlist,
                                             faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        scan.by_residual = False  # codes of the vectors themselves, ranges trained on a sample
        rng = np.random.default_rng(0)
        size = min(len(vectors), self.TRAIN_PER_CELL * self.nlist)
        scan.train(vectors[np.sort(rng.choice(len(vectors), size, replace=False))] if size < len(vectors) else vectors)
        scan.add(vectors)
        return scan

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nprobe = min(self.NPROBE, self.nlist)
        self._index.nprobe = nprobe
        if self._scan is None or min(k, len(self)) <= 0:
            return super().search(queries, k)
        k = min(k, len(self))
        self._scan.nprobe = nprobe
        wide = min(len(self), max(self.SCAN_WIDEN * k, self.SCAN_DEPTH))
        _, found = self._scan.search(np.ascontiguousarray(queries, dtype=np.float32), wide)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        rows = np.full((len(queries), k), -1, np.int64)
        for i, (q, cand) in enumerate(zip(queries, found)):
            cand = cand[cand >= 0]
            exact = self.vectors(cand) @ np.asarray(q, dtype=np.float32)
            order = np.lexsort((cand, -exact))[:k]  # exact scores; ties by row, as faiss orders them
            scores[i, : len(order)], rows[i, : len(order)] = exact[order], cand[order]
        return scores, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return np.zeros((0, self.dimension), np.float32)
        return self._index.reconstruct_batch(rows)

    def all_vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dimension), np.float32)

    def quantizer(self):
        """The trained cells, for the next generation to reuse."""
        import faiss

        return faiss.downcast_index(self._index.quantizer)

    def save(self, path: Path) -> None:
        import faiss

        super().save(path)
        if self._scan is None:
            self._scan = self._int8(self.all_vectors())
        faiss.write_index(self._scan, str(scan_path(path)))

    @classmethod
    def load(cls, path: Path) -> "IvfStore":
        import faiss

        # The cells' lists memory-mapped read-only (OnDiskInvertedLists): opening reads
        # only the header, the quantizer and the direct map (0.03 s at a million
        # passages, against 0.23 s for IO_FLAG_MMAP_IFC, which walks every list),
        # the same search results bit for bit, and pages shared with the OS cache.
        index = _mapped(path)
        if index.direct_map.type == faiss.DirectMap.NoMap:
            index.make_direct_map()
        scan = None
        if scan_path(path).exists():  # written since the int8 scan was kept; older ones scan the exact cells
            scan = _mapped(scan_path(path))
            if scan.ntotal != index.ntotal or scan.nlist != index.nlist:
                raise ValueError(f"{scan_path(path).name} does not match {Path(path).name}")
        return cls(index.d, index, scan=scan)


def _mapped(path: Path):
    """An IVF index with its cells' lists memory-mapped, already the concrete type."""
    import faiss

    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    lists = faiss.downcast_InvertedLists(index.invlists)
    if isinstance(lists, faiss.OnDiskInvertedLists):
        # Its default prefetch starts up to 32 threads per search to touch the
        # lists: ~1.5x slower p50 on 2 cores with the file already cached.
        lists.prefetch_nthread = 0
    return index


def scan_path(path: Path) -> Path:
    """The int8 copy of an IVF store's cells, beside its exact vectors."""
    return Path(path).with_name(Path(path).stem + ".int8.faiss")


# Below this many passages an exact scan answers in under ~10 ms on one core
# (it reads ~8 GB/s: 50,000 x 384 floats is 77 MB); above it the IVF cells.
EXACT_BELOW = 50_000

STORES = {FlatStore.kind: FlatStore, IvfStore.kind: IvfStore}


def store_for(dimension: int, passages: int, previous: FlatStore | None = None) -> FlatStore:
    """The right index for the corpus size: exact below EXACT_BELOW, IVF above.

    An IVF store reuses the previous generation's trained cells when the cell
    count is unchanged, so an update does not re-run k-means.
    """
    if passages < EXACT_BELOW:
        return FlatStore(dimension)
    nlist = IvfStore.cells_for(passages)
    if isinstance(previous, IvfStore) and previous.nlist == nlist and previous.dimension == dimension:
        return IvfStore(dimension, nlist=nlist, quantizer=previous.quantizer())
    return IvfStore(dimension, nlist=nlist)
