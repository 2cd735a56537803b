"""BM25 scored from the saved arrays agrees with bm25s itself, without importing it to answer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from qa import lexical
from qa.lexical import IMPACT_ROWS, IMPACT_WEIGHTS, Lexical, tokenize

from conftest import ROOT, SAMPLES

QUESTIONS = ["When was the law on combating human trafficking adopted?", "section 144(1) criminal code",
             "Who chairs the Military Chamber? chairs chairs", "zeppelin xylophone", "the of and", ""]


def _texts() -> list[str]:
    out = []
    for f in sorted(SAMPLES.glob("*.txt")):
        out += [p for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return out


def test_scores_equal_bm25s_scores(tmp_path):
    import bm25s

    Lexical.write(tmp_path, _texts())
    ours = Lexical.load(tmp_path)
    theirs = bm25s.BM25.load(str(tmp_path), allow_pickle=False)
    assert len(ours) == len(_texts())
    for q in QUESTIONS:
        [terms] = tokenize([q])
        expected = theirs.get_scores(terms) if terms and theirs.get_tokens_ids(terms) else np.zeros(len(ours))
        assert np.allclose(ours.scores(q), expected, atol=1e-5), q


def test_answering_does_not_import_bm25s_or_scipy(tmp_path):
    Lexical.write(tmp_path, _texts())
    code = (f"import sys; from qa.lexical import Lexical; l = Lexical.load({str(tmp_path)!r}); "
            "assert l.scores('trafficking law').max() > 0; print('bm25s' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["False", "False"]


def test_an_index_saved_before_the_stopword_list_was_kept_still_loads(tmp_path):
    # Releases before stopwords.json tokenised with bm25s's English list; such an
    # index (an upgraded user's, or qa eval's cache) must answer as before.
    Lexical.write(tmp_path, _texts())
    with_list = [Lexical.load(tmp_path).scores(q) for q in QUESTIONS]
    (tmp_path / "stopwords.json").unlink()
    without = Lexical.load(tmp_path)
    for q, expected in zip(QUESTIONS, with_list):
        assert np.array_equal(without.scores(q), expected)
    assert without.scores("the of and").max() == 0  # stop words still skipped


def _exact_top(index: Lexical, q: str, depth: int) -> tuple[list, list]:
    scores = index.scores(q)
    rows = np.flatnonzero(scores > 0)
    rows = rows[np.lexsort((rows, -scores[rows]))][:depth]
    return rows.tolist(), scores[rows].tolist()


def test_top_is_the_exact_best_while_the_postings_fit_and_index_without_impact_order_answers_alike(tmp_path):
    Lexical.write(tmp_path, _texts())
    ours = Lexical.load(tmp_path)
    for q in QUESTIONS + ["law court section criminal code human"]:
        for depth in (1, 5, 1000):
            assert [list(x) for x in ours.top(q, depth)] == list(_exact_top(ours, q, depth)), (q, depth)
    (tmp_path / IMPACT_ROWS).unlink()
    (tmp_path / IMPACT_WEIGHTS).unlink()
    older = Lexical.load(tmp_path)  # written before impact order was kept: scores every row
    for q in QUESTIONS:
        assert [list(x) for x in older.top(q, 5)] == list(_exact_top(ours, q, 5)), q


def test_cut_postings_still_give_exact_scores_and_the_rows_with_the_highest_weights(tmp_path, monkeypatch):
    Lexical.write(tmp_path, _texts())
    ours = Lexical.load(tmp_path)
    q = "the law on human trafficking adopted by the parliament and the court"
    postings = sum(b - a for a, b in ours._columns(q))
    monkeypatch.setattr(lexical, "POSTINGS", postings // 4)
    rows, scores = ours.top(q, 5)
    assert 0 < len(rows) <= 5 and np.array_equal(scores, ours.scores(q)[rows])
    assert list(scores) == sorted(scores, reverse=True)
    exact_rows, _ = _exact_top(ours, q, 5)
    assert rows[0] == exact_rows[0]  # the best match holds the rare terms' highest weights


def test_scores_of_and_count_read_only_the_asked_rows_and_agree_with_full_scoring(tmp_path):
    Lexical.write(tmp_path, _texts())
    ours = Lexical.load(tmp_path)
    rows = np.array([len(ours) - 1, 0, 3, 2, 3])
    for q in QUESTIONS:
        full = ours.scores(q)
        assert np.array_equal(ours.scores_of(q, rows), full[rows]), q
        assert ours.count(q) == int((full > 0).sum()), q
        assert ours.count(q, np.arange(0, len(ours), 2)) == int((full[::2] > 0).sum()), q


def test_a_passage_is_found_by_the_words_of_the_heading_it_sits_under(tmp_path):
    from qa.lexical import keyword_text

    texts = [keyword_text("Guide", "Use at least 4096 bits.", "2. Membership › 2.3. Registering as a member"),
             keyword_text("Guide", "Expiry comes after two years.", "2. Membership › 2.4. Expiry")]
    assert "Registering" in texts[0] and "Membership" not in texts[0]  # the heading it sits under, not the chapter
    Lexical.write(tmp_path, texts)
    scores = Lexical.load(tmp_path).scores("key size when registering")
    assert scores[0] > scores[1]
    # a heading the text already opens with is not counted twice
    assert keyword_text("", "2.3. Registering\n\nText.", "2.3. Registering").count("Registering") == 1
