"""One frozen `Settings` object: CLI flags and UI controls map onto its fields."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Collection
from pathlib import Path

from .errors import InvalidArgument

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# The most passages one question may ask for: beyond this an answer is a dump
# of the index, and a client asking for 10**9 would make the server work for minutes.
MAX_K = 50
BACKENDS = ("faiss", "milvus")


@dataclass(frozen=True)
class Settings:
    """Where things live and how text becomes vectors.

    `model`, `chunk_tokens` and `overlap_sentences` shape the vectors, so they
    are written into the index manifest; when an index is loaded the manifest
    wins, and a conflicting explicit value is an error.
    """

    documents: Path = Path("documents")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    # Passages are packed with whole sentences up to this many model tokens
    # (never more than the model's own limit, so nothing is truncated).
    chunk_tokens: int = 128
    # Whole sentences repeated from the previous passage when a paragraph is split.
    overlap_sentences: int = 1
    k: int = 5
    # Measured on 2 cores with real ~110-token passages: 16 embeds ~7% faster
    # than 32 and ~25% faster than 64 (less padding, activations stay in cache).
    batch_size: int = 16
    # Where the searchable index lives: "faiss" (files in `index`, the
    # default) or "milvus" (a Milvus Lite file or a Milvus server at `uri`; the
    # token, if any, comes from the QA_MILVUS_TOKEN environment variable).
    backend: str = "faiss"
    uri: str | None = None
    # Where bulk embedding runs: "auto" (every GPU torch sees, else Apple's
    # MPS, else the CPU), "cpu", "cuda", "cuda:1", "mps". Questions are always
    # encoded on the CPU (the ONNX path).
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", Path(self.documents))
        object.__setattr__(self, "index", Path(self.index))
        if self.chunk_tokens < 16:
            raise InvalidArgument("chunk_tokens must be at least 16")
        if self.overlap_sentences < 0:
            raise InvalidArgument("overlap_sentences must be 0 or more")
        check_k(self.k)
        if self.batch_size < 1:
            raise InvalidArgument("batch_size must be at least 1")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise InvalidArgument(f"device must be auto, cpu, cuda, cuda:N or mps, not {self.device!r}")
        if self.backend not in BACKENDS:
            raise InvalidArgument(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")


def check_k(k: object) -> int:
    """`k` as an int, at most MAX_K (larger is clamped), or InvalidArgument.

    One rule for the CLI, the Python API and the web API.
    """
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidArgument(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    if k < 1:
        raise InvalidArgument(f"k must be at least 1; got {k}")
    return min(k, MAX_K)


def check_documents(documents: object, known: Collection[str]) -> list[str] | None:
    """`documents` (names of documents to search, None for all) as a list, each one the index knows: a
    mistyped name is an error, not an empty answer."""
    if documents is None:
        return None
    if isinstance(documents, str):
        raise InvalidArgument("documents must be a list of document names, not one string.")
    documents = list(documents)
    unknown = [d for d in documents if not isinstance(d, str) or d not in known]
    if unknown:
        shown = ", ".join(repr(d) for d in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        # "bees.txt" for "notes/bees.txt": the same file name in a subfolder, else the closest name
        first = str(unknown[0])
        names = list(known)  # read only on this error path; a fuzzy match only where it takes no time
        near = [k for k in names if k.rsplit("/", 1)[-1] == first] or (
            difflib.get_close_matches(first, names, 1) if len(names) <= 20_000 else [])
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise InvalidArgument(f"Not in the index: {shown}.{hint} A document is named by its path under the documents "
                              "folder (e.g. notes/report.pdf); `qa info` lists them.")
    return documents
