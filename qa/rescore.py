"""Second stage: the top fused candidates rescored with their best sentence.

A passage is embedded as a whole, so a long passage about several things
matches a precise question less well than its one answering sentence does.
The sentence vectors stored at build time give, for the few top candidates,
the cosine of their best sentence to the question at the cost of one small
matrix product; adding it to the fused score reorders the top of the list.
Constants chosen by `python -m bench.tune_rescore grid` on the manuals'
tune questions and SQuAD-tune train: the best mean first-passage rate among
the settings that lower neither the first-passage nor the top-5 rate of any
of the four (first passage 0.667/0.805/0.571/0.827 -> 0.667/0.829/0.571/0.832
on developers-reference/debian-policy/debian-reference/SQuAD train, top 5
debian-reference 0.886 -> 0.914). Heavier weights gain more on some manuals
(1.0: debian-reference tune 0.571 -> 0.600) but cost SQuAD-tune dev 0.007 of
first passage, more than it may lose; at 0.1 the best sentence mostly breaks
near-ties. Depth 10, 20 and 40 gave the same figures; 10 costs least.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# How many of the fused candidates are rescored, and the weight of their best
# sentence's cosine added to the fused score.
DEPTH = 10
WEIGHT = 0.1


def rescore(sentences, q: np.ndarray, rows: Sequence[int], fused: Sequence[float],
            depth: int = DEPTH, weight: float = WEIGHT) -> tuple[list[int], list[float]]:
    """(rows, scores) with the top `depth` reordered by fused + weight * best sentence cosine.

    `sentences` is the generation's stored sentence vectors (None: nothing
    changes). Candidates below `depth` keep their order after the rescored
    ones; their scores are lowered just enough to stay below them.
    """
    rows, fused = list(rows), [float(s) for s in fused]
    n = min(depth, len(rows))
    if sentences is None or n == 0 or weight == 0:
        return rows, fused
    best = np.array([float((sentences.of(r) @ q).max()) if sentences.count(r) else 0.0 for r in rows[:n]])
    top = np.asarray(fused[:n]) + weight * best
    order = np.argsort(-top, kind="stable")
    head_rows = [rows[i] for i in order]
    head = [float(top[i]) for i in order]
    floor = head[-1]
    tail = [min(s, floor) for s in fused[n:]]
    return head_rows + rows[n:], head + tail
