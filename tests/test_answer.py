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
    assert span == {"text": "1872", "start": span["start"], "end": span["end"], "kind": "date"}
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
