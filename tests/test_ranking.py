"""Ranking: fusion, the second stage on stored sentence vectors, collapse."""

from __future__ import annotations

import numpy as np

from qa import ranking


def test_best_cosines_are_each_passages_best_stored_sentence(searcher):
    gen = searcher.generation
    q = searcher.embedder.encode(["Who chairs the Military Chamber?"])[0]
    rows = list(range(len(gen.index)))
    got = gen.sentences.best_cosines(rows, q)
    want = [float((gen.sentences.of(r) @ q).max()) if gen.sentences.count(r) else 0.0 for r in rows]
    assert np.allclose(got, want, atol=1e-5)
    assert gen.sentences.best_cosines([], q).shape == (0,)


def test_the_second_stage_ranks_by_fused_score_plus_the_best_sentence(searcher):
    gen = searcher.generation
    question = "Which article of the penal code makes trafficking a crime?"
    q = searcher.embedder.encode([question])[0]
    rows, fused, dense = ranking.candidates(gen.index, question, q, 5, None)
    again, scores, dense2 = ranking.rescore(gen, rows, fused, dense, q)
    assert sorted(again) == sorted(rows) and scores == sorted(scores, reverse=True)
    expect = {r: f + ranking.SENTENCE_EVIDENCE * b for r, f, b in zip(rows, fused, gen.sentences.best_cosines(rows, q))}
    assert np.allclose(scores, [expect[r] for r in again], atol=1e-5)
    # each passage keeps its own cosine
    assert dict(zip(again, dense2)) == dict(zip(rows, dense))


def test_without_stored_sentence_vectors_the_fused_order_stays(searcher, sample_index, tmp_path):
    import qa
    from test_sentence_vectors import _without_sentence_vectors

    old = qa.Searcher(_without_sentence_vectors(sample_index[0].index, tmp_path / "old"), embedder=searcher.embedder)
    gen = old.generation
    assert gen.sentences is None
    question = "Which article of the penal code makes trafficking a crime?"
    q = old.embedder.encode([question])[0]
    rows, fused, dense = ranking.candidates(gen.index, question, q, 5, None)
    assert ranking.rescore(gen, rows, fused, dense, q) == (rows, fused, dense)


def test_the_answers_passage_leads_only_on_decisive_evidence():
    # scores of passages 1-3, their best sentences' scores; the answer came from passage `top`
    assert ranking.answer_leads([0.80, 0.75, 0.70], [1.0, 4.5, 0.0], 1)
    assert not ranking.answer_leads([0.80, 0.65, 0.70], [1.0, 4.5, 0.0], 1)  # passage 2 scored far lower
    assert not ranking.answer_leads([0.80, 0.75, 0.70], [1.0, 3.5, 0.0], 1)  # its sentence is not surer enough
    assert not ranking.answer_leads([0.80, 0.79, 0.78, 0.77], [0.0, 0.0, 0.0, 9.0], 3)  # the answer comes from the top 3
    assert not ranking.answer_leads([0.80], [1.0], 0)
    # a dead heat goes to the answer's passage on weaker evidence, not on none
    assert ranking.answer_leads([0.800, 0.799, 0.70], [1.0, 2.0, 0.0], 1)
    assert not ranking.answer_leads([0.800, 0.799, 0.70], [1.0, 1.2, 0.0], 1)
    assert not ranking.answer_leads([0.800, 0.790, 0.70], [1.0, 2.0, 0.0], 1)


def test_ask_shows_the_answers_passage_first_when_it_leads(searcher, monkeypatch):
    question = "Which article of the penal code makes trafficking a crime?"
    # a dead heat on the sample corpus (0.840 against 0.839): the passage holding the answer
    # ranks second, its sentence is surer by ~2.3 (without the reader and the relevance model, which settle it otherwise)
    import qa.search
    monkeypatch.setattr(qa.search, "open_reader", lambda sha, kind="reader": None)  # nor the relevance model
    after = searcher.ask(question)
    monkeypatch.setattr(ranking, "LEAD_TIE", 0.0)
    before = searcher.ask(question)
    assert "144(1)" in before.answer.sentence and "144(1)" not in before.passages[0].text
    assert after.answer == before.answer
    # the confidence judges the passage shown first: one that moved up on evidence answers more often
    assert after.confidence > before.confidence
    assert after.passages[0].answer_sentence == after.answer.sentence and "144(1)" in after.passages[0].text
    assert [h.rank for h in after.passages] == list(range(1, len(after.passages) + 1))
    assert sorted(h.text for h in after.passages) == sorted(h.text for h in before.passages)
