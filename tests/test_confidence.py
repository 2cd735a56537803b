"""The calibrated "not found" probability: features that mean the same on any corpus."""

from __future__ import annotations

import numpy as np
import pytest

from qa import confidence


def test_words_missing_from_the_documents_count_more_the_more_text_there_is():
    assert confidence.missing(1.0, 5000) == 0.0  # every rare word found
    small, large = confidence.missing(0.0, 15), confidence.missing(0.0, 5000)
    assert 0.0 < small < large == 1.0
    assert confidence.missing(0.5, 5000) == 0.5


def test_a_question_whose_rare_words_a_large_corpus_lacks_is_less_likely_answered():
    x = np.array([0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 1.0, 0.0, 0.0])
    assert len(x) == len(confidence.FEATURES)
    away = x.copy()
    away[confidence.FEATURES.index("missing")] = confidence.missing(0.0, 5000)
    assert confidence.probability(away) < confidence.probability(x)
    assert confidence.label(confidence.probability(away)) in ("weak", "partial")


def test_names_are_capitalised_runs_past_the_first_word():
    assert confidence.names("What do I need to publish a package to the Arch User Repository?") == ["Arch User Repository"]
    assert confidence.names("Which Python version is the default in Debian 12?") == ["Python", "Debian 12"]
    assert confidence.names("What are Fedora's packaging guidelines?") == ["Fedora"]
    assert confidence.names("How do I take a screenshot on an iPhone?") == ["iPhone"]
    # the first word and "I" are capitalised by grammar, not because they name anything
    assert confidence.names("Besides /tmp, where may I write?") == []
    assert confidence.names("WHAT IS THE DEBIAN POLICY?") == []
    assert confidence.names("How To Install Packages On Debian?") == []  # title case, likewise
    # punctuation ends a name; a capital opening a later sentence is grammar
    assert confidence.names("What do Debian, Ubuntu and Fedora call it?") == ["Debian", "Ubuntu", "Fedora"]
    assert confidence.names("Thanks. How do I install it?") == []


def test_a_name_counts_only_in_a_folder_of_some_size():
    assert confidence.names_weight(15) == 0.0  # two news texts: "American" for a text that says "US"
    assert 0.0 < confidence.names_weight(300) < 1.0 == confidence.names_weight(1000) == confidence.names_weight(10**6)


def test_a_name_no_good_passage_holds_is_foreign(searcher):
    gen = searcher.generation

    def foreign(question):
        rows, _ = gen.index.keyword(question, confidence.NAMES_IN)
        return confidence.foreign_name(gen.index, question, list(rows))

    assert foreign("What did Interpol say about trafficking in Africa?")
    assert not foreign("Who chairs the Military Chamber of the Supreme Court?")
    # five-letter stems: "Azerbaijani" is found as "Azerbaijan"; a name is a run of words, in order
    assert not foreign("What did the Azerbaijani delegate say?")
    assert foreign("Who chairs the Azerbaijani Supreme Court?")  # the text: "Supreme Court of ... Azerbaijan"
    assert not foreign("how is trafficking punished?")  # no name at all


def test_with_a_foreign_name_a_large_corpus_answers_less_confidently():
    x = np.array([0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 1.0, 0.0, 0.0])
    named = x.copy()
    named[confidence.FEATURES.index("foreign_name")] = confidence.names_weight(5000)
    assert confidence.probability(named) < confidence.probability(x)


@pytest.mark.slow
def test_on_a_real_manual_a_question_about_another_distribution_is_not_found(tmp_path, embedder):
    import qa
    from conftest import ROOT, build_at

    manual = ROOT / "tests" / "data" / "manuals" / "developers-reference" / "documents" / "developers-reference.txt"
    docs = tmp_path / "docs"
    docs.mkdir()
    # its first chapters: some 300 passages, enough for a name to count
    (docs / "developers-reference.txt").write_text(manual.read_text()[:120_000])
    build_at(docs, tmp_path / "index", embedder)
    s = qa.Searcher(tmp_path / "index", embedder=embedder)
    off = s.ask("What do I need to publish a package to the Arch User Repository?")
    assert not off.answered and off.label == "weak"
    real = s.ask("What is the smallest OpenPGP key size accepted when registering as a Debian member?")
    assert real.answered and any("2048 bits" in h.text for h in real.passages)


def test_the_tuning_tool_fits_on_what_ask_computed(searcher):
    """bench.tune_confidence records the feature row `ask` gave the confidence: the fit is of the running system."""
    from bench.tune_confidence import ask_rows, probabilities
    from qa import search

    real_probability, real_match = confidence.probability, search.type_match
    items = [dict(q="Who chairs the Military Chamber?", gold=["Aziz Seyidov"], corpus="sample"),
             dict(q="How do I bake sourdough bread?", gold=[], corpus="sample"),
             dict(q="What is the punishment for trafficking under Norwegian law?", gold=[], corpus="sample",
                  shares="trafficking")]
    rows = ask_rows(searcher, items)
    assert confidence.probability is real_probability and search.type_match is real_match  # restored
    assert [r["answerable"] for r in rows] == [True, False, False] and rows[0]["first"] and rows[2]["shared"]
    x, led = np.array([r["x"] for r in rows]), np.array([r["led"] for r in rows], dtype=float)
    again = probabilities(x, led, confidence.WEIGHTS, confidence.LED_WEIGHT)
    assert np.allclose(again, [r["p"] for r in rows], atol=1e-9)
    assert rows[0]["sentence"] in searcher.ask(items[0]["q"]).answer.sentence


def test_the_reader_withholds_only_a_doubtful_answer_it_finds_no_span_for():
    low, high = confidence.ANSWER_AT + 0.1, confidence.READER_DOUBTS_UNDER + 0.1
    assert confidence.label(confidence.doubted(low, confidence.READER_REFUSE_AT - 1)) == "weak"
    assert confidence.doubted(low, confidence.READER_REFUSE_AT + 1) == low  # the reader found something
    assert confidence.doubted(high, confidence.READER_REFUSE_AT - 1) == high  # sure enough without it
    assert confidence.doubted(low, None) == low  # no reader (another model)


def test_a_shared_word_question_the_reader_finds_no_answer_to_is_not_found(searcher, monkeypatch):
    # shares "Supreme Court" and "Azerbaijan" with the sample; nothing says how long a term is
    question = "How long is a judge's term on the Supreme Court of Azerbaijan?"
    assert searcher.ask(question).answer is None
    monkeypatch.setattr(confidence, "READER_REFUSE_AT", float("-inf"))
    assert searcher.ask(question).answer is not None  # what the confidence alone said
    # a real question keeps its answer
    assert "6th of May 2004" in searcher.ask("When was the inter-agency task force set up?").answer.sentence


def test_a_question_kept_to_a_place_or_year_the_documents_never_mention_is_not_found(searcher):
    index = searcher.generation.index
    # a shared-word question: trafficking is the texts' topic, Norway is in none of them
    answer = searcher.ask("What punishment do traffickers get in Norway?")
    assert answer.answer is None and answer.label == "weak"
    assert 'The searched documents never mention "Norway".' in answer.notices
    assert confidence.unmentioned(index, "Which country hosted the OSCE summit on trafficking in 2010?") == "2010"
    assert confidence.unmentioned(index, "What do courts decide in Norway's law?") == "Norway's"
    # mentioned: as written, one letter away, as its people's name, or in capitals of a sentence's start
    for q in ("Who met the US officials in 2019?", "Who chairs the Military Chamber in Azerbajan?",
              "What do courts decide in Azerbaijani law?", "In Norway, who chairs the Military Chamber?",
              "Who assists with political affairs at the American embassy?"):
        assert confidence.unmentioned(index, q) is None, q
    # short names must be spelled as the text spells them: "Paris" is not "parts", "Jordan" not "word"
    assert confidence._near("Paris") == "paris" and "word" not in confidence._near("Jordan").split()
    assert {"italy", "nepal", "nepali"} <= set(confidence._near("Italian").split() + confidence._near("Nepalese").split())
    # with a document filter, only the chosen documents count
    un, court = "000_83f135e51c9c124e.txt", "003_d8ae16575e47e84d.txt"
    assert confidence.unmentioned(index, "What was debated in 2017?") is None
    assert confidence.unmentioned(index, "What was debated in 2017?", [court]) == "2017"
    assert searcher.ask("Who chairs the Military Chamber in Geneva?", documents=[un, court]).answer is None
