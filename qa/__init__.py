"""Offline extractive question answering over a folder of documents.

    import qa
    qa.build_index(qa.Settings(documents="documents", index="index"))
    answer = qa.Searcher("index").ask("When was the trafficking law adopted?", k=3)
    print(answer.answer.sentence, answer.answer.citation)

Heavy libraries (torch, sentence-transformers, faiss) load only when needed.
"""

from __future__ import annotations

from ._version import __version__
from .answer import Answer, AnswerSentence, Citation, Hit
from .build import BuildReport, build_index
from .documents import Skipped
from . import errors
from .errors import *  # noqa: F403 - the documented error hierarchy, listed once in errors.__all__
from .span import Span
from .search import DocumentInfo, IndexInfo, Searcher
from .settings import DEFAULT_MODEL, MAX_K, Settings
from .verify import VerifyReport, verify


def ask(question: str, k: int = 5, index: str = "index") -> Answer:
    """One-off question against the index at `index` (opens it each call)."""
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
