"""Backends that hold a generation's vectors, keyword index and passages (see `base`)."""

from __future__ import annotations

import os
from typing import Any, Mapping

from .base import Backend, SearchIndex, Written


def backend_for(kind: str, params: Mapping[str, Any] | None = None) -> Backend:
    """The backend that reads a generation whose manifest names `kind` (with its parameters)."""
    from ..errors import IndexCorrupt

    if kind.startswith("faiss"):
        from .faiss import FaissBackend

        return FaissBackend()
    if kind == "milvus":
        return milvus_backend((params or {}).get("uri"))
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


__all__ = ["Backend", "SearchIndex", "Written", "backend_for", "backend_of", "milvus_backend"]
