"""Choosing the backend: the same index on Milvus Lite as on FAISS, and moving between them embeds nothing."""

from __future__ import annotations

import json

import pytest

import qa
from qa.cli import main
from qa.current import load

from conftest import COURT, ROOT

QUESTIONS = [json.loads(line) for line in (ROOT / "tests/data/sample_questions.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_milvus_answers_like_faiss_and_migration_embeds_nothing(docs, tmp_path, embedder, capsys):
    index = tmp_path / "index"
    assert main(["index", "--documents", str(docs), "--index", str(index), "--backend", "milvus", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["store"] == "milvus" and first["passages"] > 5
    gen = load(index)
    assert gen.manifest.store.params["uri"] == "generation-folder" and (gen.path / "milvus.db").exists()
    on_milvus = qa.Searcher(index, embedder=embedder)
    answers = {q["q"]: on_milvus.ask(q["q"], k=3) for q in QUESTIONS}
    assert on_milvus.ask("Who chairs the Military Chamber?", k=1).passages[0].citation.document == COURT
    assert qa.verify(index, docs).ok

    # To FAISS: a rebuild said plainly, every vector from the cache.
    report = qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder)
    assert report.full_rebuild_reason == "the backend changed from milvus to faiss" and report.embedded == 0
    on_faiss = qa.Searcher(index, embedder=embedder)
    for q in QUESTIONS:
        a, b = answers[q["q"]], on_faiss.ask(q["q"], k=3)
        assert [h.citation for h in a.passages] == [h.citation for h in b.passages], q["q"]
        assert (a.answer is None) == (b.answer is None)
        assert all(abs(x.score - y.score) < 1e-4 for x, y in zip(a.passages, b.passages))

    # And back, with an update: only the new file is embedded.
    (docs / "okapi.txt").write_text("Okapi report\n\nThe okapi reserve in Ituri was founded in 1992.\n")
    report = qa.build_index(qa.Settings(documents=docs, index=index, backend="milvus"), embedder=embedder)
    assert report.embedded == 1 and report.store == "milvus"
    assert qa.Searcher(index, embedder=embedder).ask("When was the okapi reserve founded?", k=1).passages[0].citation.document == "okapi.txt"
    assert qa.verify(index, docs).ok
