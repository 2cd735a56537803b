"""Second-stage rescoring: the best stored sentence lifts a passage whose one sentence answers."""

from __future__ import annotations

import numpy as np

from qa.rescore import rescore
from qa.sentence_vectors import Pending, SentenceVectors


def unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def stored(tmp_path, per_passage):
    """Real stored sentence vectors for passages with these sentence vectors."""
    class P:  # only the sentence count matters to the layout
        def __init__(self, n):
            self.sentences = [(0, 0, 0, 0)] * n

    vectors = np.stack([v for vs in per_passage for v in vs])
    Pending.build(None, np.zeros(0, np.int64), [P(len(vs)) for vs in per_passage], vectors).write(tmp_path)
    return SentenceVectors(tmp_path, len(per_passage), vectors.shape[1])


def test_a_passage_with_an_answering_sentence_moves_up(tmp_path):
    q = unit(1, 0, 0)
    sv = stored(tmp_path, [[unit(0, 1, 0), unit(0, 0, 1)], [unit(0, 1, 1), unit(1, 0.1, 0)], [unit(0, 0, 1)]])
    rows, scores = rescore(sv, q, [0, 1, 2], [0.60, 0.55, 0.50], depth=3, weight=0.5)
    assert rows == [1, 0, 2]
    assert scores == sorted(scores, reverse=True)


def test_only_the_top_depth_is_rescored_and_the_rest_stays_below(tmp_path):
    q = unit(1, 0, 0)
    sv = stored(tmp_path, [[unit(0, 1, 0)], [unit(0, 1, 0)], [unit(1, 0, 0)]])
    rows, scores = rescore(sv, q, [0, 1, 2], [0.6, 0.5, 0.4], depth=2, weight=0.5)
    assert rows == [0, 1, 2]  # row 2's perfect sentence is not looked at below the depth
    assert scores[2] <= scores[1]


def test_without_stored_vectors_nothing_changes():
    assert rescore(None, unit(1, 0), [3, 1], [0.5, 0.4]) == ([3, 1], [0.5, 0.4])
