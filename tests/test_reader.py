"""The extractive reader: exported from the shipped adapter, checked, and used by `ask` for the sentence and the span."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

LIGHTHOUSE = ("The Old Harbour Lighthouse\n\n"
              "The Old Harbour Lighthouse stands on the north pier. It was built in 1872 by the engineer "
              "Margaret Ellison. Its lamp was electrified in 1931 and can be seen 18 miles out to sea.\n")


@pytest.fixture(scope="module")
def reader(embedder):
    from qa.reader import open_reader
    from qa.reader_export import ensure_reader_export

    said = []
    assert ensure_reader_export(embedder, said.append) is not None, said
    r = open_reader(embedder.identity().sha256)
    assert r is not None
    return r


def test_the_export_is_made_once_checked_and_found_by_its_weights(embedder, reader):
    from qa.reader import adapter_meta, open_reader, reader_dir
    from qa.reader_export import ensure_reader_export

    sha = embedder.identity().sha256
    assert adapter_meta()["base_model_sha256"] == sha
    folder = reader_dir(sha)
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    said = []
    ensure_reader_export(embedder, said.append)  # already there: not exported again
    assert said == [] and (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert open_reader("0" * 64) is None  # other weights have no reader


def test_reads_the_answer_inside_the_window_it_is_given(reader):
    reading = reader.read("Who built the Old Harbour Lighthouse?", [LIGHTHOUSE])[0]
    score, a, b, p = reading.best(0, len(LIGHTHOUSE))
    assert LIGHTHOUSE[a:b] == "Margaret Ellison" and 0 < p <= 1
    # inside another sentence only, it finds something there, and scores it lower
    other = LIGHTHOUSE.index("Its lamp")
    low, a2, b2, _ = reading.best(other, len(LIGHTHOUSE))
    assert a2 >= other and low < score
    assert reading.best(0, 3) is None or reading.best(0, 3)[2] <= 3
    # with the engineer's name avoided ("who else?") it never picks her, nor a span that reaches over her
    name = (LIGHTHOUSE.index("Margaret"), LIGHTHOUSE.index("Ellison.") + len("Ellison"))
    _, a3, b3, _ = reading.best(0, len(LIGHTHOUSE), avoid=[name])
    assert b3 <= name[0] or a3 >= name[1]
    assert reading.best(name[0], name[1], avoid=[name]) is None


def test_one_batch_gives_what_each_passage_gives_alone(reader):
    q = "When was the lamp electrified?"
    long = " ".join(["Trafficking in persons is punishable by imprisonment."] * 80)  # cut at 384 tokens
    together = reader.read(q, [LIGHTHOUSE, long, "x"])
    for text, r in zip([LIGHTHOUSE, long, "x"], together):
        alone = reader.read(q, [text])[0]
        mask = np.isfinite(alone.start)
        assert np.allclose(r.start[: len(alone.start)][mask], alone.start[mask], atol=1e-3)
    assert LIGHTHOUSE[slice(*together[0].best(0, len(LIGHTHOUSE))[1:3])] == "1931"


def test_ask_answers_with_the_readers_span_and_never_the_title(tmp_path: Path, embedder, reader):
    import qa
    from conftest import build_at

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.txt").write_text(LIGHTHOUSE)
    (docs / "okapi.txt").write_text("Okapi report\n\nThe okapi reserve in Ituri was founded in 1992.\n")
    build_at(docs, tmp_path / "index", embedder)
    s = qa.Searcher(tmp_path / "index", embedder=embedder)
    a = s.ask("Who built the Old Harbour Lighthouse?")
    assert "built in 1872" in a.answer.sentence
    assert a.answer.span is not None and a.answer.span.text == "Margaret Ellison"
    assert a.answer.span.kind == "person"
    assert a.answer.sentence[a.answer.span.start:a.answer.span.end] == "Margaret Ellison"
    when = s.ask("How far out to sea can the lamp be seen?").answer
    assert when.span is not None and "18 miles" in when.span.text
    # why-questions get no span: a reason is a clause
    assert s.ask("Why was the lamp electrified?").answer is None or s.ask("Why was the lamp electrified?").answer.span is None


@pytest.mark.slow  # exports the three small models again: ~6 s
def test_an_up_to_date_index_from_before_the_reader_gets_it_on_the_next_qa_index(tmp_path: Path, embedder, reader):
    import shutil

    import qa.reader
    from conftest import build_at
    from qa.reader import reader_dir, reader_missing

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.txt").write_text(LIGHTHOUSE)
    build_at(docs, tmp_path / "index", embedder)
    sha = embedder.identity().sha256
    for kind in ("reader", "relevance", "sentence"):
        shutil.rmtree(reader_dir(sha, kind))  # as if built by a version without the reader
        assert reader_missing(sha, kind)
        qa.reader._opened.pop((kind, sha), None)  # a process that has not opened it yet (the web page, say)
        assert qa.reader.open_reader(sha, kind) is None
    report = build_at(docs, tmp_path / "index", embedder)
    assert report.up_to_date and not any(reader_missing(sha, kind) for kind in qa.reader.KINDS)
    assert qa.reader.open_reader(sha) is not None  # "no export yet" was not remembered
    assert qa.reader.open_reader(sha, "relevance") is not None and qa.reader.open_reader(sha, "sentence") is not None


def test_a_question_as_long_as_the_page_accepts_is_read_not_refused(reader, searcher):
    from qa.search import MAX_QUESTION_CHARS

    long = ("When was the law on combating human trafficking adopted " * 80)[:MAX_QUESTION_CHARS]
    reading = reader.read(long, [LIGHTHOUSE, ""])
    assert reading[0].best(0, len(LIGHTHOUSE)) is not None and reading[1].best(0, 1) is None
    answer = searcher.ask(long)  # answered (or not found), never an exception
    assert answer.passages
