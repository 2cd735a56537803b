"""A hostile documents folder builds in bounded time, says why it refused each entry, and leaks nothing.

Also: any question text at all either gets an answer or a `QAError`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import qa
from conftest import ROOT

DEPTH = 2000
SECRET = "The zanzibar quokka treasury password is plinth"  # in a folder outside, reached only by a link
DEEP = "Bathyscaphe logbook: the deepest note in this folder."
PLAIN = "Lighthouse keepers on the Faroe Islands trim the lamp wicks every evening."


def _deep_folder(base: Path, depth: int, name: str, text: str) -> None:
    """`depth` nested folders `d/d/...` with one file at the bottom, made relative to open folders (no path limit)."""
    fd = os.open(base, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, text.encode())
        os.close(out)
    finally:
        os.close(fd)


def _remove_deep(path: Path) -> None:
    """shutil.rmtree recurses once per level and would hit Python's recursion limit; go bottom-up by hand."""
    if not path.exists():
        return
    levels = 0
    while (path / ("d/" * (levels + 1))).is_dir() and len(str(path)) + 2 * (levels + 1) < 4000:
        levels += 1
    for n in range(levels, 0, -1):
        shutil.rmtree(path / ("d/" * n).rstrip("/"), ignore_errors=True)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + ".\n", encoding="utf-8")
    docs = base / "documents"
    docs.mkdir()
    (docs / "plain.txt").write_text(PLAIN + "\n", encoding="utf-8")
    (docs / "with space.txt").write_text("Walrus colonies gather on the beaches at Point Lay in late summer.\n", encoding="utf-8")
    (docs / "ünïcødé 文件.md").write_text("# Kites\n\nPaper kites over Weifang fly every April at the festival.\n", encoding="utf-8")
    (docs / "utf16.txt").write_text("Glaciers in Svalbard calve into the fjord during the melt season.\n", encoding="utf-16")
    (docs / "latin1.txt").write_bytes("Le café crème à Zürich coûte cher, disait l'éditeur.\n".encode("latin-1"))
    (docs / "shift_jis.txt").write_bytes("東京の図書館は月曜日に休館します。".encode("shift_jis"))
    (docs / "nul.txt").write_bytes(b"Beekeepers in Slovenia paint their hives\x00 with folk scenes.\n")
    (docs / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    (docs / "random.md").write_bytes(os.urandom(4096))
    (docs / "empty.txt").write_bytes(b"")
    with open(docs / "huge.txt", "wb") as fh:  # sparse: 25 MiB on paper, nothing on disk
        fh.truncate(25 << 20)
    os.symlink("/etc/passwd", docs / "passwd.txt")
    os.symlink(outside, docs / "outside-folder")
    os.symlink(outside / "secret.txt", docs / "secret-link.txt")
    os.symlink(docs, docs / "loop")  # a folder link back to the top
    os.symlink("nowhere.txt", docs / "broken.txt")
    os.symlink("plain.txt", docs / "inside-link.txt")  # stays inside: followed
    os.mkfifo(docs / "pipe.txt")
    (docs / "x.txt;rm").write_text("A name ending in a shell command.\n", encoding="utf-8")
    try:
        (docs / "new\nline.txt").write_text("Tidal mills on the Rance estuary grind with the falling tide.\n", encoding="utf-8")
    except OSError:
        pass
    (docs / "folder.txt").mkdir()  # a folder with a text file's name
    (docs / "folder.txt" / "inner.txt").write_text("Salt pans at Guérande are raked by hand in July.\n", encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def built(hostile, embedder, tmp_path_factory):
    index = tmp_path_factory.mktemp("hostile-index") / "index"
    started = time.monotonic()
    report = qa.build_index(qa.Settings(documents=hostile, index=index), embedder=embedder)
    return report, qa.Searcher(index, embedder=embedder), time.monotonic() - started


def test_hostile_folder_builds(built):
    """It finishes (a FIFO or a sparse giant would hang it) and reads what can be read; speed is bench's to measure."""
    report, searcher, _ = built
    assert report.documents >= 5


def test_every_refused_entry_is_listed_with_its_reason(built, hostile):
    from qa.readers import registration

    report, searcher, _ = built
    skipped = {s.document: s.reason for s in report.skipped}
    expect = {
        "passwd.txt": "outside",
        "outside-folder": "outside",
        "secret-link.txt": "outside",
        "loop": "already walked",
        "pipe.txt": "FIFO",
        "huge.txt": "too large",
        "image.txt": "binary",
        "random.md": "",
        "empty.txt": "empty",
        "broken.txt": "",
        "nul.txt": "NUL",
    }
    for name, words in expect.items():
        assert name in skipped, (name, skipped)
        assert words in skipped[name], (name, skipped[name])
    # Nothing of a supported type is lost without a word: each is indexed or listed.
    indexed = set(searcher.documents())
    for entry in os.scandir(hostile):
        if registration(entry.name) and not entry.is_dir():
            assert entry.name in indexed or entry.name in skipped, entry.name


def test_passwd_and_outside_texts_are_never_searchable(built):
    report, searcher, _ = built
    for question in ("root:x:0:0 /bin/bash daemon nologin", "What is the quokka treasury password?", SECRET):
        answer = searcher.ask(question, k=50)
        for hit in answer.passages:
            assert "root:x" not in hit.text and "nologin" not in hit.text and "quokka" not in hit.text
            assert "passwd" not in hit.citation.document and "secret" not in hit.citation.document


def test_odd_names_are_indexed(built):
    report, searcher, _ = built
    names = set(searcher.documents())
    assert {"plain.txt", "with space.txt", "ünïcødé 文件.md", "inside-link.txt", "folder.txt/inner.txt"} <= names
    assert "x.txt;rm" not in names  # not a .txt: ignored like any other type
    answer = searcher.ask("When do walrus colonies gather at Point Lay?", k=3)
    assert answer.answer is not None and answer.answer.citation.document == "with space.txt"


@pytest.fixture(scope="module")
def deep(tmp_path_factory, embedder):
    """A folder 2,000 levels deep with one text at the bottom, built."""
    base = tmp_path_factory.mktemp("deep")
    docs = base / "documents"
    docs.mkdir()
    (docs / "plain.txt").write_text(PLAIN + "\n", encoding="utf-8")
    _deep_folder(docs, DEPTH, "deep.txt", DEEP + "\n")
    started = time.monotonic()
    report = qa.build_index(qa.Settings(documents=docs, index=base / "index"), embedder=embedder)
    yield report, qa.Searcher(base / "index", embedder=embedder), time.monotonic() - started
    _remove_deep(docs)


@pytest.mark.slow
def test_the_file_at_the_bottom_of_a_2000_deep_folder_is_indexed(deep):
    report, searcher, seconds = deep
    path = "d/" * DEPTH + "deep.txt"
    assert path in searcher.documents() and not report.skipped
    top = searcher.ask("Where is the bathyscaphe logbook note?", k=3).passages[0]
    assert top.citation.document == path and "Bathyscaphe" in top.text


def test_a_file_name_that_is_not_utf8_is_refused_with_a_reason(tmp_path, embedder):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "plain.txt").write_text(PLAIN + "\n", encoding="utf-8")
    with open(os.fsencode(docs) + b"/bad-\xff-name.txt", "wb") as fh:  # allowed on Linux
        fh.write(b"Reindeer herders in Finnmark move the herd to the coast in spring.\n")
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert report.documents == 1 and any("UTF-8" in s.reason for s in report.skipped)


def test_odd_answers_serialise(built):
    """Every answer, whatever the document names, can be sent as JSON (what the web page does)."""
    import json

    report, searcher, _ = built
    for question in ("tidal mills Rance estuary", "Svalbard glaciers calve", "café crème Zürich"):
        json.dumps(searcher.ask(question, k=50).to_dict(), ensure_ascii=False).encode("utf-8")


def test_two_file_links_pointing_at_each_other_are_refused(tmp_path):
    from qa.documents import scan

    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "plain.txt").write_text(PLAIN + "\n", encoding="utf-8")
    os.symlink("b.txt", docs / "a.txt")
    os.symlink("a.txt", docs / "b.txt")
    found = scan(docs)
    assert [f.id for f in found.files] == ["plain.txt"]
    assert {s.document for s in found.refused} == {"a.txt", "b.txt"}


def test_five_thousand_tiny_files(embedder, tmp_path):
    docs = tmp_path / "documents"
    docs.mkdir()
    for i in range(5000):
        folder = docs / f"f{i // 500:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"note {i:04d}.txt").write_text(f"Tiny note {i % 50} about harbour seals.\n", encoding="utf-8")
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert report.documents == 5000 and not report.skipped and report.embedded == 50  # each distinct text once
    again = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert again.up_to_date


@pytest.mark.slow
def test_a_huge_sparse_file_is_refused_without_reading_it(tmp_path):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.txt").write_text("Some text.\n", encoding="utf-8")
    with open(docs / "huge.txt", "wb") as fh:
        fh.truncate(64 << 30)  # 64 GiB on paper: reading it all takes minutes
    code = "import sys, qa.documents as d; s = d.scan(sys.argv[1]); print(len(s.files), len(s.refused))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        subprocess.run([sys.executable, "-c", code, str(docs)], env=env, timeout=60, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("scanning a folder with one huge sparse file took over 60 s")


# Questions: anything at all --------------------------------------------------------

NASTY = ["", " ", "\x00", "\ud800", "\udfff\ud800", "\u200b\u200b", "\n\t\r", "\ufeff", "a" * 20000,
         "🦆" * 3000, "\u0301" * 500, "<script>alert(1)</script>", "%s%n%x", "' OR 1=1 --"]
questions = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=100),
    st.builds(lambda a, b: a + "\ud800" + b + "\x00", st.text(max_size=50), st.text(max_size=50)),
    st.sampled_from(NASTY),
)


def _answered_or_refused(searcher, question: str, k: int) -> None:
    try:
        answer = searcher.ask(question, k=k)
    except qa.QAError:
        return
    assert k >= 1, "k below 1 must be refused with a QAError"
    # above 50, k is clamped: exactly what asking for min(k, 50) gives
    assert [h.citation for h in answer.passages] == [h.citation for h in searcher.ask(question, k=min(k, 50)).passages]
    # The answer can be sent as JSON text (no lone surrogates left in it).
    import json

    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")


def test_nasty_questions_are_answered_or_refused_with_a_qa_error(searcher):
    # the quick loop's share of the generated test below; k = 0 and k above 50 are checked there and in test_web_security
    for question in NASTY:
        _answered_or_refused(searcher, question, 3)


@pytest.mark.slow  # 50 generated questions, most asked twice: ~30 s
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=questions, k=st.one_of(st.integers(-2, 8), st.sampled_from([0, 51, 10**9])))
def test_any_question_is_answered_or_refused_with_a_qa_error(searcher, question, k):
    _answered_or_refused(searcher, question, k)
