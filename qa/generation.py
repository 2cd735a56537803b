"""One index generation on disk: writing it, committing it, opening it checked; the writer lock.

Layout of the index folder::

    CURRENT       name of the generation being served (replaced atomically)
    LOCK          held (flock) by the one process writing
    gen-000007/   one complete generation: manifest.json + the backend's files

Each update writes a whole new generation beside the current one, flushes it,
and then switches `CURRENT` with one `os.replace`. A crash at any moment leaves
the previous generation intact and served.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import manifest as manifest_io
from .backends import Backend, SearchIndex, Written, backend_for
from .chunking import Passage
from .documents import file_sha256
from .errors import IndexCorrupt
from .locking import take
from .manifest import FileEntry, Manifest, StoreInfo
from .sentence_vectors import Pending, SentenceVectors, open_stored

CURRENT = "CURRENT"
LOCK = "LOCK"
PREFIX = "gen-"
_NAME = re.compile(r"^gen-\d{6,}$")
# Generations kept after a switch: the current one and one fallback.
KEEP_GENERATIONS = 2
# Opening hashes every file of a generation up to this total size (well under
# a second) before serving it; a bigger one is checked by size, serves at once,
# and is hashed in a background thread (a few seconds for a million passages).
CHECKSUM_ON_LOAD_BELOW = 256 * 1024 * 1024


@dataclass
class Generation:
    """An open, checked generation: its manifest and its searchable index."""

    path: Path
    manifest: Manifest
    index: SearchIndex
    # Stored sentence vectors (None for a generation written before them: answers then embed sentences).
    sentences: SentenceVectors | None = None
    # Set once every file's checksum has been verified (at once for small
    # generations, in the background for large ones); `damage` says what failed.
    checked: threading.Event = field(default_factory=threading.Event)
    damage: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def is_generation_name(name: str) -> bool:
    return bool(_NAME.match(name))


def number(name: str) -> int:
    return int(name[len(PREFIX) :])


def generations(root: Path) -> list[Path]:
    """Complete generation folders, newest first."""
    if not Path(root).is_dir():
        return []
    found = [p for p in Path(root).iterdir() if p.is_dir() and is_generation_name(p.name)]
    return sorted(found, key=lambda p: number(p.name), reverse=True)


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk (some filesystems refuse folders)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write(
    root: Path,
    manifest: Manifest,
    passages: Sequence[Passage],
    vectors: np.ndarray,
    backend: Backend,
    previous: SearchIndex | None = None,
    sentences: Pending | None = None,
    before_commit: Callable[[], None] | None = None,
) -> str:
    """Write a complete generation, fsync it, and commit it as CURRENT. Returns its name.

    `manifest` is completed here with the generation's name, the backend's
    kind and parameters, and the checksum of every file. `before_commit` may
    raise to stop the commit (a writer that lost its lease), leaving the
    previous generation served and this one a leftover the next build removes.
    """
    root = Path(root)
    name = f"{PREFIX}{max([number(p.name) for p in generations(root)] + [0]) + 1:06d}"
    tmp = root / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    written = backend.write(tmp, passages, vectors, previous)
    # Beside whichever backend wrote the rest: every backend keeps its generation folder.
    extra = sentences.write(tmp) if sentences is not None else ()
    files = {f: FileEntry(file_sha256(tmp / f), (tmp / f).stat().st_size) for f in (*written.files, *extra)}
    manifest = replace(manifest, generation=name, store=StoreInfo(written.kind, dict(written.params)), files=files)
    manifest_io.write(tmp, manifest)
    for f in [*files, manifest_io.DOCUMENTS, manifest_io.FILE]:
        fsync(tmp / f)
    for folder in sorted({(tmp / f).parent for f in written.files}, reverse=True):
        fsync(folder)
    fsync(tmp)
    if before_commit is not None:
        before_commit()
    os.replace(tmp, root / name)
    fsync(root)
    commit(root, name)
    return name


def commit(root: Path, name: str) -> None:
    """Point CURRENT at `name` with one atomic replace."""
    pointer = Path(root) / f".{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(name + "\n", encoding="utf-8")
    fsync(pointer)
    os.replace(pointer, Path(root) / CURRENT)
    fsync(Path(root))


def cleanup(root: Path, keep: str) -> None:
    """Drop leftovers of crashed runs and all but the newest KEEP_GENERATIONS."""
    for p in Path(root).iterdir():
        if p.name.startswith(".") and ".tmp-" in p.name:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    gens = generations(root)
    survivors = [g for g in gens if number(g.name) <= number(keep)][:KEEP_GENERATIONS]
    for g in gens:
        if g not in survivors:
            _release(g)
            shutil.rmtree(g, ignore_errors=True)


def _release(folder: Path) -> None:
    """Drop what a generation keeps outside its folder (a collection on a Milvus server)."""
    try:
        m = manifest_io.read(folder)
        backend = backend_for(m.store.kind, m.store.params)
        drop = getattr(backend, "drop", None)
        if drop is not None and "collection" in m.store.params:
            drop(m.store.params["collection"])
    except Exception:  # already gone or unreachable: the folder goes anyway
        pass


def check_files(path: Path, manifest: Manifest, full: bool = True) -> None:
    """Every file present, with the size (and, if `full`, the checksum) the manifest recorded."""
    for name, expected in manifest.files.items():
        f = path / name
        if not f.is_file():
            raise IndexCorrupt(f"{f} is missing")
        if f.stat().st_size != expected.bytes or (full and file_sha256(f) != expected.sha256):
            raise IndexCorrupt(f"{f} does not match its checksum (truncated or modified)")


def _check_in_background(gen: Generation) -> None:
    """Checksums of a large generation, verified while it already serves."""

    def run() -> None:
        try:
            check_files(gen.path, gen.manifest, full=True)
        except IndexCorrupt as exc:
            gen.damage = str(exc)
        except OSError as exc:  # removed while checking: a newer generation replaced it
            gen.damage = f"{gen.path} could not be checked ({exc})"
        finally:
            gen.checked.set()

    threading.Thread(target=run, name=f"qa-check-{gen.name}", daemon=True).start()


def open_generation(path: Path, full_check: bool | None = None) -> Generation:
    """Open one generation. Checksums are verified before it serves up to
    CHECKSUM_ON_LOAD_BELOW bytes, in a background thread above (sizes first)."""
    manifest = manifest_io.read(path)
    if full_check is None:
        full_check = sum(f.bytes for f in manifest.files.values()) < CHECKSUM_ON_LOAD_BELOW
    check_files(path, manifest, full_check)
    written = Written(manifest.store.kind, dict(manifest.store.params), tuple(manifest.files))
    index = backend_for(manifest.store.kind, manifest.store.params).open(path, written)
    counts = manifest.counts
    if not len(index) == counts.passages == counts.vectors:
        raise IndexCorrupt(f"{path} holds {len(index)} passages; the manifest says {counts.passages}")
    if index.dimension != manifest.model.dimension:
        raise IndexCorrupt(f"{path} holds vectors of dimension {index.dimension}; the manifest says {manifest.model.dimension}")
    sentences = open_stored(path, manifest.files, counts.passages, manifest.model.dimension)
    gen = Generation(path=path, manifest=manifest, index=index, sentences=sentences)
    if full_check:
        gen.checked.set()
    else:
        _check_in_background(gen)
    return gen


class IndexLock:
    """An exclusive flock on index/LOCK; the kernel releases it if the holder dies."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK
        self._fd: int | None = None

    def __enter__(self) -> "IndexLock":
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}"
        self._fd = take(self.path, holder, lambda who: (
            f"The index in {self.path.parent} is being updated by {who}. Wait for it to finish and try again."))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
