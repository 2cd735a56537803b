"""A persistent embedding cache: the same text under the same model is embedded once, ever.

Keyed by (model weights hash, text hash), stored in SQLite beside the index
generations (a table of float32 blobs; no pickle). It survives rebuilds, so
a chunking change, a renamed file or a reverted edit re-embeds only text never
seen before. Bounded in rows; the least recently used rows go first.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

FILE = "embeddings.sqlite"
# About 1.5 GB of 384-dim vectors; far above any corpus this tool targets on one CPU.
MAX_ROWS = 1_000_000


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    def __init__(self, folder: Path, model_sha256: str, dimension: int, max_rows: int = MAX_ROWS):
        self.path = Path(folder) / FILE
        self.model = model_sha256
        self.dimension = dimension
        self.max_rows = max_rows
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,"
            " used REAL NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS by_use ON vectors (used)")
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        keys = {text_key(t): t for t in texts}
        items = list(keys.items())
        now = time.time()
        for i in range(0, len(items), 500):
            batch = items[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                [self.model, *[k for k, _ in batch]],
            ).fetchall()
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[keys[bytes(key)]] = vector
            self._db.executemany(
                "UPDATE vectors SET used = ? WHERE model = ? AND key = ?", [(now, self.model, bytes(k)) for k, _ in rows]
            )
        self._db.commit()
        return found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        now = time.time()
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (model, key, vector, used) VALUES (?, ?, ?, ?)",
            [(self.model, text_key(t), np.asarray(v, dtype=np.float32).tobytes(), now) for t, v in zip(texts, vectors)],
        )
        self._db.commit()
        self._trim()

    def _trim(self) -> None:
        (count,) = self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()
        if count > self.max_rows:
            self._db.execute(
                "DELETE FROM vectors WHERE (model, key) IN (SELECT model, key FROM vectors ORDER BY used LIMIT ?)",
                (count - self.max_rows,),
            )
            self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]


def embed_with_cache(
    cache: EmbeddingCache, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, int]:
    """Vectors for `texts` (row per text) and how many distinct texts were newly embedded."""
    distinct = list(dict.fromkeys(texts))
    known = cache.get(distinct)
    missing = [t for t in distinct if t not in known]
    if missing:
        fresh = encode(missing)
        cache.put(missing, fresh)
        known.update(zip(missing, fresh))
    if not texts:
        return np.zeros((0, cache.dimension), dtype=np.float32), 0
    return np.vstack([known[t] for t in texts]).astype(np.float32), len(missing)


def clear(folder: Path) -> bool:
    """Delete the cache file; True if there was one."""
    path = Path(folder) / FILE
    existed = path.exists()
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return existed
