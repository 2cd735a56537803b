"""Readers: one small function per file type, found by suffix in a registry.

A reader takes the file's path and bytes and returns `Extracted` (text plus
pages and sections) or raises `Unreadable` with a reason. `register` adds one;
the build, `qa verify` and the web page's uploads all go through `read_file`,
so a format is added in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Callable, NamedTuple, Sequence

from .base import Extracted, Unreadable

Reader = Callable[[Path, bytes], Extracted]

# A text this big is almost certainly a dump, not a document; reading it would
# stall a build for minutes with no benefit to anyone asking questions.
TEXT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Registration:
    suffixes: tuple[str, ...]
    read: Reader
    max_bytes: int
    label: str


_REGISTRY: dict[str, Registration] = {}


def register(suffixes: str | tuple[str, ...], read: Reader, *, max_bytes: int = TEXT_MAX_BYTES, label: str = "") -> None:
    """Use `read` for files ending in any of `suffixes` (case-insensitive, with the dot)."""
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    suffixes = tuple(s.lower() for s in suffixes)
    reg = Registration(suffixes, read, max_bytes, label or suffixes[0].lstrip(".").upper())
    for s in suffixes:
        if not s.startswith("."):
            raise ValueError(f"a suffix starts with a dot: {s!r}")
        _REGISTRY[s] = reg


def unregister(suffixes: str | tuple[str, ...]) -> None:
    for s in (suffixes,) if isinstance(suffixes, str) else suffixes:
        _REGISTRY.pop(s.lower(), None)


def registration(name: str) -> Registration | None:
    """The reader for a file name, by its (longest matching) suffix, or None."""
    lower = name.lower()
    best = None
    for suffix, reg in _REGISTRY.items():
        if lower.endswith(suffix) and (best is None or len(suffix) > len(best[0])):
            best = (suffix, reg)
    return best[1] if best else None


def supported_suffixes() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def suffix_list() -> str:
    """The supported suffixes in words: ".markdown, .md or .txt"."""
    *rest, last = supported_suffixes()
    return f"{', '.join(rest)} or {last}" if rest else last


def size_problem(name: str, size: int) -> str | None:
    """Why a file of this size is refused, or None. One rule for scans and uploads."""
    reg = registration(name)
    if reg is None:
        return f"not a supported type (only {suffix_list()} files are read)"
    if size > reg.max_bytes:
        limit = reg.max_bytes / 1024 / 1024
        return f"too large ({size / 1024 / 1024:.1f} MiB; the limit for {reg.label} files is {limit:.0f} MiB)"
    return None


def read_file(name: str, path: Path, data: bytes) -> Extracted:
    """Extract one file's text with the reader its name calls for.

    Raises `Unreadable` with a reason; any other failure inside a reader
    (a library's own exception on a corrupt file) is turned into one too, so
    a bad file never stops a build.
    """
    problem = size_problem(name, len(data))
    if problem:
        raise Unreadable(problem)
    reg = registration(name)
    assert reg is not None
    try:
        return reg.read(Path(path), data)
    except Unreadable:
        raise
    except MemoryError:
        raise Unreadable("too large to read in memory") from None
    except RecursionError:
        raise Unreadable("nested too deeply to read") from None
    except Exception as exc:  # a reader library's own error on a damaged file
        raise Unreadable(f"cannot be read as {reg.label} ({type(exc).__name__}: {str(exc)[:200]})") from None


class Read(NamedTuple):
    """A document file as read_path gives it: the reader's result, its lines, and the line each page
    starts on (1-based; empty for formats without pages), as citations count them."""

    extracted: Extracted
    lines: tuple[str, ...]
    pages: tuple[int, ...]
    # lines that start a paragraph with no blank line before them (Extracted.breaks), 1-based
    paragraphs: frozenset[int] = frozenset()


def read_path(path: Path) -> Read:
    """A document file read once per version of it (its time and size) among the last four read: the
    page's answer cards and source panel come back to the same files, and a PDF takes ~1 s to read.
    Raises Unreadable or OSError; only a regular file is read (a named pipe put in a document's place
    would never end a read)."""
    stat = path.stat()
    if not S_ISREG(stat.st_mode):
        raise Unreadable("not a regular file")
    return _read_once(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_once(path: Path, mtime_ns: int, size: int) -> Read:
    extracted = read_file(path.name, path, path.read_bytes())
    return Read(extracted, tuple(extracted.text.split("\n")), page_lines(extracted.text, extracted.pages),
                frozenset(page_lines(extracted.text, extracted.breaks)))


def page_lines(text: str, pages: Sequence[int]) -> tuple[int, ...]:
    """The 1-based line of `text` on which each page starts, from their character offsets."""
    lines, line, last = [], 1, 0
    for offset in pages:
        line += text.count("\n", last, offset)
        lines.append(line)
        last = offset
    return tuple(lines)


def _builtin() -> None:
    # Each module imports its parsing library only when a file is read.
    from . import docx, epub, html, pdf, text

    register((".txt",), text.read_text, label="text")
    register((".md", ".markdown"), text.read_markdown, label="Markdown")
    register((".pdf",), pdf.read_pdf, max_bytes=pdf.PDF_MAX_BYTES, label="PDF")
    register((".docx",), docx.read_docx, max_bytes=docx.DOCX_MAX_BYTES, label="Word")
    register((".html", ".htm"), html.read_html, label="HTML")
    register((".epub",), epub.read_epub, max_bytes=epub.EPUB_MAX_BYTES, label="EPUB")


_builtin()

__all__ = [
    "Extracted",
    "Unreadable",
    "Reader",
    "read_path",
    "page_lines",
    "Read",
    "register",
    "unregister",
    "registration",
    "supported_suffixes",
    "suffix_list",
    "size_problem",
    "read_file",
]
