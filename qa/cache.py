"""A persistent embedding cache: the same text under the same model is embedded once, ever.

Keyed by (model weights hash, text hash), stored in SQLite beside the index
generations (a table of float32 blobs; no pickle). It survives rebuilds, so
a chunking change, a renamed file or a reverted edit re-embeds only text never
seen before. Bounded in rows; the least recently used rows go first.

A cache must never make an index wrong or stop a build: every row carries a
checksum of its vector (a row that fails it is dropped and embedded again),
and a file SQLite reports as damaged is set aside and started afresh, with a
warning.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

FILE = "embeddings.sqlite"
# About 1.5 GB of 384-dim vectors; far above any corpus this tool targets on one CPU.
MAX_ROWS = 1_000_000
_SCHEMA = 2  # 2: a checksum per row


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _check(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=8).digest()


def _add_checksums(db: sqlite3.Connection) -> None:
    """Rewrite a schema-1 table (no checksum column) with a checksum per row, in one transaction."""
    db.create_function("qa_check", 1, lambda blob: _check(bytes(blob)), deterministic=True)
    db.execute(
        "CREATE TABLE vectors_new (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,"
        " used REAL NOT NULL, checksum BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO vectors_new SELECT model, key, vector, used, qa_check(vector) FROM vectors")
    db.execute("DROP TABLE vectors")
    db.execute("ALTER TABLE vectors_new RENAME TO vectors")


class EmbeddingCache:
    def __init__(self, folder: Path, model_sha256: str, dimension: int, max_rows: int = MAX_ROWS):
        self.path = Path(folder) / FILE
        self.model = model_sha256
        self.dimension = dimension
        self.max_rows = max_rows
        self.dropped = 0  # rows that failed their checksum
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            self._db = self._start_afresh(exc)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            columns = {row[1] for row in db.execute("PRAGMA table_info(vectors)")}
            if columns and "checksum" not in columns:
                _add_checksums(db)  # a cache from before checksums: keep its vectors, they cost hours to remake
            elif version not in (0, _SCHEMA):
                db.execute("DROP TABLE IF EXISTS vectors")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,"
                " used REAL NOT NULL, checksum BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
            )
            db.execute("CREATE INDEX IF NOT EXISTS by_use ON vectors (used)")
            db.execute(f"PRAGMA user_version = {_SCHEMA}")
            (ok,) = db.execute("PRAGMA quick_check").fetchone()
            if ok != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {ok}")
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _start_afresh(self, exc: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(f"{FILE}.damaged-{int(time.time())}")
        for suffix in ("", "-journal", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                os.replace(p, Path(str(aside) + suffix))
        warnings.warn(
            f"The embedding cache {self.path} was damaged ({exc}); it was moved to {aside.name} and a new one "
            "started. Text is embedded again as needed; the index is not affected.",
            stacklevel=3,
        )
        return self._open()

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
        bad: list[bytes] = []
        for i in range(0, len(items), 500):
            batch = items[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector, checksum FROM vectors WHERE model = ? AND key IN ({marks})",
                [self.model, *[k for k, _ in batch]],
            ).fetchall()
            good = []
            for key, blob, checksum in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,) and bytes(checksum) == _check(bytes(blob)) and np.isfinite(vector).all():
                    found[keys[bytes(key)]] = vector
                    good.append(bytes(key))
                else:
                    bad.append(bytes(key))
            self._db.executemany("UPDATE vectors SET used = ? WHERE model = ? AND key = ?", [(now, self.model, k) for k in good])
        if bad:
            self.dropped += len(bad)
            self._db.executemany("DELETE FROM vectors WHERE model = ? AND key = ?", [(self.model, k) for k in bad])
            warnings.warn(f"{len(bad)} cached vectors in {self.path} failed their checksum; they are embedded again.", stacklevel=2)
        self._db.commit()
        return found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        now = time.time()
        rows = []
        for t, v in zip(texts, vectors):
            blob = np.asarray(v, dtype=np.float32).tobytes()
            rows.append((self.model, text_key(t), blob, now, _check(blob)))
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (model, key, vector, used, checksum) VALUES (?, ?, ?, ?, ?)", rows
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
