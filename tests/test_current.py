"""Which generation is served: CURRENT followed, damaged or garbage pointers survived, staleness reported."""

from __future__ import annotations

import shutil
import warnings

import pytest

import qa
from qa.cli import main
from qa.current import current_name, load
from qa.generation import CURRENT

from conftest import SAMPLES


@pytest.fixture
def two_generations(sample_index, tmp_path, embedder):
    """An index with two committed generations (the second adds a file)."""
    docs, index = tmp_path / "docs", tmp_path / "index"
    shutil.copytree(SAMPLES, docs)
    shutil.copytree(sample_index[0].index, index)
    (docs / "okapi.txt").write_text("Okapi report\n\nThe okapi reserve in Ituri was founded in 1992.\n")
    qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder)
    return docs, index


@pytest.mark.parametrize("content", [b"gen-00000z\n", b"", b"\xff\xfe garbage", b"../../etc/passwd", b"gen-999999\n"])
def test_any_content_in_current_serves_the_newest_good_generation_with_a_warning(two_generations, content, embedder):
    docs, index = two_generations
    newest = current_name(index)
    (index / CURRENT).write_bytes(content)
    with pytest.warns(UserWarning, match="qa index"):
        gen = load(index)
    assert gen.name == newest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = qa.Searcher(index, embedder=embedder).ask("When was the okapi reserve founded?", k=1)
    assert answer.passages[0].citation.document == "okapi.txt"
    # qa index repairs it: the pointer is rewritten to a new, complete generation.
    assert main(["index", "--documents", str(docs), "--index", str(index)]) == 0
    assert current_name(index) is not None and qa.verify(index, docs).ok


def test_a_missing_current_is_reported_by_verify(two_generations):
    docs, index = two_generations
    (index / CURRENT).unlink()
    report = qa.verify(index, docs)
    assert not report.ok and "CURRENT" in report.problems[0]


def test_a_stale_current_and_unindexed_files_are_reported_by_verify(two_generations):
    docs, index = two_generations
    older = sorted(p.name for p in index.glob("gen-*"))[0]
    (index / CURRENT).write_text(older + "\n")
    (docs / "new.txt").write_text("A new report nobody indexed yet.\n")
    report = qa.verify(index, docs)
    problems = " ".join(report.problems + report.stale)
    assert "newer generation" in problems and "new.txt is in" in problems and "okapi.txt is in" in problems


def test_no_generation_at_all_is_index_not_found(tmp_path):
    (tmp_path / "index").mkdir()
    with pytest.raises(qa.IndexNotFound, match="qa index"):
        load(tmp_path / "index")
