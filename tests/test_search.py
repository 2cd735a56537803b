import pytest

import qa

from conftest import COURT, UN


@pytest.mark.parametrize(
    "question, expected, document",
    [
        ("When was the law on combating human trafficking adopted?", "28th of June 2005", COURT),
        ("Which criminal code section covers trafficking?", "section 144(1)", COURT),
        ("Who chairs the Military Chamber?", "Aziz Seyidov", COURT),
        ("When did Azerbaijan sign the UN convention against organized crime?", "12th of December 2000", COURT),
        ("What does Azerbaijan say about the link between trafficking and terrorism?", "nexus between trafficking", UN),
    ],
)
def test_sample_questions_put_the_answer_first(searcher, question, expected, document):
    answer = searcher.ask(question, k=3)
    top = answer.passages[0]
    assert expected in top.text
    assert top.citation.document == document
    assert answer.answer is not None and expected in answer.answer.sentence
    assert top.answer_sentence == answer.answer.sentence or expected in top.answer_sentence


def test_answer_citation_points_at_the_real_line(searcher, sample_index):
    answer = searcher.ask("When was the law on combating human trafficking adopted?")
    c = answer.answer.citation
    lines = (sample_index[0].documents / c.document).read_text(encoding="utf-8").split("\n")
    assert "28th of June 2005" in "\n".join(lines[c.line_start - 1 : c.line_end])
    assert c.line_start == c.line_end == 17


def test_off_topic_questions_are_not_answered(searcher):
    for q in ("What is the boiling point of water?", "Who won the 2018 World Cup?"):
        answer = searcher.ask(q)
        assert answer.answer is None
        assert answer.passages  # the nearest passages are still shown


def test_k_larger_than_the_corpus_returns_everything_once(searcher):
    answer = searcher.ask("human trafficking", k=1000)
    total = searcher.info().passages
    assert 0 < len(answer.passages) <= total
    assert len({h.text for h in answer.passages}) == len(answer.passages)
    assert [h.rank for h in answer.passages] == list(range(1, len(answer.passages) + 1))
    scores = [h.score for h in answer.passages]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_an_error(searcher, question):
    with pytest.raises(qa.EmptyQuestion):
        searcher.ask(question)


def test_identical_passages_are_shown_once_with_every_place(docs, tmp_path, embedder):
    (docs / "copy.txt").write_text((docs / COURT).read_text(encoding="utf-8"), encoding="utf-8")
    qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    answer = qa.Searcher(tmp_path / "index", embedder=embedder).ask("Who chairs the Military Chamber?", k=3)
    top = answer.passages[0]
    assert {top.citation.document} | {c.document for c in top.also_in} == {COURT, "copy.txt"}
    assert len({h.text for h in answer.passages}) == len(answer.passages)


def test_search_can_be_limited_to_documents(searcher):
    answer = searcher.ask("Who chairs the Military Chamber?", documents=[UN])
    assert answer.passages and {h.citation.document for h in answer.passages} == {UN}


def test_overlong_question_gets_a_notice(searcher):
    answer = searcher.ask("trafficking " * 400)
    assert any("tokens long" in n for n in answer.notices)
