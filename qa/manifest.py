"""The manifest of one index generation: a frozen, typed record with a format version and its own checksum.

Nothing outside this module reads a manifest by string key. `read` checks the
format version and the checksum before anything else trusts the contents.

The document list lives beside manifest.json in `documents.sqlite` (format 3):
parsing it as JSON took ~0.6 s of every open at 230,000 documents, and a
question needs only the few documents it cites. The file is listed in the
manifest's `files` with its checksum like every other file of the generation,
and read lazily through `DocumentTable`. Format 2 (the list inline) still
opens; `qa index` rewrites it as format 3 without embedding anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from .errors import IndexCorrupt

# 2: typed manifest with its own checksum; passages carry their section; paged documents list their pages.
# 3: the document list in documents.sqlite (listed and checksummed in `files`), read on demand.
FORMAT_VERSION = 3
# Formats this version opens; an older one is rewritten by the next `qa index` (nothing re-embedded).
READABLE = (2, 3)
FILE = "manifest.json"
# What each passage vector embeds. "text": the passage alone (indexes built
# before it was recorded); "title+heading+text": led by its document's title
# and its section's heading, as BM25 indexes it. A different recipe means
# `qa index` embeds every passage again once, never two recipes in one index.
PASSAGE_TEXT = "title+heading+text"
DOCUMENTS = "documents.sqlite"


@dataclass(frozen=True)
class ModelIdentity:
    """What the vectors of an index depend on."""

    name: str
    sha256: str
    dimension: int
    max_tokens: int


@dataclass(frozen=True)
class Chunking:
    chunk_tokens: int
    overlap_sentences: int
    cleaner_version: int
    # How passages are cut (qa.chunking.CHUNKER_VERSION); absent in a manifest
    # written before it was recorded, which means 1: cut without lead-in sentences.
    chunker_version: int = 1


@dataclass(frozen=True)
class StoreInfo:
    """Which backend holds the generation, and its parameters (IVF cells, a Milvus collection)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentEntry:
    sha256: str
    title: str
    encoding: str
    passages: int
    # For paged formats: the 1-based line (of the extracted text) on which each page starts.
    pages: tuple[int, ...] = ()
    # Per page: None for a text layer, else the OCR mean confidence (0..100).
    ocr: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class SkippedEntry:
    document: str
    reason: str
    sha256: str


@dataclass(frozen=True)
class Counts:
    documents: int
    passages: int
    vectors: int


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    generation: str
    created: str
    model: ModelIdentity
    chunking: Chunking
    store: StoreInfo
    documents: Mapping[str, DocumentEntry]
    skipped: tuple[SkippedEntry, ...]
    counts: Counts
    versions: Mapping[str, str]
    files: Mapping[str, FileEntry] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    passage_text: str = PASSAGE_TEXT

    def with_files(self, files: Mapping[str, FileEntry]) -> "Manifest":
        return replace(self, files=dict(files))

    def to_dict(self) -> dict:
        """What manifest.json holds: everything but the document list (that is documents.sqlite)."""
        d = {f: asdict(getattr(self, f)) for f in ("model", "chunking", "counts")}
        d.update(generation=self.generation, created=self.created, versions=dict(self.versions),
                 store={"kind": self.store.kind, "params": dict(self.store.params)},
                 skipped=[asdict(s) for s in self.skipped], format_version=self.format_version,
                 passage_text=self.passage_text,
                 files={k: asdict(v) for k, v in self.files.items()})
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], documents: Mapping[str, DocumentEntry] | None = None) -> "Manifest":
        """From manifest.json's contents; `documents` for format 3, which keeps them in their own file."""
        return cls(
            generation=str(d["generation"]),
            created=str(d["created"]),
            model=ModelIdentity(**d["model"]),
            chunking=Chunking(**d["chunking"]),
            store=StoreInfo(str(d["store"]["kind"]), dict(d["store"].get("params") or {})),
            documents=documents if documents is not None else {k: _entry(**v) for k, v in d["documents"].items()},
            skipped=tuple(SkippedEntry(**s) for s in d["skipped"]),
            counts=Counts(**d["counts"]),
            versions=dict(d["versions"]),
            files={k: FileEntry(**v) for k, v in d.get("files", {}).items()},
            format_version=int(d["format_version"]),
            passage_text=str(d.get("passage_text", "text")),  # absent: built before the recipe was recorded
        )


def _entry(sha256: str, title: str, encoding: str, passages: int, pages=(), ocr=()) -> DocumentEntry:
    return DocumentEntry(str(sha256), str(title), str(encoding), int(passages), tuple(pages or ()), tuple(ocr or ()))


class DocumentTable(Mapping[str, DocumentEntry]):
    """The document list of a format-3 generation, read from documents.sqlite on demand.

    Opening costs one connection; a lookup is one indexed query (~20 us), so
    a question citing five documents reads five rows, not 230,000. The file
    is never written after the generation is committed, so it is opened
    read-only and immutable (no locks, no journal); one connection serves all
    threads, one query at a time.
    """

    _COLUMNS = "sha256, title, encoding, passages, pages, ocr"

    def __init__(self, path: Path):
        import sqlite3  # here, not at import: `qa --help` needs no database

        self.path = Path(path)
        self._error = sqlite3.Error
        uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._db.execute("SELECT id, sha256, title, encoding, passages, pages, ocr FROM documents LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise IndexCorrupt(f"{self.path} cannot be read ({exc})") from None
        self._lock = threading.Lock()

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except self._error as exc:
            raise IndexCorrupt(f"{self.path} cannot be read ({exc})") from None

    @staticmethod
    def _entry(row: tuple) -> DocumentEntry:
        sha, title, encoding, passages, pages, ocr = row
        return _entry(sha, title, encoding, passages, json.loads(pages) if pages else (), json.loads(ocr) if ocr else ())

    def __getitem__(self, key: str) -> DocumentEntry:
        found = self._rows(f"SELECT {self._COLUMNS} FROM documents WHERE id = ?", (key,)) if isinstance(key, str) else []
        if not found:
            raise KeyError(key)
        return self._entry(found[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._rows("SELECT 1 FROM documents WHERE id = ?", (key,)))

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._rows("SELECT id FROM documents ORDER BY id")])

    def __len__(self) -> int:
        return int(self._rows("SELECT count(*) FROM documents")[0][0])

    def items(self):  # type: ignore[override]
        """All (id, entry) pairs, sorted by id, in one query (Mapping's default asks once per key)."""
        return [(r[0], self._entry(r[1:])) for r in self._rows(f"SELECT id, {self._COLUMNS} FROM documents ORDER BY id")]

    def values(self):  # type: ignore[override]
        return [e for _, e in self.items()]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


def write_documents(path: Path, documents: Mapping[str, DocumentEntry]) -> None:
    """Write the document list to `path` (through a temporary file: `documents` may be read from `path`)."""
    import sqlite3

    rows = [(k, e.sha256, e.title, e.encoding, e.passages, json.dumps(list(e.pages)) if e.pages else "",
             json.dumps(list(e.ocr)) if e.ocr else "") for k, e in sorted(documents.items())]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # a fresh file, replaced into place only once complete
        db.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, title TEXT NOT NULL, "
                   "encoding TEXT NOT NULL, passages INTEGER NOT NULL, pages TEXT NOT NULL, ocr TEXT NOT NULL) WITHOUT ROWID")
        db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


def canonical(d: Mapping[str, Any]) -> bytes:
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write(folder: Path, manifest: Manifest) -> Path:
    """Write `folder/documents.sqlite`, then `folder/manifest.json` listing it with its checksum,
    with a checksum over everything else in it (not fsynced here)."""
    docs = Path(folder) / DOCUMENTS
    write_documents(docs, manifest.documents)
    digest = hashlib.sha256(docs.read_bytes()).hexdigest()
    files = dict(manifest.files, **{DOCUMENTS: FileEntry(digest, docs.stat().st_size)})
    d = replace(manifest, files=files, format_version=FORMAT_VERSION).to_dict()
    d["checksum"] = hashlib.sha256(canonical(d)).hexdigest()
    path = Path(folder) / FILE
    path.write_text(json.dumps(d, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def read(folder: Path) -> Manifest:
    """The manifest of the generation in `folder`, checked; IndexCorrupt says what is wrong."""
    path = Path(folder) / FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} cannot be read ({exc})") from None
    if not isinstance(d, dict):
        raise IndexCorrupt(f"{path} is not a JSON object")
    version = d.get("format_version")
    if version not in READABLE:
        raise IndexCorrupt(
            f"{Path(folder)} has index format {version!r}; this version of qa reads formats "
            f"{', '.join(map(str, READABLE))}. Rebuild it with: qa index --full"
        )
    recorded = d.pop("checksum", None)
    if recorded != hashlib.sha256(canonical(d)).hexdigest():
        raise IndexCorrupt(f"{path} does not match its own checksum (modified or damaged)")
    try:
        if version >= 3 and DOCUMENTS not in d["files"]:
            raise KeyError(f"files.{DOCUMENTS}")
        # The table's own checksum is checked with the generation's other files (generation.check_files).
        return Manifest.from_dict(d, DocumentTable(Path(folder) / DOCUMENTS) if version >= 3 else None)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexCorrupt(f"{path} is not a valid manifest ({type(exc).__name__}: {exc})") from None

