"""The documents folder: which files, read by which reader, and what each is called.

The folder is a boundary: a symbolic link is followed only when it resolves
inside the folder, special files (FIFOs, sockets, devices) are never opened,
and walking is iterative with a depth bound, so no folder can pull in
/etc/passwd, hang a build, or overflow the stack.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmptyCorpus
from .readers import Unreadable, read_file, registration, size_problem, suffix_list
from .text import counted

_TITLE_CHARS = 160
# Deeper than any real folder tree; deeper ones are skipped with a reason.
MAX_DEPTH = 4096


@dataclass(frozen=True)
class Document:
    """One readable file. `id` is its path relative to the documents folder.

    `text` is what its reader extracted; `pages`, `sections` and `skip` locate
    pages, headings and left-out spans in it (see `qa.readers.Extracted`).
    """

    id: str
    path: Path | None
    title: str
    text: str
    sha256: str
    encoding: str
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    skip: tuple[tuple[int, int], ...] = ()
    breaks: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    # Per page: None for a text layer, else the OCR engine's mean confidence (0..100).
    ocr: tuple[float | None, ...] = ()


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


@dataclass(frozen=True)
class Scan:
    """What `scan` found: files to read, and entries refused with a reason."""

    files: list[SourceFile] = field(default_factory=list)
    refused: list[Skipped] = field(default_factory=list)
    other: Counter = field(default_factory=Counter)  # files of other types, by suffix

    def others(self) -> str:
        """"3 .rtf files, 1 .png file": the files of types no reader takes."""
        most = ", ".join(counted(n, f"{s} file") for s, n in self.other.most_common(5))
        return most + (", ..." if len(self.other) > 5 else "")


def scan(folder: Path) -> Scan:
    """Every file of a supported type under `folder`, recursively, sorted by id.

    Hidden files and folders (a leading dot) are ignored: editors and version
    control keep their own files there. Files of other types are counted by
    suffix in `other` (not read); links leaving the folder, link loops, special files and
    over-deep folders are refused with a reason.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EmptyCorpus(
            f"The documents folder {folder} does not exist. Create it and put {suffix_list()} files in it."
        )
    root = folder.resolve()
    out = Scan()
    top = os.stat(root)
    seen_dirs = {(top.st_dev, top.st_ino)}
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack:
        here, depth = stack.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            out.refused.append(Skipped(_rel(folder, here), f"folder cannot be read ({exc.strerror or exc})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            rel = _rel(folder, path)
            if not _utf8(rel):
                # Linux allows any bytes in a name; one that is not UTF-8 cannot be cited, stored or shown.
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                out.refused.append(Skipped(shown, "the file name is not valid UTF-8 (rename the file to read it)"))
                continue
            is_link = entry.is_symlink()
            if is_link and not _inside(root, path):
                try:
                    followed = entry.is_dir() or registration(entry.name) is not None
                except OSError:  # a loop of links: is_dir itself fails with ELOOP
                    followed = True
                if followed:
                    out.refused.append(Skipped(rel, _outside_reason(path)))
                continue
            try:
                info = path.stat()  # follows links, which now point inside
            except OSError as exc:
                if registration(entry.name):
                    out.refused.append(Skipped(rel, f"cannot be read ({exc.strerror or exc}; a broken link?)"))
                continue
            if stat.S_ISDIR(info.st_mode):
                real = (info.st_dev, info.st_ino)  # not path.resolve(): that costs O(depth) per folder
                if real in seen_dirs:
                    out.refused.append(Skipped(rel, "a folder already walked (a link loop or a second link to it)"))
                elif depth + 1 > MAX_DEPTH:
                    out.refused.append(Skipped(rel, f"nested more than {MAX_DEPTH} folders deep (not read)"))
                else:
                    seen_dirs.add(real)
                    stack.append((path, depth + 1))
                continue
            if registration(entry.name) is None:
                out.other[path.suffix.lower() or "(no suffix)"] += 1
                continue
            if not stat.S_ISREG(info.st_mode):
                out.refused.append(Skipped(rel, "not a regular file (a FIFO, socket or device), never opened"))
                continue
            problem = size_problem(entry.name, info.st_size)
            if problem:  # decided from the size alone: a huge (or sparse) file is never read to be hashed
                out.refused.append(Skipped(rel, problem))
                continue
            try:
                digest = file_sha256(path)
            except OSError as exc:
                out.refused.append(Skipped(rel, f"cannot be read ({exc.strerror or exc})"))
                continue
            out.files.append(SourceFile(id=rel, path=path, sha256=digest, size=info.st_size))
    out.files.sort(key=lambda f: f.id)
    out.refused.sort(key=lambda s: s.document)
    return out


def _rel(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix() if path != folder else "."


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _outside_reason(path: Path) -> str:
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "a link loop (not followed)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a link loop (not followed)"
        return "a broken link (its target does not exist)"
    return "a link to a place outside the documents folder (not followed)"


def _inside(root: Path, path: Path) -> bool:
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return False
    return real == root or root in real.parents


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(source: SourceFile) -> Document | Skipped:
    """Extract one file's text with its reader, or say why it cannot be used."""
    problem = size_problem(source.id, source.size)
    if problem:
        return Skipped(source.id, problem)
    try:
        data = source.path.read_bytes()
        got = read_file(source.id, source.path, data)
    except OSError as exc:
        return Skipped(source.id, f"cannot be read ({exc.strerror or exc})")
    except Unreadable as exc:
        return Skipped(source.id, str(exc))
    if not got.text.strip():
        return Skipped(source.id, "empty (no text)")
    return Document(
        id=source.id,
        path=source.path,
        title=got.title or title_of(got.text, source.path.stem, got.skip),
        text=got.text,
        sha256=source.sha256,
        encoding=got.encoding,
        pages=got.pages,
        sections=got.sections,
        skip=got.skip,
        breaks=got.breaks,
        notes=got.notes,
        ocr=got.ocr,
    )


def title_of(text: str, name: str, skip: tuple[tuple[int, int], ...] = ()) -> str:
    """A title a person can read, for a file whose format carries none.

    The first line when it stands alone as a heading (short, followed by a
    blank line); else the file name, cleaned; and when the name is only
    numbers and hashes, the text's opening words. Never a hard-wrapped
    fragment of the first sentence, never a running header left out of the text.
    """
    lines = text.split("\n")
    offset = 0
    for i, line in enumerate(lines):
        start, offset = offset, offset + len(line) + 1
        if not line.strip() or any(a <= start < b for a, b in skip):
            continue
        heading = " ".join(line.strip().lstrip("#").split())
        alone = i + 1 == len(lines) or not lines[i + 1].strip() or line.lstrip().startswith("#")
        if heading and alone and len(heading) <= 120 and not heading.endswith((",", ";", ":")):
            return heading
        break
    cleaned = readable_name(name)
    if cleaned:
        return cleaned
    opening = " ".join(text.split())
    if len(opening) <= _TITLE_CHARS // 2:
        return opening or name
    return opening[: _TITLE_CHARS // 2].rsplit(" ", 1)[0] + "…"


_HASHLIKE = re.compile(r"^(?:\d+|[0-9a-f]{6,}|v?\d+(?:\.\d+)*)$", re.I)


def readable_name(stem: str) -> str:
    """"annual_report-2023" → "Annual report 2023"; "" when nothing but numbers and hashes is left."""
    words = [w for w in re.split(r"[\s_\-.]+", stem) if w]
    if not any(re.search(r"[^\W\d_]{2,}", w) and not _HASHLIKE.match(w) for w in words):
        return ""
    out = " ".join(words)
    return out[0].upper() + out[1:] if out.islower() else out
