"""Backends that hold a generation's vectors, keyword index and passages (see `base`)."""

from __future__ import annotations

from .base import Backend, SearchIndex, Written


def backend_for(kind: str) -> Backend:
    """The backend that reads a generation whose manifest names `kind`."""
    from ..errors import IndexCorrupt

    if kind.startswith("faiss"):
        from .faiss import FaissBackend

        return FaissBackend()
    raise IndexCorrupt(f"the index was written by the unknown backend {kind!r}; rebuild it with: qa index --full")


__all__ = ["Backend", "SearchIndex", "Written", "backend_for"]
