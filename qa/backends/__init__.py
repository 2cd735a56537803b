"""Backends that hold a generation's vectors, keyword index and passages (see `base`)."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, ContextManager, Iterator, Mapping

from .base import SERVER_SCHEMES, Backend, SearchIndex, Written

_readers: dict[str, Backend] = {}
_readers_lock = threading.Lock()


def backend_for(kind: str, params: Mapping[str, Any] | None = None) -> Backend:
    """The backend that reads a generation whose manifest names `kind` (with its parameters)."""
    from ..errors import IndexCorrupt

    if kind.startswith("faiss"):
        from .faiss import FaissBackend

        return FaissBackend()
    if kind == "milvus":
        uri = (params or {}).get("uri")
        if uri and uri.startswith(SERVER_SCHEMES):
            # One client per server for every generation this process reads: a
            # page reloading on each update would otherwise leave a connection
            # open per generation (old indexes may still be answering, so none is closed).
            with _readers_lock:
                if uri not in _readers:
                    _readers[uri] = milvus_backend(uri)
                return _readers[uri]
        return milvus_backend(uri)
    raise IndexCorrupt(f"the index was written by the unknown backend {kind!r}; rebuild it with: qa index --full")


def milvus_backend(uri: str | None) -> Backend:
    """Milvus at `uri`: a server URL, a Milvus Lite file, or (None) a Lite database in each generation folder."""
    from ..errors import QAError

    try:
        from .milvus import MilvusBackend
        from .milvus_lite import IN_GENERATION, MilvusLiteGenerations
    except ImportError as exc:
        raise QAError(f"The Milvus backend needs pymilvus and milvus-lite ({exc}). Install them with: pip install 'qa-docs[milvus]'") from None
    if uri is None or uri == IN_GENERATION:
        return MilvusLiteGenerations()
    # A server's token is read from the environment, never from a flag kept in shell history.
    return MilvusBackend(uri, token=os.environ.get("QA_MILVUS_TOKEN") or None)


def backend_of(settings) -> Backend:
    """The backend a build with these Settings writes to."""
    if settings.backend == "milvus":
        return milvus_backend(settings.uri)
    from .faiss import FaissBackend

    return FaissBackend()


def writer_lease(settings, root: Path) -> ContextManager:
    """Held by a build beside the index folder's flock: on a Milvus server, the engine's lease row too.

    Builders on several machines may share one index folder over a network
    file system, where flock is not to be trusted; the lease in the engine
    itself still lets one of them write at a time. Elsewhere the flock is exact.
    """
    uri = settings.uri or ""
    if settings.backend != "milvus" or not uri.startswith(SERVER_SCHEMES):
        return nullcontext(None)
    return _lease(uri, root)


@contextmanager
def _lease(uri: str, root: Path) -> Iterator[Any]:
    from .milvus import namespace_of

    backend = milvus_backend(uri)
    try:
        with backend.lock(f"index_{namespace_of(Path(root).resolve())}") as held:
            yield held
    finally:
        backend.close()


__all__ = ["Backend", "SearchIndex", "Written", "backend_for", "backend_of", "milvus_backend", "writer_lease"]
