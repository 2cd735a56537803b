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
