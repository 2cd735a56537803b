"""The index on disk: building and updating it, and loading it back safely.

Layout of the index folder::

    CURRENT            name of the generation being served (replaced atomically)
    LOCK               held (flock) by the one process writing
    gen-000007/        one complete generation
        manifest.json  format version, model identity, settings, documents, checksums
        vectors.faiss  one vector per passage, row i = line i of passages.jsonl
        passages.jsonl passage text and citation, one JSON object a line
        passages.offsets.npy  byte offset of each line, so a passage is read on demand
        bm25/          keyword index over the same passages (bm25s: .npy + JSON)

Each update writes a whole new generation beside the current one, flushes it,
and then switches `CURRENT` with one `os.replace`. A crash at any moment leaves
the previous generation intact and served. No pickle anywhere.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import socket
import threading
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from . import __version__
from .cache import EmbeddingCache, embed_with_cache
from .chunking import Passage, chunk
from .documents import Document, Skipped, file_sha256, read, scan
from .embedding import Embedder, ModelIdentity
from .errors import EmptyCorpus, IndexCorrupt, IndexLocked, IndexNotFound, ModelMismatch, QAError
from .settings import Settings
from .fast_encoder import ensure_export
from .lexical import Lexical, keyword_text
from .store import EXACT_BELOW, STORES, FlatStore, store_for
from .text import CLEANER_VERSION, clean, words

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = "LOCK"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
PASSAGES = "passages.jsonl"
OFFSETS = "passages.offsets.npy"
BM25 = "bm25"
_PREFIX = "gen-"
# Generations kept after a switch: the current one and one fallback.
KEEP_GENERATIONS = 2

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
    # How vectors are searched: exact below EXACT_BELOW passages, IVF above.
    store: str = ""
    store_params: dict = field(default_factory=dict)
    # Whether questions are encoded by the checked ONNX export (no torch).
    fast_query: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        for key in ("added", "changed", "removed"):
            d[key] = list(d[key])
        return d


@dataclass
class Generation:
    """A loaded, checked generation: manifest, passages and their vectors."""

    path: Path
    manifest: dict
    passages: "Sequence[Passage]"
    store: FlatStore
    lexical: Lexical
    # Set once every file's checksum has been verified (at once for small
    # generations, in the background for large ones); `damage` says what failed.
    checked: threading.Event = field(default_factory=threading.Event)
    damage: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model(self) -> ModelIdentity:
        return ModelIdentity(**self.manifest["model"])


# Building -----------------------------------------------------------------------


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
    with IndexLock(root):
        sources = scan(settings.documents)
        if not sources:
            raise EmptyCorpus(
                f"No .txt or .md files in {settings.documents}. Put some texts there and run: qa index"
            )
        # Fast path: when nothing changed, the manifest alone says so; the
        # generation's files are only checked by size, not read or hashed.
        quick = _current_manifest(root)
        if quick is not None and _full_rebuild_reason(quick, settings, full) is None:
            plan = _plan(quick, sources, rebuild=False)
            if not plan.todo and not plan.removed:
                return BuildReport(
                    documents=len(plan.unchanged),
                    passages=quick["counts"]["passages"],
                    skipped=tuple(plan.kept_skips),
                    seconds=time.perf_counter() - started,
                    unchanged=len(plan.unchanged),
                    up_to_date=True,
                    generation=quick["generation"],
                    store=quick["store"]["kind"],
                    store_params=quick["store"].get("params", {}),
                )
        previous = _latest_quietly(root)
        manifest_before = previous.manifest if previous is not None else None
        reason = _full_rebuild_reason(manifest_before, settings, full)
        plan = _plan(manifest_before, sources, rebuild=reason is not None)
        embedder = embedder or Embedder(settings.model)
        identity = embedder.identity()
        if previous is not None and reason is None and previous.model.sha256 != identity.sha256:
            reason = "the model's weights changed"
            plan = _plan(manifest_before, sources, rebuild=True)
        if reason and previous is not None:
            say(f"Full rebuild: {reason}.")
        old_docs = previous.manifest["documents"] if previous is not None else {}
        added, changed, removed, unchanged, todo = plan.added, plan.changed, plan.removed, plan.unchanged, plan.todo
        kept_skips = plan.kept_skips
        max_tokens = min(settings.chunk_tokens, identity.max_tokens)

        docs, skipped = [], list(kept_skips)
        for s in todo:
            got = read(s)
            (docs if isinstance(got, Document) else skipped).append(got)
        vocabulary = embedder.vocabulary()
        for d in docs:
            vocabulary.update(words(d.text))
        new_passages: list[Passage] = []
        for d in docs:
            cleaned = clean(d.text, vocabulary.__contains__)
            found = chunk(d, cleaned, embedder.count_tokens, max_tokens, settings.overlap_sentences)
            if not found:
                skipped.append(Skipped(d.id, "no sentences found after cleaning"))
            new_passages.extend(found)
        per_document = Counter(p.document for p in new_passages)
        docs = [d for d in docs if per_document[d.id]]

        # Vectors of unchanged documents are carried over; new passages go
        # through the embedding cache, so only never-seen text is embedded.
        unchanged_set = set(unchanged)
        carried: list[Passage] = []
        keep_rows: list[int] = []
        if unchanged:
            for i, p in enumerate(previous.passages):
                if p.document in unchanged_set:
                    carried.append(p)
                    keep_rows.append(i)
        texts = [p.text for p in new_passages]
        with EmbeddingCache(root, identity.sha256, identity.dimension) as cache:
            say(f"Embedding the new passages of {len(docs)} files ({len(texts)} passages, cached ones reused).")
            new_vectors, embedded = embed_with_cache(
                cache, texts, lambda batch: embedder.encode(batch, batch_size=settings.batch_size, progress=progress)
            )

        passages = carried + new_passages
        store = store_for(identity.dimension, len(keep_rows) + len(new_vectors), previous.store if previous is not None and reason is None else None)
        # One add: an IVF store trains its cells on everything it will hold.
        if keep_rows:
            new_vectors = np.concatenate([previous.store.vectors(np.array(keep_rows, dtype=np.int64)), new_vectors])
        store.add(new_vectors)
        documents = {d: old_docs[d] for d in unchanged}
        for d in docs:
            documents[d.id] = {
                "sha256": d.sha256,
                "title": d.title,
                "encoding": d.encoding,
                "passages": per_document[d.id],
            }
        skipped_meta = []
        hashes = {s.id: s.sha256 for s in sources}
        for s in skipped:
            skipped_meta.append({"document": s.document, "reason": s.reason, "sha256": hashes[s.document]})
        if not passages:
            raise EmptyCorpus(
                f"None of the {len(sources)} files in {settings.documents} holds usable text: "
                + "; ".join(f"{s.document}: {s.reason}" for s in skipped[:5])
            )
        manifest = {
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model": asdict(identity),
            "chunking": _chunking(settings),
            "store": {"kind": store.kind, "params": store.params(), "exact_below": EXACT_BELOW},
            "documents": dict(sorted(documents.items())),
            "skipped": sorted(skipped_meta, key=lambda s: s["document"]),
            "counts": {"documents": len(documents), "passages": len(passages), "vectors": len(store)},
            "versions": _versions(),
        }
        name = _write_generation(root, manifest, passages, store)
        _cleanup(root, keep=name)
        # Once per set of weights: questions are then answered without torch.
        fast = ensure_export(embedder, say) is not None
        return BuildReport(
            documents=len(documents),
            passages=len(passages),
            skipped=tuple(sorted(skipped, key=lambda s: s.document)),
            seconds=time.perf_counter() - started,
            added=tuple(added),
            changed=tuple(changed),
            removed=tuple(removed),
            unchanged=len(unchanged),
            embedded=embedded,
            full_rebuild_reason=reason if previous is not None else None,
            generation=name,
            store=store.kind,
            store_params=store.params(),
            fast_query=fast,
        )


@dataclass
class _Plan:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    todo: list = field(default_factory=list)
    kept_skips: list[Skipped] = field(default_factory=list)


def _plan(manifest: dict | None, sources: list, rebuild: bool) -> _Plan:
    """Compare the folder with the previous manifest by content hash."""
    plan = _Plan()
    old_docs = manifest["documents"] if manifest is not None else {}
    old_skipped = {s["document"]: s for s in manifest["skipped"]} if manifest is not None else {}
    for s in sources:
        same = (old_docs.get(s.id) or old_skipped.get(s.id) or {}).get("sha256") == s.sha256
        if same and not rebuild:
            if s.id in old_docs:
                plan.unchanged.append(s.id)
            else:
                plan.kept_skips.append(Skipped(s.id, old_skipped[s.id]["reason"]))
            continue
        plan.todo.append(s)
        if not same:
            (plan.changed if s.id in old_docs or s.id in old_skipped else plan.added).append(s.id)
    ids = {s.id for s in sources}
    plan.removed = sorted((set(old_docs) | set(old_skipped)) - ids)
    if rebuild:
        # Everything is re-read; nothing is carried over from the old generation.
        plan.unchanged = []
    return plan


def _chunking(settings: Settings) -> dict:
    return {
        "chunk_tokens": settings.chunk_tokens,
        "overlap_sentences": settings.overlap_sentences,
        "cleaner_version": CLEANER_VERSION,
    }


def _current_manifest(root: Path) -> dict | None:
    """The manifest CURRENT points at, if it reads and its files have their recorded sizes."""
    name = current_name(root)
    if name is None:
        return None
    try:
        manifest = read_manifest(root / name)
        check_files(root / name, manifest, full=False)
        return manifest
    except (IndexCorrupt, OSError, KeyError, TypeError):
        return None


def _full_rebuild_reason(manifest: dict | None, settings: Settings, full: bool) -> str | None:
    if manifest is None:
        return "no index yet"
    if full:
        return "--full was asked for"
    if manifest["model"]["name"] != settings.model:
        return f"the model changed from {manifest['model']['name']} to {settings.model}"
    if manifest["chunking"] != _chunking(settings):
        return "the chunking settings changed"
    return None


def _versions() -> dict:
    out = {"qa": __version__, "python": platform.python_version()}
    for dist in ("faiss-cpu", "sentence-transformers", "torch", "transformers", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _write_generation(
    root: Path, manifest: dict, passages: Sequence[Passage], store: FlatStore, lexical: Lexical | None = None
) -> str:
    number = max([_number(p.name) for p in _generations(root)] + [0]) + 1
    name = f"{_PREFIX}{number:06d}"
    tmp = root / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    store.save(tmp / VECTORS)
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    with open(tmp / PASSAGES, "wb") as fh:
        for i, p in enumerate(passages):
            offsets[i + 1] = offsets[i] + fh.write((json.dumps(_passage_row(p), ensure_ascii=False) + "\n").encode("utf-8"))
    np.save(tmp / OFFSETS, offsets, allow_pickle=False)
    (tmp / BM25).mkdir()
    (lexical or Lexical.build([keyword_text(p.title, p.text) for p in passages])).save(tmp / BM25)
    manifest = dict(manifest, generation=name)
    files = sorted(f.relative_to(tmp).as_posix() for f in tmp.rglob("*") if f.is_file())
    manifest["files"] = {f: {"sha256": file_sha256(tmp / f), "bytes": (tmp / f).stat().st_size} for f in files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    for f in files + [MANIFEST]:
        _fsync(tmp / f)
    _fsync_dir(tmp / BM25)
    _fsync_dir(tmp)
    os.replace(tmp, root / name)
    _fsync_dir(root)
    pointer = root / f".{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(name + "\n", encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, root / CURRENT)
    _fsync_dir(root)
    return name


def _cleanup(root: Path, keep: str) -> None:
    """Drop leftovers of crashed runs and all but the newest KEEP_GENERATIONS."""
    for p in root.iterdir():
        if p.name.startswith(".") and ".tmp-" in p.name:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    gens = sorted(_generations(root), key=lambda p: _number(p.name), reverse=True)
    survivors = [g for g in gens if _number(g.name) <= _number(keep)][:KEEP_GENERATIONS]
    for g in gens:
        if g not in survivors:
            shutil.rmtree(g, ignore_errors=True)


def _passage_row(p: Passage) -> dict:
    row = asdict(p)
    row["sentences"] = [list(s) for s in p.sentences]
    return row


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some filesystems refuse fsync on directories
        pass


# Loading ------------------------------------------------------------------------


def _generations(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX) and p.name[len(_PREFIX):].isdigit()]


def _number(name: str) -> int:
    return int(name[len(_PREFIX):])


def current_name(root: Path) -> str | None:
    """The generation `CURRENT` points at, or None."""
    try:
        return (Path(root) / CURRENT).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def load(root: Path, skip: frozenset[str] = frozenset()) -> Generation:
    """The current generation, checked; falls back to an older good one with a warning.

    `skip` names generations already found damaged (by a background check).
    """
    root = Path(root)
    gens = sorted(_generations(root), key=lambda p: _number(p.name), reverse=True)
    name = current_name(root)
    if name is None and not gens:
        raise IndexNotFound(f"No index in {root}. Build it with: qa index --index {root}")
    order = [root / name] if name else []
    order += [g for g in gens if name is None or _number(g.name) < _number(name)]
    order = [g for g in order if g.name not in skip]
    problems = []
    for path in order:
        try:
            gen = load_generation(path)
        except IndexCorrupt as exc:
            problems.append(str(exc))
            continue
        if problems:
            warnings.warn(
                f"The current index generation is damaged ({problems[0]}); serving the earlier generation "
                f"{gen.name}. Run `qa index --index {root}` to repair it.",
                stacklevel=2,
            )
        return gen
    raise IndexCorrupt(
        f"No usable index generation in {root}: {'; '.join(problems) or 'none found'}. "
        f"Rebuild it with: qa index --full --index {root}"
    )


def _latest_quietly(root: Path) -> Generation | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load(root)
        except (IndexNotFound, IndexCorrupt):
            return None


def read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{path / MANIFEST} is missing") from None
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path / MANIFEST} cannot be read ({exc})") from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{path / MANIFEST} is not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexCorrupt(
            f"{path} has index format {version!r}; this version of qa reads format {FORMAT_VERSION}. "
            "Rebuild it with: qa index --full"
        )
    return manifest


# Loading hashes every file of a generation up to this total size (well under
# a second) before serving it; a bigger one is checked by size, serves at once,
# and is hashed in a background thread (a few seconds for a million
# passages): a Searcher that learns of damage switches to the previous
# generation before its next question.
CHECKSUM_ON_LOAD_BELOW = 256 * 1024 * 1024


def check_files(path: Path, manifest: dict, full: bool = True) -> None:
    """Every file present, with the size (and checksum) the manifest recorded."""
    files = manifest.get("files", {})
    for name in (VECTORS, PASSAGES):
        if name not in files:
            raise IndexCorrupt(f"{path / MANIFEST} does not list {name}")
    for name, expected in files.items():
        f = path / name
        if not f.is_file():
            raise IndexCorrupt(f"{f} is missing")
        if f.stat().st_size != expected["bytes"] or (full and file_sha256(f) != expected["sha256"]):
            raise IndexCorrupt(f"{f} does not match its checksum (truncated or modified)")


def _check_in_background(gen: Generation) -> None:
    """Checksums of a large generation, verified while it already serves."""

    def run() -> None:
        try:
            check_files(gen.path, gen.manifest, full=True)
        except IndexCorrupt as exc:
            gen.damage = str(exc)
        except OSError as exc:  # removed while checking: a newer generation replaced it
            gen.damage = f"{gen.path} could not be checked ({exc})"
        finally:
            gen.checked.set()

    threading.Thread(target=run, name=f"qa-check-{gen.name}", daemon=True).start()


def load_generation(path: Path, full_check: bool | None = None) -> Generation:
    """Open one generation. Checksums are verified before it serves up to
    CHECKSUM_ON_LOAD_BELOW bytes, in a background thread above (sizes first)."""
    manifest = read_manifest(path)
    if full_check is None:
        full_check = sum(int(f.get("bytes", 0)) for f in manifest.get("files", {}).values()) < CHECKSUM_ON_LOAD_BELOW
    try:
        check_files(path, manifest, full_check)
        store_kind = manifest["store"]["kind"]
        if store_kind not in STORES:
            raise IndexCorrupt(f"{path} uses the unknown vector store {store_kind!r}")
        store = STORES[store_kind].load(path / VECTORS)
        passages = PassageTable(path / PASSAGES, path / OFFSETS)
        lexical = Lexical.load(path / BM25)
        counts = manifest["counts"]
        dim = manifest["model"]["dimension"]
    except IndexCorrupt:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
        raise IndexCorrupt(f"{path} cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not (len(store) == len(passages) == len(lexical) == counts["passages"] == counts["vectors"]):
        raise IndexCorrupt(
            f"{path} holds {len(store)} vectors and {len(passages)} passages; the manifest says {counts['passages']}"
        )
    if store.dimension != dim:
        raise IndexCorrupt(f"{path} holds vectors of dimension {store.dimension}; the manifest says {dim}")
    gen = Generation(path=path, manifest=manifest, passages=passages, store=store, lexical=lexical)
    if full_check:
        gen.checked.set()
    else:
        _check_in_background(gen)
    return gen


def _passage(line: bytes | str) -> Passage:
    row = json.loads(line)
    row["sentences"] = tuple(tuple(s) for s in row["sentences"])
    return Passage(**row)


class PassageTable(Sequence[Passage]):
    """The passages of a generation, read from disk on demand.

    Opening a million-passage index must not parse a million JSON lines: the
    file is memory-mapped and line i is parsed when passage i is asked for
    (a question touches a few hundred). Offsets come from passages.offsets.npy,
    or from one scan for newlines when an older index lacks that file.
    """

    def __init__(self, path: Path, offsets: Path | None = None):
        import mmap

        self.path = path
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if offsets is not None and offsets.is_file():
            self._offsets = np.load(offsets, allow_pickle=False)
        else:
            ends = np.flatnonzero(np.frombuffer(self._map, dtype=np.uint8) == 10) + 1 if size else np.zeros(0, np.int64)
            self._offsets = np.concatenate([[0], ends]).astype(np.int64)
        if self._offsets.ndim != 1 or len(self._offsets) == 0 or self._offsets[-1] != size:
            raise IndexCorrupt(f"{path} does not match its line offsets")
        self._documents: np.ndarray | None = None
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return _passage(self._map[self._offsets[i]:self._offsets[i + 1]])

    def __iter__(self) -> Iterator[Passage]:
        for a, b in zip(self._offsets[:-1].tolist(), self._offsets[1:].tolist()):
            yield _passage(self._map[a:b])

    def rows_of(self, documents: Iterable[str]) -> np.ndarray:
        """Rows of the passages of these documents (one full read, then cached)."""
        if self._documents is None:
            ids: dict[str, int] = {}
            column = [ids.setdefault(p.document, len(ids)) for p in self]
            self._documents, self._names = np.array(column, dtype=np.int64), list(ids)
        names = set(documents)
        wanted = [i for i, name in enumerate(self._names) if name in names]
        return np.flatnonzero(np.isin(self._documents, wanted)).astype(np.int64)


def check_model(gen: Generation, identity: ModelIdentity) -> None:
    """Refuse to search vectors made by another model."""
    built = gen.model
    if built.dimension != identity.dimension or built.sha256 != identity.sha256:
        raise ModelMismatch(
            f"The index in {gen.path.parent} was built with the model {built.name} "
            f"(dimension {built.dimension}); the model {identity.name} (dimension {identity.dimension}) "
            f"makes other vectors. Rebuild with: qa index --full --model {identity.name} --index {gen.path.parent}"
        )


# The one writer -----------------------------------------------------------------


class IndexLock:
    """An exclusive flock on index/LOCK; the kernel releases it if the holder dies."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK
        self._fd: int | None = None

    def __enter__(self) -> "IndexLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
            finally:
                os.close(fd)
            raise IndexLocked(
                f"The index in {self.path.parent} is being updated by {holder}. Wait for it to finish and try again."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# Verification -------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`: sound when `problems` is empty."""

    generation: str | None
    passages: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(root: Path, documents: Path | None = None) -> VerifyReport:
    """Check the served generation end to end, without loading the model.

    Checksums and counts of every file, the model's weights against the
    manifest, and, when `documents` is given, that each document is unchanged
    and each cited line range holds its passage's words.
    """
    import re

    from .documents import decode
    from .embedding import resolve, weights_sha256

    root = Path(root)
    name = current_name(root)
    if name is None:
        if not _generations(root):
            return VerifyReport(None, 0, (f"No index in {root}. Build it with: qa index --index {root}",))
        return VerifyReport(None, 0, (f"{root / CURRENT} is missing; run qa index to repair it",))
    try:
        gen = load_generation(root / name, full_check=True)
    except IndexCorrupt as exc:
        return VerifyReport(name, 0, (str(exc),))
    problems: list[str] = []
    model = gen.manifest["model"]
    try:
        if weights_sha256(resolve(model["name"])) != model["sha256"]:
            problems.append(f"the model {model['name']} on this machine is not the one the index was built with")
    except QAError as exc:
        problems.append(str(exc))
    if documents is not None:
        squash = re.compile(r"[\s-]")
        by_doc: dict[str, list[Passage]] = {}
        for p in gen.passages:
            by_doc.setdefault(p.document, []).append(p)
        for doc_id, meta in gen.manifest["documents"].items():
            path = Path(documents) / doc_id
            if not path.is_file():
                problems.append(f"{doc_id} is indexed but no longer in {documents}; run qa index")
                continue
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                problems.append(f"{doc_id} changed since it was indexed; run qa index")
                continue
            decoded = decode(data)
            lines = decoded[0].split("\n") if isinstance(decoded, tuple) else []
            for p in by_doc.get(doc_id, []):
                if not 1 <= p.line_start <= p.line_end <= len(lines):
                    problems.append(f"{doc_id}: cited lines {p.line_start}-{p.line_end} do not exist")
                    continue
                excerpt = squash.sub("", "".join(lines[p.line_start - 1 : p.line_end]))
                missing = [w for w in p.text.split() if w.replace("-", "") not in excerpt]
                if missing:
                    problems.append(f"{doc_id}: lines {p.line_start}-{p.line_end} lack {missing[0]!r} of their passage")
        for doc_id in by_doc:
            if doc_id not in gen.manifest["documents"]:
                problems.append(f"passages cite {doc_id}, which the manifest does not list")
    return VerifyReport(name, len(gen.passages), tuple(problems))
