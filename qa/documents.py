"""Reading the documents folder: which files, how they decode, what each is called."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import EmptyCorpus

SUPPORTED_SUFFIXES = (".txt", ".md")
# A text this big is almost certainly a dump, not a document; reading it would
# stall a build for minutes with no benefit to anyone asking questions.
MAX_BYTES = 20 * 1024 * 1024
_TITLE_CHARS = 160


@dataclass(frozen=True)
class Document:
    """One readable text file. `id` is its path relative to the documents folder."""

    id: str
    path: Path
    title: str
    text: str
    sha256: str
    encoding: str


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why, in words a user can act on."""

    document: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A candidate file found by `scan`, with the hash of its bytes."""

    id: str
    path: Path
    sha256: str
    size: int


def scan(folder: Path) -> list[SourceFile]:
    """Every supported file under `folder`, recursively, sorted by id.

    Hidden files and folders (a leading dot) are ignored: editors and version
    control keep their own files there.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EmptyCorpus(
            f"The documents folder {folder} does not exist. Create it and put .txt or .md files in it."
        )
    found: list[SourceFile] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            path = Path(root) / name
            if not path.is_file():
                continue
            found.append(
                SourceFile(
                    id=path.relative_to(folder).as_posix(),
                    path=path,
                    sha256=file_sha256(path),
                    size=path.stat().st_size,
                )
            )
    return sorted(found, key=lambda f: f.id)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(source: SourceFile) -> Document | Skipped:
    """Decode one file, or say why it cannot be used."""
    if source.size > MAX_BYTES:
        return Skipped(
            source.id,
            f"too large ({source.size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB)",
        )
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return Skipped(source.id, f"cannot be read ({exc.strerror or exc})")
    decoded = decode(data)
    if isinstance(decoded, str):
        return Skipped(source.id, decoded)
    text, encoding = decoded
    if not text.strip():
        return Skipped(source.id, "empty (no text)")
    return Document(
        id=source.id,
        path=source.path,
        title=title_of(text, fallback=source.path.stem),
        text=text,
        sha256=source.sha256,
        encoding=encoding,
    )


def decode(data: bytes) -> tuple[str, str] | str:
    """(text, encoding) or a reason string when the bytes are not usable text."""
    if not data.strip():
        return "empty (no text)"
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _normalise(data.decode(codec)), codec
            except UnicodeDecodeError:
                return f"not valid {codec} despite its byte-order mark"
    if b"\x00" in data[:8192]:
        return "binary file (contains NUL bytes), not text"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _control_ratio(text) > 0.01:
            return "binary file (control characters), not text"
        return _normalise(text), "utf-8"
    # Only accept a guessed encoding when the detector is confident; a wrong
    # guess would index mojibake that no question can ever match.
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos > 0.1:
        return "not UTF-8, and its encoding could not be detected reliably"
    text = str(best)
    if _control_ratio(text) > 0.01:
        return "binary file (control characters), not text"
    return _normalise(text), best.encoding


def _normalise(text: str) -> str:
    # Offsets and line numbers are counted on this string, so only changes that
    # keep line numbering intact are allowed: lone CRs become LFs (old Mac files).
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(text)


def title_of(text: str, fallback: str) -> str:
    """First non-empty line, without Markdown heading marks, trimmed."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            line = " ".join(line.split())
            return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"
    return fallback
