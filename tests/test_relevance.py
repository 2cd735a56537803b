"""The passage relevance model and the answer-sentence model: exported from the shipped adapters, checked, and used
to order the best passages and to choose the answering sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

LIGHTHOUSE = ("The Old Harbour Lighthouse stands on the north pier. It was built in 1872 by the engineer "
              "Margaret Ellison. Its lamp was electrified in 1931.")
HARVEST = "The harvest festival is held every October in the market square, with music and a cider stall."


@dataclass
class Passage:
    title: str
    text: str


def exported(embedder, kind: str):
    from qa.reader import open_reader
    from qa.reader_export import ensure_reader_export

    said = []
    assert ensure_reader_export(embedder, said.append, kind) is not None, said
    model = open_reader(embedder.identity().sha256, kind)
    assert model is not None
    return model


@pytest.fixture(scope="module")
def relevance(embedder):
    return exported(embedder, "relevance")


def test_the_export_is_made_once_checked_and_found_by_its_weights(embedder, relevance):
    from qa.reader import adapter_meta, open_reader, reader_dir
    from qa.reader_export import ensure_reader_export
    from qa.relevance import ADAPTER

    sha = embedder.identity().sha256
    assert adapter_meta(ADAPTER)["base_model_sha256"] == sha
    folder = reader_dir(sha, "relevance")
    assert folder != reader_dir(sha)  # its own export beside the reader's
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    said = []
    ensure_reader_export(embedder, said.append, "relevance")
    assert said == [] and (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert open_reader("0" * 64, "relevance") is None  # other weights have none


def test_scores_the_passage_that_answers_above_one_that_does_not(relevance):
    s = relevance.scores("Who built the Old Harbour Lighthouse?", [HARVEST, LIGHTHOUSE])
    assert s.shape == (2,) and s[1] > s[0]
    # one batch gives what each text gives alone (padding changes nothing)
    alone = [relevance.scores("Who built the Old Harbour Lighthouse?", [t])[0] for t in (HARVEST, LIGHTHOUSE)]
    assert np.allclose(s, alone, atol=1e-4)
    assert relevance.scores("anything", []).shape == (0,)
    # a question as long as the page accepts still leaves the passage room
    assert np.isfinite(relevance.scores("When was it built? " * 200, [LIGHTHOUSE])).all()


def test_fuse_orders_the_best_passages_by_score_plus_weighted_relevance(relevance):
    from qa.relevance import DEPTH, WEIGHT, fuse, passage_text

    passages = {0: Passage("Harvest", HARVEST), 1: Passage("Lighthouse", LIGHTHOUSE), 2: Passage("", "x")}
    q = "Who built the Old Harbour Lighthouse?"
    # a dead heat in the second stage: relevance decides, and carries the other columns along
    rows, scores, names = fuse(relevance, q, [0, 1, 2], passages.get, [0.5, 0.5, 0.49], ["h", "l", "x"])
    expected = np.array([0.5, 0.5, 0.49]) + WEIGHT * relevance.scores(q, [passage_text(passages[r]) for r in (0, 1, 2)])
    assert rows == np.argsort(-expected, kind="stable").tolist() and rows[0] == 1
    assert np.allclose(scores, expected[rows]) and names == [["h", "l", "x"][r] for r in rows]
    # a clear lead in the second stage outweighs it
    assert fuse(relevance, q, [0, 1], passages.get, [0.9, 0.5])[0] == [0, 1]
    # passages past DEPTH are not read: they follow, their scores capped at the last one read
    many = {r: passages[r % 2] for r in range(DEPTH + 2)}
    rows, scores = fuse(relevance, q, list(many), many.get, [1.0] * DEPTH + [2.0, 2.0])
    assert rows[DEPTH:] == [DEPTH, DEPTH + 1] and max(scores[DEPTH:]) <= min(scores[:DEPTH])
    assert fuse(None, q, [0, 1], passages.get, [0.1, 0.9]) == ([0, 1], [0.1, 0.9])


def test_ranking_uses_it_and_a_users_cross_encoder_replaces_it(searcher, relevance):
    from qa.relevance import WEIGHT, passage_text

    q = "Who chairs the Military Chamber?"
    passages, scores = searcher.rank(q, depth=10)

    class Keep:  # a "cross-encoder" that keeps the second stage's order
        def order(self, question, texts):
            return list(range(len(texts)))

    from qa.search import Searcher

    plain, plain_scores = Searcher(searcher.root, embedder=searcher.embedder, reranker=Keep()).rank(q, depth=40)
    by_key = {(p.document, p.line_start): s for p, s in zip(plain, plain_scores)}
    for p, s in zip(passages, scores):  # each is one of the second stage's best, its score plus the weighted relevance
        second = by_key[(p.document, p.line_start)]
        assert s == pytest.approx(second + WEIGHT * relevance.scores(q, [passage_text(p)])[0], abs=1e-4)
    assert scores == sorted(scores, reverse=True)
    # the single-signal modes are left as they are: the weight was chosen on the hybrid score's scale
    for mode in ("dense", "bm25"):
        assert searcher.rank(q, depth=10, mode=mode) == Searcher(searcher.root, embedder=searcher.embedder,
                                                                   reranker=Keep()).rank(q, depth=10, mode=mode)


def test_a_missing_adapter_orders_without_it_and_never_stops_an_answer(searcher, relevance, tmp_path, monkeypatch):
    from qa import reader

    monkeypatch.setitem(reader.KINDS, "relevance", (tmp_path / "gone.safetensors", 1))  # a broken install
    monkeypatch.setattr(reader, "_opened", {})
    q = "Who chairs the Military Chamber?"
    assert reader.open_reader(searcher.generation.manifest.model.sha256, "relevance") is None
    passages, scores = searcher.rank(q, depth=5)
    assert scores == sorted(scores, reverse=True) and searcher.ask(q).answer is not None


@pytest.fixture(scope="module")
def judge(embedder):
    return exported(embedder, "sentence")


def test_the_sentence_model_has_its_own_export_and_prefers_the_answering_sentence(embedder, relevance, judge):
    from qa.reader import reader_dir
    from qa.relevance import sentence_texts

    sha = embedder.identity().sha256
    assert len({reader_dir(sha), reader_dir(sha, "relevance"), reader_dir(sha, "sentence")}) == 3
    passage = Passage("The Old Harbour Lighthouse", LIGHTHOUSE)
    second, third = LIGHTHOUSE.index("It was"), LIGHTHOUSE.index("Its lamp")
    passage.sentences = [(0, second - 1, 1, 1), (second, third - 1, 1, 1), (third, len(LIGHTHOUSE), 1, 1)]
    texts = sentence_texts(passage)
    assert texts[1] == "The Old Harbour Lighthouse\nIt was built in 1872 by the engineer Margaret Ellison."
    for q, right in (("Who built the Old Harbour Lighthouse?", 1), ("When was its lamp electrified?", 2),
                     ("Where does the lighthouse stand?", 0)):
        s = judge.scores(q, texts)
        assert int(np.argmax(s)) == right, (q, s)
    # several passages in one batch, split back per passage; no model, no logits
    from qa.relevance import judge_sentences

    other = Passage("", HARVEST)
    other.sentences = [(0, len(HARVEST), 1, 1)]
    q = "Who built the Old Harbour Lighthouse?"
    both = judge_sentences(judge, q, [passage, other])
    assert [len(x) for x in both] == [3, 1]
    assert np.allclose(both[0], judge.scores(q, texts), atol=1e-4) and np.allclose(both[1], judge.scores(q, [HARVEST]), atol=1e-4)
    assert judge_sentences(None, q, [passage]) == []


def test_ask_weighs_the_sentence_model_and_answers_without_it(searcher, judge, monkeypatch):
    import qa.sentence_scorer
    from qa import reader

    q = "When was the law on combating human trafficking adopted?"
    a = searcher.ask(q)
    assert "2005" in a.answer.sentence
    # its logit moves the chosen sentence's score by its weight
    monkeypatch.setattr(qa.sentence_scorer, "JUDGED_WEIGHT", qa.sentence_scorer.JUDGED_WEIGHT + 1.0)
    moved = searcher.ask(q)
    assert moved.answer.sentence == a.answer.sentence and moved.answer.score != pytest.approx(a.answer.score)
    # without it (a broken install) the answer still comes
    monkeypatch.setitem(reader.KINDS, "sentence", (Path("/nonexistent/gone.safetensors"), 1))
    monkeypatch.setattr(reader, "_opened", {})
    assert searcher.ask(q).answer is not None
