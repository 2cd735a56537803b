"""The typed manifest: round trip, format version and its own checksum."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

import qa
from qa import manifest
from qa.manifest import Chunking, Counts, DocumentEntry, FileEntry, Manifest, ModelIdentity, SkippedEntry, StoreInfo


def _example() -> Manifest:
    return Manifest(
        generation="gen-000003", created="2026-11-23T10:00:00+00:00",
        model=ModelIdentity("all-MiniLM-L6-v2", "a" * 64, 384, 254), chunking=Chunking(128, 1, 1),
        store=StoreInfo("faiss-ivf-flat-ip", {"nlist": 64, "nprobe": 64}),
        documents={"a.pdf": DocumentEntry("b" * 64, "A manual", "pdf", 12, (1, 40, 81))},
        skipped=(SkippedEntry("x.txt", "empty (no text)", "c" * 64),), counts=Counts(1, 12, 12),
        versions={"qa": qa.__version__}, files={"vectors.faiss": FileEntry("d" * 64, 100)},
    )


def test_round_trip_is_exact(tmp_path):
    m = _example()
    manifest.write(tmp_path, m)
    back = manifest.read(tmp_path)
    # The document list is its own file, listed with its checksum like the generation's other files.
    docs = tmp_path / manifest.DOCUMENTS
    assert back.files[manifest.DOCUMENTS] == FileEntry(hashlib.sha256(docs.read_bytes()).hexdigest(), docs.stat().st_size)
    assert back == dataclasses.replace(m, files=back.files)
    assert "documents" not in json.loads((tmp_path / manifest.FILE).read_text())


def test_the_document_list_is_read_on_demand(tmp_path):
    entries = {f"d{i:03d}.txt": DocumentEntry(f"{i:064x}", f"Title {i}", "utf-8", i + 1) for i in range(300)}
    entries["é/paged.pdf"] = DocumentEntry("e" * 64, "Paged", "pdf", 3, (1, 9, 20), (None, 87.5, None))
    manifest.write(tmp_path, dataclasses.replace(_example(), documents=entries, counts=Counts(301, 12, 12)))
    table = manifest.read(tmp_path).documents
    assert isinstance(table, manifest.DocumentTable)
    assert table["é/paged.pdf"] == entries["é/paged.pdf"] and table.get("d007.txt").passages == 8
    assert table.get("missing.txt") is None and "missing.txt" not in table and "d299.txt" in table
    assert list(table) == sorted(entries) and len(table) == 301 and dict(table.items()) == entries


def test_a_manifest_of_format_2_still_opens(tmp_path):
    """Format 2 kept the document list inline; it opens as it is (qa index rewrites it as format 3)."""
    m = _example()
    d = m.to_dict()
    d.update(format_version=2, documents={k: dataclasses.asdict(v) for k, v in m.documents.items()})
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (tmp_path / manifest.FILE).write_text(json.dumps(d))
    old = manifest.read(tmp_path)
    assert old.format_version == 2 and old.documents == m.documents and old == dataclasses.replace(m, format_version=2)


def test_a_manifest_without_a_passage_recipe_says_its_vectors_embed_the_text_alone(tmp_path):
    """Indexes built before the recipe was recorded embedded each passage's text alone: they still open
    and say so, so `qa index` knows to embed them again rather than mix two recipes."""
    m = _example()
    assert m.passage_text == manifest.PASSAGE_TEXT != "text"
    manifest.write(tmp_path, m)
    assert manifest.read(tmp_path).passage_text == manifest.PASSAGE_TEXT
    d = json.loads((tmp_path / manifest.FILE).read_text())
    d.pop("checksum")
    d.pop("passage_text")
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (tmp_path / manifest.FILE).write_text(json.dumps(d))
    assert manifest.read(tmp_path).passage_text == "text"


def test_a_manifest_without_a_chunker_version_reads_as_the_first(tmp_path):
    """Indexes cut before the chunker version was recorded were cut by version 1 (no lead-in rule)."""
    from qa.chunking import CHUNKER_VERSION

    m = dataclasses.replace(_example(), chunking=Chunking(128, 1, 1, CHUNKER_VERSION))
    manifest.write(tmp_path, m)
    assert manifest.read(tmp_path).chunking.chunker_version == CHUNKER_VERSION == 2
    d = json.loads((tmp_path / manifest.FILE).read_text())
    d.pop("checksum")
    assert d["chunking"].pop("chunker_version") == 2
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (tmp_path / manifest.FILE).write_text(json.dumps(d))
    assert manifest.read(tmp_path).chunking == Chunking(128, 1, 1, 1)


def test_a_damaged_document_list_is_index_corrupt(tmp_path):
    manifest.write(tmp_path, _example())
    (tmp_path / manifest.DOCUMENTS).write_bytes(b"not a database" * 100)
    with pytest.raises(qa.IndexCorrupt, match=manifest.DOCUMENTS):
        manifest.read(tmp_path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["counts"].update(passages=13), "its own checksum"),
        (lambda d: d.update(format_version=1), "qa index --full"),
        (lambda d: d.pop("checksum"), "its own checksum"),
    ],
)
def test_edited_or_old_manifests_are_refused(tmp_path, edit, message):
    manifest.write(tmp_path, _example())
    d = json.loads((tmp_path / manifest.FILE).read_text())
    edit(d)
    (tmp_path / manifest.FILE).write_text(json.dumps(d))
    with pytest.raises(qa.IndexCorrupt, match=message):
        manifest.read(tmp_path)


@pytest.mark.parametrize("content", ["", "[]", "{", "\x00\xff"])
def test_garbage_is_index_corrupt(tmp_path, content):
    (tmp_path / manifest.FILE).write_text(content, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(qa.IndexCorrupt):
        manifest.read(tmp_path)


def test_a_valid_checksum_over_a_wrong_shape_is_still_refused(tmp_path):
    d = _example().to_dict()
    del d["counts"]
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (tmp_path / manifest.FILE).write_text(json.dumps(d))
    with pytest.raises(qa.IndexCorrupt, match="not a valid manifest"):
        manifest.read(tmp_path)
