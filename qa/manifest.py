"""The manifest of one index generation: a frozen, typed record with a format version and its own checksum.

Nothing outside this module reads a manifest by string key. `read` checks the
format version and the checksum before anything else trusts the contents.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import IndexCorrupt

# 2: typed manifest with its own checksum; passages carry their section; paged documents list their pages.
FORMAT_VERSION = 2
FILE = "manifest.json"


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

    def with_files(self, files: Mapping[str, FileEntry]) -> "Manifest":
        return replace(self, files=dict(files))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Manifest":
        return cls(
            generation=str(d["generation"]),
            created=str(d["created"]),
            model=ModelIdentity(**d["model"]),
            chunking=Chunking(**d["chunking"]),
            store=StoreInfo(str(d["store"]["kind"]), dict(d["store"].get("params") or {})),
            documents={
                k: DocumentEntry(**dict(v, pages=tuple(v.get("pages") or ()), ocr=tuple(v.get("ocr") or ())))
                for k, v in d["documents"].items()
            },
            skipped=tuple(SkippedEntry(**s) for s in d["skipped"]),
            counts=Counts(**d["counts"]),
            versions=dict(d["versions"]),
            files={k: FileEntry(**v) for k, v in d.get("files", {}).items()},
            format_version=int(d["format_version"]),
        )


def canonical(d: Mapping[str, Any]) -> bytes:
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write(folder: Path, manifest: Manifest) -> Path:
    """Write `folder/manifest.json` with a checksum over everything else in it (not fsynced here)."""
    d = manifest.to_dict()
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
    if version != FORMAT_VERSION:
        raise IndexCorrupt(
            f"{Path(folder)} has index format {version!r}; this version of qa reads format {FORMAT_VERSION}. "
            "Rebuild it with: qa index --full"
        )
    recorded = d.pop("checksum", None)
    if recorded != hashlib.sha256(canonical(d)).hexdigest():
        raise IndexCorrupt(f"{path} does not match its own checksum (modified or damaged)")
    try:
        return Manifest.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexCorrupt(f"{path} is not a valid manifest ({type(exc).__name__}: {exc})") from None

