"""Planning an update: what was added, changed or removed since the last generation, and whether to rebuild.

Files are compared with the manifest by content hash; a different model,
chunking or backend means a full rebuild (vectors still come from the
embedding cache, so moving backends embeds nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .documents import Skipped, SourceFile
from . import manifest as manifest_io
from .chunking import CHUNKER_VERSION
from .manifest import Chunking, DocumentEntry, Manifest
from .settings import Settings
from .text import CLEANER_VERSION


@dataclass
class Plan:
    """What an update must do, from comparing the folder with the last manifest."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Unchanged documents with their entries, carried into the next manifest as they are.
    unchanged: dict[str, DocumentEntry] = field(default_factory=dict)
    todo: list[SourceFile] = field(default_factory=list)
    kept_skips: list[Skipped] = field(default_factory=list)


def plan(before: Manifest | None, sources: list[SourceFile], rebuild: bool) -> Plan:
    """Compare the folder with the manifest by content hash."""
    out = Plan()
    # items(): one query for the whole list (dict(table) would ask once per document).
    old_docs = dict(before.documents.items()) if before is not None else {}
    old_skipped = {s.document: s for s in before.skipped} if before is not None else {}
    for s in sources:
        old = old_docs.get(s.id) or old_skipped.get(s.id)
        same = old is not None and old.sha256 == s.sha256
        if same and not rebuild:
            if s.id in old_docs:
                out.unchanged[s.id] = old_docs[s.id]
            else:
                out.kept_skips.append(Skipped(s.id, old_skipped[s.id].reason))
            continue
        out.todo.append(s)
        if not same:
            (out.changed if old is not None else out.added).append(s.id)
    out.removed = sorted((set(old_docs) | set(old_skipped)) - {s.id for s in sources})
    return out


def chunking(settings: Settings) -> Chunking:
    return Chunking(settings.chunk_tokens, settings.overlap_sentences, CLEANER_VERSION, CHUNKER_VERSION)


# What each chunker version changed, as `qa index` says it.
CHUNKER_CHANGES = {2: "passages are now cut with their lead-in sentence"}
CLEANER_CHANGES = {2: "a plain-text manual's table of contents and heading underlines are now left out of passages, "
                      "and a line repeated only twice is kept",
                   3: "citations of PDF, Word and HTML files now count the lines a person counts (no line for a "
                      "paragraph gap; an HTML paragraph on each of its source lines, apart from a heading above it)"}  # and a numbered line ending in "or"/"and" is no heading


def rebuild_reason(before: Manifest | None, settings: Settings, full: bool) -> str | None:
    if before is None:
        return "no index yet"
    if full:
        return "--full was asked for"
    if before.model.name != settings.model:
        return f"the model changed from {before.model.name} to {settings.model}"
    now = chunking(settings)
    if before.chunking.chunker_version != now.chunker_version:
        return CHUNKER_CHANGES.get(now.chunker_version, "passages are now cut differently") + " (every passage is cut again)"
    if before.chunking.cleaner_version != now.cleaner_version:
        return CLEANER_CHANGES.get(now.cleaner_version, "text is now repaired differently") + " (every file is read again)"
    if before.chunking != now:
        return "the chunking settings changed"
    if before.passage_text != manifest_io.PASSAGE_TEXT:
        return ("passages are now embedded with their document's title and section heading "
                "(every passage is embedded again, once)")
    if _backend_name(before.store.kind) != settings.backend:
        # Vectors come from the embedding cache: moving backends embeds nothing.
        return f"the backend changed from {_backend_name(before.store.kind)} to {settings.backend}"
    if settings.backend == "milvus" and settings.uri and before.store.params.get("uri") != settings.uri:
        return "the Milvus address changed"
    return None


def _backend_name(kind: str) -> str:
    return "faiss" if kind.startswith("faiss") else kind
