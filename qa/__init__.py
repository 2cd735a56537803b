"""Offline extractive question answering over a folder of documents.

    import qa
    qa.build_index(qa.Settings(documents="documents", index="index"))
    answer = qa.Searcher("index").ask("When was the trafficking law adopted?", k=3)
    print(answer.answer.sentence, answer.answer.citation)

Heavy libraries (torch, sentence-transformers, faiss) load only when needed.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .documents import Skipped
from .errors import (
    EmptyCorpus,
    EmptyQuestion,
    IndexCorrupt,
    IndexLocked,
    IndexNotFound,
    ModelMismatch,
    ModelNotAvailable,
    QAError,
)
from .index import BuildReport, VerifyReport, build_index, verify
from .search import Answer, AnswerSentence, Citation, Hit, Searcher
from .settings import DEFAULT_MODEL, Settings


def ask(question: str, k: int = 5, index: str = "index") -> Answer:
    """One-off question against the index at `index` (opens it each call)."""
    return Searcher(index).ask(question, k=k)


__all__ = [
    "__version__",
    "DEFAULT_MODEL",
    "Settings",
    "build_index",
    "BuildReport",
    "verify",
    "VerifyReport",
    "Skipped",
    "Searcher",
    "ask",
    "Answer",
    "AnswerSentence",
    "Hit",
    "Citation",
    "QAError",
    "EmptyCorpus",
    "EmptyQuestion",
    "IndexNotFound",
    "IndexCorrupt",
    "ModelMismatch",
    "IndexLocked",
    "ModelNotAvailable",
]
