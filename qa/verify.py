"""`qa verify`: the served generation checked end to end, and the one citation check used everywhere.

A citation holds when the cited lines of the document, as its reader extracts
it now, contain every word of the cited text in order-insensitive form
(whitespace and hyphens removed, because cleaning joins wrapped lines and
repairs hyphenation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import manifest as manifest_io
from .current import current_name, pointer_problem
from .documents import file_sha256, scan
from .errors import EmptyCorpus, IndexCorrupt, QAError
from .generation import generations, open_generation
from .readers import Unreadable, read_file

_SQUASH = re.compile(r"[\s\-\u00ad]")


def unmatched_word(text: str, lines: Sequence[str], line_start: int, line_end: int) -> str | None:
    """The first word of `text` missing from lines `line_start`..`line_end` (1-based), or None.

    A line range that does not exist misses the first word.
    """
    if not 1 <= line_start <= line_end <= len(lines):
        return text.split()[0] if text.split() else ""
    excerpt = _SQUASH.sub("", "".join(lines[line_start - 1 : line_end]))
    return next((w for w in text.split() if _SQUASH.sub("", w) not in excerpt), None)


def citation_holds(text: str, lines: Sequence[str], line_start: int, line_end: int) -> bool:
    """Whether the cited lines hold every word of `text`."""
    return unmatched_word(text, lines, line_start, line_end) is None


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`.

    `problems` make the index unsound (damage, wrong model, citations that no
    longer hold); `stale` lists where the folder and the index disagree
    (files added, changed or removed since the build, or an update stopped
    after writing its generation: `qa index` fixes those).
    """

    generation: str | None
    passages: int
    problems: tuple[str, ...]
    stale: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return not self.problems

    @property
    def ok(self) -> bool:
        return not self.problems and not self.stale


def verify(root: Path, documents: Path | None = None) -> VerifyReport:
    """Check the served generation end to end, without loading the model.

    Checksums and counts of every file, the model's weights against the
    manifest, that CURRENT names the newest complete generation, and, when
    `documents` is given, that the folder holds exactly the indexed files,
    unchanged, and that each cited line range holds its passage's words.
    """
    from .embedding import resolve, weights_sha256

    root = Path(root)
    name = current_name(root)
    newest = generations(root)
    if name is None:
        if not newest:
            return VerifyReport(None, 0, (f"No index in {root}. Build it with: qa index --documents FOLDER --index {root}",))
        return VerifyReport(None, 0, (f"{pointer_problem(root)}; run qa index to repair it",))
    try:
        gen = open_generation(root / name, full_check=True)
    except IndexCorrupt as exc:
        return VerifyReport(name, 0, (str(exc),))
    problems: list[str] = []
    stale: list[str] = []
    if newest and newest[0].name != name:
        try:
            manifest_io.read(newest[0])
            # an update killed between writing its generation and switching CURRENT: the previous
            # generation is served, whole and sound, as promised; the next `qa index` finishes the update
            stale.append(f"CURRENT names {name}, but the newer generation {newest[0].name} is complete; run qa index")
        except IndexCorrupt:
            pass  # a damaged newer generation is not a candidate
    m = gen.manifest
    try:
        if weights_sha256(resolve(m.model.name)) != m.model.sha256:
            problems.append(f"the model {m.model.name} on this machine is not the one the index was built with")
    except QAError as exc:
        problems.append(str(exc))
    if documents is not None:
        problems += _check_documents(gen, Path(documents), stale)
    return VerifyReport(name, len(gen.index), tuple(problems), tuple(stale))


def _check_documents(gen, documents: Path, stale: list[str]) -> list[str]:
    problems: list[str] = []
    indexed = dict(gen.manifest.documents.items())  # one query, not one per document
    known = set(indexed) | {s.document for s in gen.manifest.skipped}
    try:
        found = {s.id: s for s in scan(documents).files}
    except EmptyCorpus as exc:
        return [str(exc)]
    for doc_id in sorted(set(found) - known):
        stale.append(f"{doc_id} is in {documents} but not indexed; run qa index")
    by_doc: dict[str, list] = {}
    for p in gen.index.passages():
        by_doc.setdefault(p.document, []).append(p)
    for doc_id, entry in indexed.items():
        source = found.get(doc_id)
        if source is None:
            stale.append(f"{doc_id} is indexed but no longer in {documents}; run qa index")
            continue
        if file_sha256(source.path) != entry.sha256:
            stale.append(f"{doc_id} changed since it was indexed; run qa index")
            continue
        try:
            lines = read_file(doc_id, source.path, source.path.read_bytes()).text.split("\n")
        except (Unreadable, OSError) as exc:
            problems.append(f"{doc_id} can no longer be read ({exc})")
            continue
        for p in by_doc.get(doc_id, []):
            if not 1 <= p.line_start <= p.line_end <= len(lines):
                problems.append(f"{doc_id}: cited lines {p.line_start}-{p.line_end} do not exist")
                continue
            missing = unmatched_word(p.text, lines, p.line_start, p.line_end)
            if missing is not None:
                problems.append(f"{doc_id}: lines {p.line_start}-{p.line_end} lack {missing!r} of their passage")
    for doc_id in by_doc:
        if doc_id not in indexed:
            problems.append(f"passages cite {doc_id}, which the manifest does not list")
    return problems
