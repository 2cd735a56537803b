"""One writer per index, for the Milvus backend.

Milvus Lite (a local .db folder): an flock on a sibling `<db>.lock` file. The
kernel arbitrates, so it is exact, and releases it when the holder dies.

A Milvus server shared by several machines has no flock and no compare-and-set,
so the lock is a lease: one row per lock name in a small `qa_lock` collection
holding the holder's token, description and expiry. Acquiring is check, write,
wait `settle_s`, re-check. Honest limits:
  * Two writers both get the lock only if one of them took longer than
    `settle_s` between its check and its write (a stall, a GC pause, a slow
    network) while the other checked, wrote and re-checked inside that gap.
  * A holder stalled past `ttl_s` without renewing loses the lease to the next
    writer; the renewal thread notices and `assert_held()` then raises, so
    check it just before committing the pointer.
  * Expiry compares wall clocks of different machines: clock skew shortens
    or lengthens the lease by the skew.
  * Release is query-then-delete: if our lease had already expired and was
    taken over in between, the new holder's row is deleted.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

from ..errors import IndexLocked
from ..locking import take

LOCK_COLLECTION = "qa_lock"


def describe_self() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}"


def dead_here(holder: str) -> bool:
    """The holder (as `describe_self` wrote it) is a process on this machine that no longer runs.

    A writer killed with -9 cannot delete its lease row; waiting out the lease
    would block the next update for `ttl_s`. On the same machine the kernel
    can say the holder is gone, so the lease is taken over at once.
    """
    m = re.match(r"pid (\d+) on (\S+) since ", holder)
    if m is None or m.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def _quote(s: str) -> str:
    """A Milvus filter string literal (the parser knows C-style escapes only)."""
    for a, b in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        s = s.replace(a, b)
    return f'"{s}"'


class MilvusLock:
    """`with MilvusLock(client, "index", ttl_s=60):` -- raises IndexLocked naming the holder."""

    def __init__(self, client, name: str, ttl_s: float = 60.0, *, lock_file: Path | None = None, settle_s: float = 0.5):
        self.client, self.name, self.ttl_s, self.settle_s = client, name, float(ttl_s), settle_s
        self.lock_file = Path(lock_file) if lock_file is not None else None
        self.token = uuid.uuid4().hex
        self.holder = describe_self()
        self.lost = False
        self._fd: int | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # Lite: flock ---------------------------------------------------------------

    def _flock(self) -> None:
        self._fd = take(self.lock_file, self.holder, lambda who: (
            f"The Milvus index {self.lock_file.with_suffix('')} is being updated by {who}. "
            "Wait for it to finish and try again."))

    # Server: lease row ---------------------------------------------------------

    def _ensure_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        if self.client.has_collection(LOCK_COLLECTION):
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("token", DataType.VARCHAR, max_length=64)
        schema.add_field("holder", DataType.VARCHAR, max_length=1024)
        schema.add_field("expires", DataType.DOUBLE)
        # Milvus requires a vector field in every collection; this one is unused.
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
        index = self.client.prepare_index_params()
        index.add_index(field_name="v", index_type="FLAT", metric_type="L2")
        try:
            self.client.create_collection(LOCK_COLLECTION, schema=schema, index_params=index, consistency_level="Strong")
        except Exception:
            if not self.client.has_collection(LOCK_COLLECTION):  # else another writer created it first
                raise
        self.client.load_collection(LOCK_COLLECTION)

    def _row(self) -> dict | None:
        rows = self.client.query(
            LOCK_COLLECTION,
            filter=f"name == {_quote(self.name)}",
            output_fields=["token", "holder", "expires"],
            consistency_level="Strong",
        )
        return dict(rows[0]) if rows else None

    def _write(self) -> None:
        row = {"name": self.name, "token": self.token, "holder": self.holder, "expires": time.time() + self.ttl_s, "v": [0.0, 0.0]}
        self.client.upsert(LOCK_COLLECTION, [row])

    def _refuse(self, row: dict) -> IndexLocked:
        left = max(0.0, row["expires"] - time.time())
        return IndexLocked(
            f"The Milvus index lock {self.name!r} is held by {row['holder']} (lease ends in {left:.0f} s). "
            "Wait for that writer to finish and try again."
        )

    def _lease(self) -> None:
        self._ensure_collection()
        row = self._row()
        if row is not None and row["token"] != self.token and row["expires"] > time.time() and not dead_here(row["holder"]):
            raise self._refuse(row)
        self._write()
        # A racer that read the free lock at the same moment writes within this wait;
        # the primary key keeps one row, so the re-check sees who wrote last.
        time.sleep(self.settle_s)
        row = self._row()
        if row is None or row["token"] != self.token:
            raise self._refuse(row or {"holder": "another writer", "expires": time.time()})
        self._renewer = threading.Thread(target=self._renew, name=f"qa-lock-{self.name}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                row = self._row()
                if row is None or row["token"] != self.token:
                    self.lost = True
                    return
                self._write()
            except Exception:  # a transient server error: try again next period, the lease may still hold
                continue

    def assert_held(self) -> None:
        """Raise IndexLocked if the lease was lost (call just before committing)."""
        if self.lock_file is None and (self.lost or (row := self._row()) is None or row["token"] != self.token):
            raise IndexLocked(f"The Milvus index lock {self.name!r} was taken over by another writer; this build was not committed.")

    # Context manager -----------------------------------------------------------

    def __enter__(self) -> "MilvusLock":
        self._flock() if self.lock_file is not None else self._lease()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        row = self._row()
        if row is not None and row["token"] == self.token:
            self.client.delete(LOCK_COLLECTION, filter=f"name == {_quote(self.name)}")
