"""The package's exceptions: one base class, a few subclasses named for what went wrong.

The library raises these and never prints or exits; the CLI and the web UI turn
them into one-line messages. Every message is a full sentence naming the path
and the fix.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error this package raises on purpose."""


class EmptyCorpus(QAError):
    """The documents folder is missing or holds no readable text."""


class InvalidArgument(QAError, ValueError):
    """An argument is out of range or of the wrong type (k < 1, a non-text question)."""


class EmptyQuestion(InvalidArgument):
    """The question is empty or only whitespace."""


class IndexNotFound(QAError):
    """No index has been built at the given path."""


class IndexCorrupt(QAError):
    """The index on disk fails its own checks (checksums, counts, format)."""


class ModelMismatch(QAError):
    """The index was built with another model, dimension or chunking."""


class IndexLocked(QAError):
    """Another process is writing the index."""


class ModelNotAvailable(QAError):
    """The embedding model cannot be loaded offline."""


__all__ = [
    "QAError",
    "EmptyCorpus",
    "InvalidArgument",
    "EmptyQuestion",
    "IndexNotFound",
    "IndexCorrupt",
    "ModelMismatch",
    "IndexLocked",
    "ModelNotAvailable",
]
