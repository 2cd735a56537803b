"""The answer itself: the sentence chosen, the short span inside it, and the metrics that score them."""

import json
from pathlib import Path

import pytest

import qa
from qa.evaluation import calibration_error, exact_match, squad_normalise, token_f1
from qa.span import best_span, candidates, wanted

LIGHTHOUSE = Path(__file__).parent / "data" / "lighthouse"
BUILT = "The lighthouse was built in 1872 by the engineer Margaret Ellison."


@pytest.mark.parametrize(
    "question, kind",
    [("Who built the lighthouse?", "person"), ("When was it automated?", "date"), ("How tall is the tower?", "number"),
     ("Where does the lighthouse stand?", "place"), ("Which engineer built it?", "thing"), ("Why was it built?", None)],
)
def test_question_kind(question, kind):
    assert wanted(question) == kind


@pytest.mark.parametrize(
    "question, expected, kind",
    [("Who built the Old Harbour Lighthouse?", "Margaret Ellison", "person"),
     ("In what year was the lighthouse built?", "1872", "date")],
)
def test_span_is_the_answer_not_the_question(question, expected, kind):
    span = best_span(question, BUILT)
    assert span is not None and span.text == expected and span.kind == kind
    assert BUILT[span.start : span.end] == span.text


def test_no_span_for_why_questions():
    assert best_span("Why was the lighthouse built?", BUILT) is None


def test_candidates_cover_dates_numbers_and_names():
    s = "On 6th of May 2004 the taskforce of 3.2 million people met Aziz Seyidov, 24–10."
    found = {s[a:b] for a, b, _ in candidates(s)}
    assert {"6th of May 2004", "3.2 million", "Aziz Seyidov", "24–10"} <= found


@pytest.fixture(scope="module")
def lighthouse(tmp_path_factory, embedder):
    index = tmp_path_factory.mktemp("lighthouse") / "index"
    qa.build_index(qa.Settings(documents=LIGHTHOUSE, index=index), embedder=embedder)
    return qa.Searcher(index, embedder=embedder)


def test_title_restating_the_question_is_not_the_answer(lighthouse):
    answer = lighthouse.ask("Who built the Old Harbour Lighthouse?")
    assert answer.answer is not None
    assert "Margaret Ellison" in answer.answer.sentence
    assert answer.answer.sentence.strip() != "The Old Harbour Lighthouse"
    assert answer.answer.span is not None and answer.answer.span.text == "Margaret Ellison"


def test_answer_json_carries_span_confidence_and_label(lighthouse):
    d = json.loads(json.dumps(lighthouse.ask("When was the Old Harbour Lighthouse built?").to_dict()))
    assert 0.0 <= d["confidence"] <= 1.0 and d["label"] in ("strong", "partial", "weak")
    assert d["interpreted_as"] is None
    span = d["answer"]["span"]
    assert {k: span[k] for k in ("text", "kind")} == {"text": "1872", "kind": "date"}
    assert span["citation"]["document"] == "old_harbour.txt" and span["citation"]["line_start"] == 3
    assert d["answer"]["sentence"][span["start"] : span["end"]] == "1872"


def test_not_found_is_labelled_weak(lighthouse):
    answer = lighthouse.ask("What is the exchange rate of the Japanese yen?")
    assert answer.answer is None and answer.label == "weak" and answer.confidence < 0.5
    assert answer.to_dict()["answer"] is None


def test_squad_metrics_follow_the_official_definitions():
    assert squad_normalise("The  Denver Broncos!") == "denver broncos"
    assert exact_match("the Denver Broncos", ["Denver Broncos"]) == 1.0
    assert token_f1("Denver", ["Denver Broncos", "Broncos"]) == pytest.approx(2 / 3)
    assert token_f1("", ["x"]) == 0.0


def test_calibration_error():
    assert calibration_error([0.9, 0.9, 0.1, 0.1], [True, True, False, False]) == pytest.approx(0.1)
    assert calibration_error([1.0, 0.0], [True, False]) == 0.0


WRAPPED = """The Old Harbour Lighthouse

The tower stands at the end of the northern breakwater of Port Carrow. The
lighthouse on the breakwater was built in the spring of the year
1872 by the engineer Margaret Ellison, who also designed the har-
bour wall. Its white stone tower is 31 metres tall.
"""


def test_the_span_cites_its_own_line_and_the_file_holds_it_there(tmp_path, embedder):
    from qa.verify import citation_holds

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text(WRAPPED)
    qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    searcher = qa.Searcher(tmp_path / "index", embedder=embedder)
    lines = (docs / "harbour.txt").read_text().splitlines(keepends=True)
    for question, text, line in (("In which year was the lighthouse built?", "1872", 5),
                                 ("Who was the engineer of the lighthouse?", "Margaret Ellison", 5)):
        best = searcher.ask(question).answer
        assert best is not None and best.span is not None and best.span.text == text
        c = best.span.citation
        # the sentence runs over lines 3-6; the span names only the line that holds it
        assert (best.citation.line_start, best.citation.line_end) == (3, 6)
        assert (c.line_start, c.line_end) == (line, line) and c.document == "harbour.txt"
        assert citation_holds(best.span.text, lines, c.line_start, c.line_end)
        assert not citation_holds(best.span.text, lines, 3, 4)
        assert best.to_dict()["span"]["citation"]["line_start"] == line


def test_a_span_across_a_repaired_hyphen_cites_both_lines():
    from qa.answer import span_lines
    from qa.chunking import Passage

    text = "Built by Ellison, who designed the harbour wall."
    # "har-/bour" was joined: the line changes inside the word, recorded at its last character
    p = Passage("d", "t", text, 0, 0, 5, 6, ((0, len(text), 5, 6),), 10, line_breaks=((text.index("wall") - 2, 6),))
    a = text.index("harbour")
    assert span_lines(p, a, a + len("harbour wall")) == (5, 6)
    assert span_lines(p, 0, len("Built by Ellison")) == (5, 5)
    assert span_lines(p, text.index("wall"), text.index("wall") + 4) == (6, 6)



def test_an_answer_ending_in_a_colon_shows_what_it_introduces(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "signing.txt").write_text(
        "Signing uploads\n\nWhen you sponsor uploads, debsign must sign with your own key.\n"
        "You can configure the key permanently in the file ~/.devscripts:\n\n    DEBSIGN_KEYID=KEY-ID\n\n"
        "Without it, debsign asks which key to use every time.\n"
    )
    qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    best = qa.Searcher(tmp_path / "index", embedder=embedder).ask("How do I configure the key permanently?").answer
    assert best is not None and best.sentence.startswith("You can configure") and best.sentence.endswith("DEBSIGN_KEYID=KEY-ID")
    assert (best.citation.line_start, best.citation.line_end) == (4, 6)
