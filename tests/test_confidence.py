"""The calibrated "not found" probability: features that mean the same on any corpus."""

from __future__ import annotations

import numpy as np

from qa import confidence


def test_words_missing_from_the_documents_count_more_the_more_text_there_is():
    assert confidence.missing(1.0, 5000) == 0.0  # every rare word found
    small, large = confidence.missing(0.0, 15), confidence.missing(0.0, 5000)
    assert 0.0 < small < large == 1.0
    assert confidence.missing(0.5, 5000) == 0.5


def test_a_question_whose_rare_words_a_large_corpus_lacks_is_less_likely_answered():
    x = np.array([0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 1.0, 0.0])
    assert len(x) == len(confidence.FEATURES)
    away = x.copy()
    away[confidence.FEATURES.index("missing")] = confidence.missing(0.0, 5000)
    assert confidence.probability(away) < confidence.probability(x)
    assert confidence.label(confidence.probability(away)) in ("weak", "partial")
