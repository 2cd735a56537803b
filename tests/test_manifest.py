"""The typed manifest: round trip, format version and its own checksum."""

from __future__ import annotations

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
    assert manifest.read(tmp_path) == m


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
