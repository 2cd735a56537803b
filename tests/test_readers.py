"""The reader registry: a format is added in one place and the build, verify and uploads use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import qa
from qa import readers
from qa.chat import add_files
from qa.cli import main
from qa.readers import Extracted, Unreadable
from qa.readers.text import markdown_sections


def _read_shout(path: Path, data: bytes) -> Extracted:
    """A toy format: one record a line, "SECTION: text"; the section names the heading."""
    lines = data.decode("utf-8").split("\n")
    if not lines or not lines[0].startswith("SHOUT"):
        raise Unreadable("not a shout file (the first line must be SHOUT)")
    text, sections, offset = [], [], 0
    for line in lines:
        head, _, body = line.partition(": ")
        if body:
            sections.append((offset, head.title()))
        text.append(body.lower() if body else "")
        offset += len(text[-1]) + 1
    return Extracted(text="\n".join(text), encoding="shout", title="A shouted report", sections=tuple(sections))


@pytest.fixture
def shout():
    readers.register(".shout", _read_shout, label="shout")
    yield
    readers.unregister(".shout")


SHOUT = b"SHOUT\n\nHARBOUR: THE NORTH HARBOUR OPENED IN 1881 AFTER NINE YEARS OF WORK.\n\nLIGHT: ITS LIGHTHOUSE WAS LIT BY MARGARET ELLISON.\n"


def test_a_registered_reader_is_picked_up_by_qa_index_and_verify(shout, docs, tmp_path, embedder, capsys):
    (docs / "report.shout").write_bytes(SHOUT)
    assert main(["index", "--documents", str(docs), "--index", str(tmp_path / "index"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "report.shout" in report["added"] and report["documents"] == 3
    searcher = qa.Searcher(tmp_path / "index", embedder=embedder)
    hit = searcher.ask("Who lit the lighthouse?", k=1).passages[0]
    assert hit.citation.document == "report.shout" and hit.citation.title == "A shouted report"
    assert "margaret ellison" in hit.text and hit.citation.section == "Light"
    assert qa.verify(tmp_path / "index", docs).ok  # citations checked against the reader's text


def test_a_reader_that_refuses_gives_its_reason_and_the_build_goes_on(shout, docs, tmp_path, embedder):
    (docs / "bad.shout").write_bytes(b"whisper\n")
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert [(s.document, s.reason) for s in report.skipped] == [("bad.shout", "not a shout file (the first line must be SHOUT)")]
    assert report.documents == 2


def test_a_reader_that_crashes_is_a_skip_not_a_stopped_build(docs, tmp_path, embedder):
    def boom(path, data):
        raise KeyError("inner library failure")

    readers.register(".boom", boom, label="boom")
    try:
        (docs / "x.boom").write_bytes(b"anything")
        report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    finally:
        readers.unregister(".boom")
    [skip] = report.skipped
    assert skip.document == "x.boom" and "cannot be read as boom" in skip.reason


def test_uploads_use_the_same_readers_and_checks(shout, tmp_path):
    good, bad = tmp_path / "good.shout", tmp_path / "bad.shout"
    good.write_bytes(SHOUT)
    bad.write_bytes(b"nope")
    results = add_files(tmp_path / "docs", [("good.shout", good), ("bad.shout", bad)])
    assert results[0].ok and results[1].error == "not a shout file (the first line must be SHOUT)"
    assert (tmp_path / "docs" / "good.shout").stat().st_mode & 0o777 == 0o644


def test_size_limit_is_one_rule_with_the_limit_in_mib():
    assert readers.size_problem("a.txt", 20 * 1024 * 1024) is None
    problem = readers.size_problem("a.txt", 20 * 1024 * 1024 + 1)
    assert problem == "too large (20.0 MiB; the limit for text files is 20 MiB)"
    assert "only .docx, .epub, .htm, .html, .markdown, .md, .pdf or .txt" in readers.size_problem("a.png", 1)


def test_markdown_headings_become_a_section_path_outside_code():
    text = "# Guide\n\nIntro.\n\n## Install\n\n```\n# not a heading\n```\n\n### Debian\n\nUse apt.\n\n## Use\n"
    assert [s for _, s in markdown_sections(text)] == ["Guide", "Guide › Install", "Guide › Install › Debian", "Guide › Use"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_escape_the_text_readers(data):
    for name in ("x.txt", "x.md"):
        try:
            got = readers.read_file(name, Path(name), data)
        except Unreadable as exc:
            assert str(exc)
        else:
            assert isinstance(got.text, str) and got.text.strip()


def test_read_path_reads_a_file_once_per_version_and_never_a_pipe(tmp_path):
    import os

    from qa.readers import Unreadable, _read_once, read_path

    doc = tmp_path / "notes.txt"
    doc.write_text("one\ntwo\n")
    _read_once.cache_clear()
    assert read_path(doc)[1][:2] == ("one", "two") and read_path(doc)[1][:2] == ("one", "two")
    assert _read_once.cache_info().misses == 1
    doc.write_text("three\n")  # a new version (size and time) is read again
    assert read_path(doc)[1][0] == "three" and _read_once.cache_info().misses == 2
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    with pytest.raises(Unreadable, match="not a regular file"):
        read_path(pipe)
