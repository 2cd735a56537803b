"""Sentence vectors stored at build time: the same vectors the answer code embedded per question, carried by updates."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

import qa
from qa import manifest as manifest_io, sentence_vectors
from qa.current import load

from conftest import COURT, OKAPI, ROOT, build_at

QUESTIONS = [json.loads(line) for line in (ROOT / "tests/data/sample_questions.jsonl").read_text().splitlines() if line.strip()]


def _by_text(gen) -> dict[str, np.ndarray]:
    """Every stored sentence vector of a generation, by its text."""
    passages = list(gen.index.passages())
    return sentence_vectors.by_text(gen.sentences, range(len(passages)), passages)


def _without_sentence_vectors(index, into):
    """A copy of `index` as qa wrote it before sentence vectors: their files gone, the manifest not listing them."""
    shutil.copytree(index, into)
    gen = load(into)
    for f in sentence_vectors.FILES:
        (gen.path / f).unlink()
    files = {k: v for k, v in gen.manifest.files.items() if k not in sentence_vectors.FILES}
    manifest_io.write(gen.path, replace(gen.manifest, files=files))
    return into


def test_every_sentence_has_its_own_vector_as_the_answer_code_cuts_it(sample_index, embedder):
    settings, report = sample_index
    gen = load(settings.index)
    passages = list(gen.index.passages())
    assert gen.sentences is not None and len(gen.sentences) == sum(len(p.sentences) for p in passages)
    for row in (0, len(passages) // 2, len(passages) - 1):
        p = passages[row]
        fresh = embedder.encode([p.text[a:b] for a, b, _, _ in p.sentences])
        stored = gen.sentences.of(row)
        assert stored.shape == fresh.shape
        # int8 with a per-row scale: a cosine moves by well under 0.001
        assert np.min(np.sum(stored * fresh, axis=1)) > 0.999


@pytest.mark.slow  # every sample question asked twice, one index embedding each sentence: ~25 s
def test_answers_with_stored_vectors_equal_answers_embedding_sentences(sample_index, embedder, tmp_path, monkeypatch):
    # An index without stored vectors ranks by the fused score alone (its second stage would have to embed
    # the pool's sentences) and embeds only a question's first MAX_SENTENCES; with the second stage off and
    # that limit lifted, both must choose the same sentences.
    import qa.search
    from qa import ranking, sentence_scorer

    real = qa.search.open_reader

    monkeypatch.setattr(ranking, "SENTENCE_EVIDENCE", 0.0)
    monkeypatch.setattr(sentence_scorer, "MAX_SENTENCES", 10_000)
    # and the relevance model off: its order brings a passage whose two best sentences differ by less than
    # int8 rounding moves them (2.565 against 2.568) among those read for the answer
    monkeypatch.setattr(qa.search, "open_reader", lambda sha, kind="reader": None if kind == "relevance" else real(sha, kind))
    stored = qa.Searcher(sample_index[0].index, embedder=embedder)
    old = qa.Searcher(_without_sentence_vectors(sample_index[0].index, tmp_path / "old"), embedder=embedder)
    assert stored.generation.sentences is not None and old.generation.sentences is None
    for q in QUESTIONS:
        a, b = stored.ask(q["q"], k=5), old.ask(q["q"], k=5)
        assert [h.answer_sentence for h in a.passages] == [h.answer_sentence for h in b.passages], q["q"]
        assert (a.answer and a.answer.sentence) == (b.answer and b.answer.sentence)
        assert a.label == b.label and abs(a.confidence - b.confidence) < 0.01


def test_updates_carry_sentence_vectors_and_embed_only_new_sentences(built, embedder):
    docs, index = built
    before = _by_text(load(index))
    (docs / "okapi.txt").write_text(OKAPI)
    report = build_at(docs, index, embedder)
    after = load(index)
    assert report.added == ("okapi.txt",) and after.sentences is not None
    vectors = _by_text(after)
    assert set(before) < set(vectors)
    # carried rows are copied as stored: bit for bit, never quantised twice
    assert all(np.array_equal(before[t], vectors[t]) for t in before)
    okapi = [p for p in after.index.passages() if p.document == "okapi.txt"]
    assert all(p.text[a:b] in vectors for p in okapi for a, b, _, _ in p.sentences)

    (docs / COURT).unlink()
    report = build_at(docs, index, embedder)
    assert report.removed == (COURT,) and report.embedded == 0
    gen = load(index)
    assert len(gen.sentences) == sum(len(p.sentences) for p in gen.index.passages())
    assert all(np.array_equal(vectors[t], v) for t, v in _by_text(gen).items())
    assert qa.verify(index, docs).ok


def test_an_index_without_sentence_vectors_answers_and_updates_as_before_until_rebuilt(built, embedder, tmp_path):
    docs, index = built
    old = _without_sentence_vectors(index, tmp_path / "old")
    assert qa.Searcher(old, embedder=embedder).ask("Who chairs the Military Chamber?", k=3).answered
    said: list[str] = []
    (docs / "okapi.txt").write_text(OKAPI)
    report = build_at(docs, old, embedder, log=said.append)
    assert report.added == ("okapi.txt",) and load(old).sentences is None
    assert any("qa index --full" in s for s in said)
    report = build_at(docs, old, embedder, full=True)
    gen = load(old)
    assert gen.sentences is not None and len(gen.sentences) == sum(len(p.sentences) for p in gen.index.passages())
    assert report.embedded == 0  # passages and sentences all from the embedding cache
    assert qa.verify(old, docs).ok


def test_damaged_sentence_vectors_are_refused(built):
    _, index = built
    gen = load(index)
    offsets = np.load(gen.path / sentence_vectors.OFFSETS)
    with pytest.raises(qa.IndexCorrupt, match="sentence vectors"):
        sentence_vectors.SentenceVectors(gen.path, len(offsets), gen.manifest.model.dimension)


def test_offsets_out_of_order_are_never_read_as_vectors(built, tmp_path):
    """Offsets are memory-mapped and checked where used (opening does not scan them): a passage
    whose offsets run backwards counts as having none, and carrying it over is refused."""
    _, index = built
    gen = load(index)
    copy = tmp_path / "damaged"
    shutil.copytree(gen.path, copy)
    offsets = np.load(copy / sentence_vectors.OFFSETS)
    offsets[2], offsets[3] = offsets[3], offsets[2] - 1
    np.save(copy / sentence_vectors.OFFSETS, offsets)
    damaged = sentence_vectors.SentenceVectors(copy, len(offsets) - 1, gen.manifest.model.dimension)
    assert damaged.count(2) == -1 and damaged.count(0) == gen.sentences.count(0)
    with pytest.raises(qa.IndexCorrupt, match="out of order"):
        damaged.of(2)
    with pytest.raises(qa.IndexCorrupt, match="out of order"):
        damaged.take(np.arange(len(offsets) - 1))


@pytest.mark.slow
def test_milvus_generations_store_sentence_vectors_too(docs, tmp_path, embedder):
    index = tmp_path / "index"
    qa.build_index(qa.Settings(documents=docs, index=index, backend="milvus"), embedder=embedder)
    gen = load(index)
    assert gen.manifest.store.kind == "milvus" and gen.sentences is not None
    answer = qa.Searcher(index, embedder=embedder).ask("Who chairs the Military Chamber?", k=3)
    assert answer.passages[0].citation.document == COURT and answer.answered
