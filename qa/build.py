"""Building the index, or bringing it up to date with the documents folder.

documents → readers → cleaned text → passages → vectors (through the
embedding cache) → a new generation, committed atomically. Only new and
changed files are read and embedded; when nothing changed the model is not
even loaded.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from . import generation, manifest as manifest_io
from ._version import __version__
from .backends import backend_of, writer_lease
from .cache import EmbeddingCache, embed_with_cache
from .chunking import Passage, chunk
from .current import current_name, load_quietly
from .documents import Document, Skipped, read, scan
from .embedding import Embedder
from .encoders import for_build
from .errors import EmptyCorpus, IndexCorrupt
from .fast_encoder import export_dir
from .lexical import keyword_text
from .onnx_export import ensure_export
from .reader import KINDS, reader_missing
from .reader_export import ensure_reader_export
from .manifest import Counts, DocumentEntry, Manifest, SkippedEntry, StoreInfo
from .plan import chunking, plan, rebuild_reason
from .readers import page_lines, suffix_list
from . import sentence_vectors
from .settings import Settings
from .text import clean, counted, words

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` did."""

    documents: int
    passages: int
    skipped: tuple[Skipped, ...]
    seconds: float
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    embedded: int = 0
    up_to_date: bool = False
    full_rebuild_reason: str | None = None
    generation: str = ""
    # How vectors are searched: exact below 50,000 passages, IVF above.
    store: str = ""
    store_params: dict = field(default_factory=dict)
    # Whether questions are encoded by the checked ONNX export (no torch).
    fast_query: bool = False
    # What readers said about files they did read ("pages 1–3 read by OCR ...").
    notes: tuple[Skipped, ...] = ()
    # Files of types no reader takes, by suffix: not read, only counted.
    ignored: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        d["notes"] = [asdict(n) for n in self.notes]
        for key in ("added", "changed", "removed"):
            d[key] = list(d[key])
        return d


def versions() -> dict[str, str]:
    out = {"qa": __version__, "python": platform.python_version()}
    for dist in ("faiss-cpu", "sentence-transformers", "torch", "transformers", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _quick_manifest(root: Path) -> Manifest | None:
    """The manifest CURRENT points at, if it reads and its files have their recorded sizes."""
    name = current_name(root)
    if name is None:
        return None
    try:
        m = manifest_io.read(root / name)
        generation.check_files(root / name, m, full=False)
        return m
    except (IndexCorrupt, OSError):
        return None


def embedded_text(p: Passage) -> str:
    """What a passage's vector embeds: the recipe manifest.PASSAGE_TEXT names.

    The title and heading BM25 indexes with it, by the same rules: a passage
    deep in "Uploading a package" need not say "upload" itself. Questions are
    encoded as they are. The cache is keyed by this text, so vectors of the
    passage alone are never handed back for it.
    """
    # Read at call time: "text" is the older recipe, which tests set to build an index as older qa did.
    return p.text if manifest_io.PASSAGE_TEXT == "text" else keyword_text(p.title, p.text, p.section)


def passages_of(docs: list[Document], embedder: Embedder, settings: Settings, max_tokens: int) -> tuple[list[Passage], list[Skipped]]:
    """Clean and cut documents into passages; documents left with none are reported."""
    if not docs:
        return [], []
    vocabulary = embedder.vocabulary()
    for d in docs:
        vocabulary.update(words(d.text))
    out: list[Passage] = []
    skipped = []
    for d in docs:
        cleaned = clean(d.text, vocabulary.__contains__, d.skip, d.breaks)
        found = chunk(d, cleaned, embedder.count_tokens, max_tokens, settings.overlap_sentences)
        if not found:
            skipped.append(Skipped(d.id, "no sentences found after cleaning"))
        out.extend(found)
    return out, skipped


def build_index(
    settings: Settings | None = None,
    *,
    full: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
    log: Log | None = None,
) -> BuildReport:
    """Build the index, or bring it up to date with the documents folder.

    Only new and changed files are read and embedded; when nothing changed the
    model is not even loaded. A different model or chunking means a full
    rebuild, which the report says.
    """
    settings = settings or Settings()
    say = log or (lambda message: None)
    started = time.perf_counter()
    root = Path(settings.index)
    root.mkdir(parents=True, exist_ok=True)
    with generation.IndexLock(root), ExitStack() as held:
        found = scan(settings.documents)
        sources = found.files
        if not sources:
            others = f" (only {found.others()})" if found.other else ""
            raise EmptyCorpus(f"No {suffix_list()} files in {settings.documents}{others}. Put some there and run: "
                              f"qa index --documents {settings.documents} --index {settings.index}")
        # Fast path: when nothing changed, the manifest alone says so; the
        # generation's files are only checked by size, not read or hashed.
        quick = _quick_manifest(root)
        if quick is not None and rebuild_reason(quick, settings, full) is None:
            p = plan(quick, sources, rebuild=False)
            # An older format is rewritten (everything carried over, nothing embedded): the upgrade.
            if not p.todo and not p.removed and quick.format_version == manifest_io.FORMAT_VERSION:
                missing = [k for k in KINDS if reader_missing(quick.model.sha256, k)]
                if missing:  # an index from before the reader or a model after it: make them once
                    model = embedder or for_build(settings.model, settings.device)
                    for kind in missing:
                        ensure_reader_export(model, say, kind)
                return BuildReport(
                    documents=len(p.unchanged),
                    passages=quick.counts.passages,
                    skipped=tuple(sorted(p.kept_skips + found.refused, key=lambda s: s.document)),
                    seconds=time.perf_counter() - started,
                    unchanged=len(p.unchanged),
                    up_to_date=True,
                    generation=quick.generation,
                    store=quick.store.kind,
                    store_params=dict(quick.store.params),
                    # as the build that made it said: questions are encoded without torch when the export is there
                    fast_query=(export_dir(quick.model.sha256) / "meta.json").exists(),
                    ignored=dict(found.other),
                )
        lease = held.enter_context(writer_lease(settings, root))  # only writers pay for the engine's lease
        previous = load_quietly(root)
        before = previous.manifest if previous is not None else None
        reason = rebuild_reason(before, settings, full)
        embedder = embedder or for_build(settings.model, settings.device)
        identity = embedder.identity()
        if previous is not None and reason is None and before.model.sha256 != identity.sha256:
            reason = "the model's weights changed"
        p = plan(before, sources, rebuild=reason is not None)
        if reason is not None:
            p.unchanged = {}  # everything is re-read; nothing is carried over
            if previous is not None:
                say(f"Full rebuild: {reason}.")

        docs, skipped = [], list(p.kept_skips) + list(found.refused)
        for s in p.todo:
            got = read(s)
            (docs if isinstance(got, Document) else skipped).append(got)
        new_passages, empty = passages_of(docs, embedder, settings, min(settings.chunk_tokens, identity.max_tokens))
        skipped += empty
        per_document = Counter(x.document for x in new_passages)
        docs = [d for d in docs if per_document[d.id]]

        # Vectors of unchanged documents are carried over; new passages go
        # through the embedding cache, so only never-seen text is embedded.
        keep = set(p.unchanged)
        keep_rows = previous.index.rows_of(keep) if keep else np.zeros(0, np.int64)
        carried = [previous.index.passage(int(r)) for r in keep_rows]
        # Sentence vectors are stored unless an update carries passages from a
        # generation without them (then they would all be embedded again: --full does that, once).
        with_sentences = reason is not None or previous is None or previous.sentences is not None
        if not with_sentences:
            say("This index stores no sentence vectors (answers embed sentences per question); "
                "qa index --full adds them, embedding only the sentences.")
        sentence_texts = sentence_vectors.texts(new_passages) if with_sentences else []
        with EmbeddingCache(root, identity.sha256, identity.dimension) as cache:
            if docs:
                say(f"Embedding the new passages of {counted(len(docs), 'file')} ({counted(len(new_passages), 'passage')} "
                    f"and their {counted(len(sentence_texts), 'sentence')}, cached ones reused).")
            encode = lambda batch: embedder.encode(batch, batch_size=settings.batch_size, progress=progress)  # noqa: E731
            new_vectors, embedded = embed_with_cache(cache, [embedded_text(x) for x in new_passages], encode)
            # After the passages: a one-sentence passage's sentence is then found in the cache.
            sentence_rows, _ = embed_with_cache(cache, sentence_texts, encode)
        passages = carried + new_passages
        if not passages:
            raise EmptyCorpus(
                f"None of the {len(sources)} files in {settings.documents} holds usable text: "
                + "; ".join(f"{s.document}: {s.reason}" for s in skipped[:5])
            )
        if len(keep_rows):
            new_vectors = np.concatenate([previous.index.vectors(keep_rows), new_vectors])
        documents = dict(p.unchanged)  # their entries as the plan read them (one pass over the list)
        for d in docs:
            ocr = d.ocr if any(c is not None for c in d.ocr) else ()
            documents[d.id] = DocumentEntry(d.sha256, d.title, d.encoding, per_document[d.id], _page_lines(d), ocr)
        hashes = {s.id: s.sha256 for s in sources}
        manifest = Manifest(
            generation="",
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            model=identity,
            chunking=chunking(settings),
            store=StoreInfo(""),
            documents=dict(sorted(documents.items())),
            skipped=tuple(
                SkippedEntry(s.document, s.reason, hashes.get(s.document, ""))
                for s in sorted(skipped, key=lambda s: s.document)
                if s.document in hashes  # refused links and folders are found again by each scan
            ),
            counts=Counts(len(documents), len(passages), len(new_vectors)),
            versions=versions(),
            passage_text=manifest_io.PASSAGE_TEXT,
        )
        reuse = previous.index if previous is not None and reason is None else None
        sentences = sentence_vectors.Pending.build(
            previous.sentences if previous is not None else None, keep_rows, passages, sentence_rows
        ) if with_sentences else None
        name = generation.write(root, manifest, passages, new_vectors, backend_of(settings), reuse, sentences,
                                before_commit=lease.assert_held if lease is not None else None)
        generation.cleanup(root, keep=name)
        # Once per set of weights: questions are then answered without torch.
        fast = ensure_export(embedder, say) is not None
        for kind in KINDS:  # the reader, the relevance and the sentence model, for the weights they were trained on
            ensure_reader_export(embedder, say, kind)
        committed = manifest_io.read(root / name)
        return BuildReport(
            documents=len(documents),
            passages=len(passages),
            skipped=tuple(sorted(skipped, key=lambda s: s.document)),
            seconds=time.perf_counter() - started,
            # files read into passages: one refused or empty is under `skipped`, not counted as added
            added=tuple(a for a in p.added if a in documents),
            changed=tuple(c for c in p.changed if c in documents),
            removed=tuple(p.removed),
            unchanged=len(p.unchanged),
            embedded=embedded,
            full_rebuild_reason=reason if previous is not None else None,
            generation=name,
            store=committed.store.kind,
            store_params=dict(committed.store.params),
            fast_query=fast,
            notes=tuple(Skipped(d.id, note) for d in docs for note in d.notes),
            ignored=dict(found.other),
        )


def _page_lines(doc: Document) -> tuple[int, ...]:
    """The 1-based line on which each page of a paged document starts."""
    return page_lines(doc.text, doc.pages)
