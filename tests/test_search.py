import json
from pathlib import Path

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


def test_how_many_passages_are_shown_never_changes_the_answer(searcher):
    # the sentence scorer weighs a sentence against those of the five best passages: asked
    # with k=3 this question once got another answer ("The exploitation of people...")
    question = "What has made the challenges of trafficking worse lately?"
    five = searcher.ask(question, k=5)
    assert "increased violence" in five.answer.sentence
    for k in (1, 2, 3, 8):
        answer = searcher.ask(question, k=k)
        assert len(answer.passages) == k
        assert answer.answer == five.answer and answer.confidence == pytest.approx(five.confidence)
        assert answer.answer.sentence in [h.answer_sentence for h in answer.passages]  # its passage is shown


def test_many_passages_never_mark_one_sentence_twice(searcher):
    # passages overlap in the file; past the five the answer is scored over, they were once
    # scored apart and marked a sentence the higher one already showed
    answer = searcher.ask("On what date did the chairman meet the American delegation?", k=8)
    marked = [(h.citation.document, h.answer_sentence) for h in answer.passages]
    assert len(marked) == 8 and len(set(marked)) == len(marked)


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


def test_a_document_the_index_does_not_know_is_named_in_the_error(searcher):
    with pytest.raises(qa.InvalidArgument, match=r"Not in the index: 'nosuch.txt'\..*qa info"):
        searcher.ask("Who chairs the Military Chamber?", documents=["nosuch.txt"])
    with pytest.raises(qa.InvalidArgument, match=f"Did you mean '{UN}'"):  # a near miss is named
        searcher.ask("Who chairs the Military Chamber?", documents=[UN[:-5] + ".txt"])
    with pytest.raises(qa.InvalidArgument, match="not one string"):
        searcher.ask("Who chairs the Military Chamber?", documents=UN)


def test_overlong_question_gets_a_notice(searcher):
    answer = searcher.ask("trafficking " * 400)
    assert any("tokens long" in n for n in answer.notices)
    cut = searcher.ask("Who chairs the Military Chamber? " + "x" * 5000)  # past 4,000 characters: cut, and said
    assert any("5,033 characters long; only its first 4,000 were read" in n for n in cut.notices)
    assert len(cut.question) == 4000


def test_near_duplicate_passages_are_shown_once_with_every_place(docs, tmp_path, embedder):
    """The same report with a changed date and a typo is one text listed in two places."""
    text = (docs / COURT).read_text(encoding="utf-8")
    near = text.replace("28th of June 2005", "29th of June 2005").replace("comphersevely", "comprehensively")
    assert near != text
    (docs / "reprint.txt").write_text(near, encoding="utf-8")
    qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    answer = qa.Searcher(tmp_path / "index", embedder=embedder).ask("When was the trafficking law adopted?", k=3)
    top = answer.passages[0]
    assert {top.citation.document} | {c.document for c in top.also_in} == {COURT, "reprint.txt"}
    assert sum("of June 2005" in h.text for h in answer.passages) == 1


def test_collapse_keeps_different_passages_apart():
    from qa.ranking import NEAR_DUPLICATE, _jaccard, shingles

    a = shingles("The law on combating human trafficking was adopted on 28th of June 2005 by parliament.")
    b = shingles("The taskforce was set up on 6th of May 2004 by presidential decree in Baku.")
    assert _jaccard(a, b) < NEAR_DUPLICATE and _jaccard(a, a) == 1.0


SHARED_WORDS = Path(__file__).parent / "data" / "sample_offtopic.jsonl"


def test_questions_that_only_share_words_are_not_answered(searcher):
    items = [json.loads(x) for x in SHARED_WORDS.read_text().splitlines() if x.strip()]
    assert len(items) >= 10
    refused = [not searcher.ask(i["q"]).answered for i in items if i["split"] == "test"]
    # measured 7 of 12 (8 before the title stopped being added to BM25; README "Quality");
    # the goal of 0.9 is not reached with word and score features alone
    assert sum(refused) >= 0.55 * len(refused), refused
    for q in ("What is the population of Azerbaijan?", "Which languages are spoken in Azerbaijan?"):
        answer = searcher.ask(q)
        assert answer.answer is None and answer.label == "weak" and answer.passages


def test_filtered_search_refuses_what_the_chosen_documents_do_not_say(searcher):
    answer = searcher.ask("Who chairs the Military Chamber?", documents=[UN])
    assert answer.answer is None


FOLLOWUPS = Path(__file__).parent / "data" / "followups.jsonl"


def test_follow_up_questions_use_the_conversation(searcher):
    talks = [json.loads(x) for x in FOLLOWUPS.read_text().splitlines() if x.strip()]
    right = total = 0
    for talk in (t for t in talks if t["corpus"] == "sample"):
        history = []
        for turn in talk["turns"]:
            answer = searcher.ask(turn["q"], history=history)
            if history:
                total += 1
                assert answer.interpreted_as and answer.interpreted_as.startswith(turn["q"])
                right += answer.answered and any(g in answer.answer.sentence for g in turn["gold"])
            history.append((turn["q"], answer))
    assert total >= 8 and right >= 0.7 * total


def test_a_follow_ups_short_answer_is_judged_with_what_it_carried(searcher):
    first = searcher.ask("Tell me about the law on combating human trafficking")
    answer = searcher.ask("When was it adopted?", history=[first])
    # the law's name is what "it" stands for, so it restates the question; the date answers
    assert answer.answer.span is not None and answer.answer.span.text == "28th of June 2005"


def test_who_else_is_never_answered_with_whom_the_conversation_already_named(searcher):
    first = searcher.ask("Who met the US officials?")
    assert first.answer.span.text == "Aziz Seyidov"
    answer = searcher.ask("And who else attended?", history=[("Who met the US officials?", first)])
    span = answer.answer.span
    assert span is not None and "Seyidov" not in span.text
    assert any(name in span.text for name in ("Takahashi", "Solley", "Huseynova")), span.text


def test_a_question_that_stands_alone_is_not_rewritten(searcher):
    first = searcher.ask("Who chairs the Military Chamber?")
    answer = searcher.ask("When did Azerbaijan sign the UN convention against organized crime?", history=[first])
    assert answer.interpreted_as is None
    assert "12th of December 2000" in answer.answer.sentence
