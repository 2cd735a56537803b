"""Shared fixtures: one real model per test session, real files in temp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "documents"
COURT = "003_d8ae16575e47e84d.txt"
UN = "000_83f135e51c9c124e.txt"
OKAPI = "Okapi report\n\nThe okapi reserve in Ituri was founded in 1992. Rangers count okapi tracks every dry season.\n"


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """The ONNX export is per machine; a test session makes (and checks) its own."""
    import os

    os.environ["QA_CACHE_DIR"] = str(tmp_path_factory.mktemp("qa-cache"))


@pytest.fixture(scope="session")
def embedder():
    from qa.embedding import Embedder

    e = Embedder()
    e.model  # load once for the whole session
    return e


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A fresh copy of the sample documents."""
    target = tmp_path / "documents"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """The sample corpus indexed once; tests must not modify it."""
    import qa

    base = tmp_path_factory.mktemp("sample")
    settings = qa.Settings(documents=SAMPLES, index=base / "index")
    report = qa.build_index(settings, embedder=embedder)
    return settings, report


@pytest.fixture(scope="session")
def searcher(sample_index, embedder):
    import qa

    return qa.Searcher(sample_index[0].index, embedder=embedder)


def build_at(docs: Path, index: Path, embedder, **kw):
    """`qa.build_index` of `docs` into `index` with the session's model."""
    import qa

    return qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder, **kw)


@pytest.fixture
def built(docs, tmp_path, embedder):
    """The sample documents (a fresh copy) and an index built over them: (docs, index)."""
    index = tmp_path / "index"
    build_at(docs, index, embedder)
    return docs, index
