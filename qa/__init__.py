"""Offline extractive question answering over a folder of documents.

    import qa
    qa.build_index(qa.Settings(documents="documents", index="index"))
    answer = qa.Searcher("index").ask("When was the trafficking law adopted?", k=3)
    print(answer.answer.sentence, answer.answer.citation)

Heavy libraries (torch, sentence-transformers, faiss) load only when needed,
and so do the modules behind the public names: `qa ask` in a new process
never imports the build (the embedding cache, the ONNX export, the planner).
"""

from __future__ import annotations

import importlib

from ._version import __version__
from . import errors
from .errors import *  # noqa: F403 - the documented error hierarchy, listed once in errors.__all__
from .settings import DEFAULT_MODEL, MAX_K, Settings
# Eager: `import qa.verify` (the module) would otherwise shadow the function of the same name.
from .verify import VerifyReport, verify

# Public name -> the module that defines it, imported on first use (PEP 562).
_LAZY = {
    "Answer": "answer", "AnswerSentence": "answer", "Citation": "answer", "Hit": "answer",
    "BuildReport": "build", "build_index": "build",
    "Skipped": "documents",
    "Span": "span",
    "DocumentInfo": "search", "IndexInfo": "search", "Searcher": "search",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def ask(question: str, k: int = 5, index: str = "index") -> "Answer":
    """One-off question against the index at `index` (opens it each call)."""
    from .search import Searcher

    return Searcher(index).ask(question, k=k)


__all__ = [
    "__version__",
    "DEFAULT_MODEL",
    "MAX_K",
    "Settings",
    "build_index",
    "BuildReport",
    "verify",
    "VerifyReport",
    "Skipped",
    "Searcher",
    "IndexInfo",
    "DocumentInfo",
    "ask",
    "Answer",
    "AnswerSentence",
    "Span",
    "Hit",
    "Citation",
    *errors.__all__,
]
