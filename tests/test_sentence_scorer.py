"""The sentence scorer: headlines are never the answer, and context columns describe a sentence's neighbours."""

import numpy as np

from qa.chunking import Passage
from qa.sentence_scorer import SENTENCE_FEATURES, answer_sentences, sentence_matrix

HEADLINE = "Military Chamber of the Supreme Court held a meeting with US officials and discussed trafficking."
BODY = "Its chairman, Aziz Seyidov, welcomed the guests on 19 September 2019."


def _passage(text: str, sentences) -> Passage:
    return Passage("news.txt", "Military Chamber of the Supreme Court held a…", text, 0, len(text), 1, 5,
                   tuple(sentences), 40)


def test_a_headline_is_never_the_answer_even_with_a_full_stop(embedder):
    text = HEADLINE + " " + BODY
    b = len(HEADLINE) + 1
    # line 1 alone (a blank line follows), the body from line 3
    p = _passage(text, [(0, len(HEADLINE), 1, 1), (b, len(text), 3, 4)])
    q = embedder.encode(["Who is the head of the Supreme Court's Military Chamber?"])[0]
    (start, end, _), = answer_sentences(embedder.encode, "Who is the head of the Supreme Court's Military Chamber?", q, [p])
    assert text[start:end] == BODY
    # the same first sentence inside a wrapped opening paragraph is a statement, and may answer
    wrapped = _passage(text, [(0, len(HEADLINE), 1, 2), (b, len(text), 2, 3)])
    _, rows = sentence_matrix("Who met US officials?", [wrapped], np.array([0.5, 0.4]), [0.5])
    assert rows[0, SENTENCE_FEATURES.index("heading")] == 0


def test_context_columns_carry_the_previous_sentence_for_a_pronoun():
    text = "The lighthouse stands at Port Carrow. It was built in 1872 by Margaret Ellison."
    cut = text.index("It")
    p = _passage(text, [(0, cut - 1, 1, 1), (cut, len(text), 1, 1)])
    _, rows = sentence_matrix("When was the Port Carrow lighthouse built?", [p], np.array([0.7, 0.4]), [0.5])
    f = SENTENCE_FEATURES.index
    assert rows[1, f("pronoun")] == 1 and rows[0, f("pronoun")] == 0
    assert rows[1, f("previous_cosine")] == np.float32(0.7) and rows[0, f("next_cosine")] == np.float32(0.4)
    assert rows[1, f("previous_overlap")] == rows[0, f("rare_overlap")] > rows[1, f("rare_overlap")]
    assert rows[0, f("top_cosine")] == 1 and rows[1, f("top_cosine")] == 0


def test_a_lead_in_carries_the_next_sentence_along():
    from qa.answer import sentence_lines
    from qa.sentence_scorer import FOLLOWS_AT_MOST, with_what_follows

    lead = "You can even configure it permanently in ~/.devscripts:"
    text = lead + "  DEBSIGN_KEYID=KEY-ID  " + "Then sign."
    a, b = len(lead) + 2, len(lead) + 2 + len("DEBSIGN_KEYID=KEY-ID")
    p = _passage(text, [(0, len(lead), 1, 1), (a, b, 3, 3), (b + 2, len(text), 5, 5)])
    assert text[0:with_what_follows(p, 0, len(lead))].endswith("DEBSIGN_KEYID=KEY-ID")
    assert sentence_lines(p, 0, b) == (1, 3) and sentence_lines(p, 0) == (1, 1)
    assert with_what_follows(p, a, b) == b  # not a lead-in
    assert with_what_follows(p, b + 2, len(text)) == len(text)  # the last sentence: nothing follows
    long = _passage(lead + " " + "x" * (FOLLOWS_AT_MOST + 1), [(0, len(lead), 1, 1), (len(lead) + 1, len(lead) + FOLLOWS_AT_MOST + 2, 2, 9)])
    assert with_what_follows(long, 0, len(lead)) == len(lead)  # a whole listing is not carried


def test_a_sentence_two_overlapping_passages_share_is_shown_once(embedder):
    # the second passage of the file ends with the sentence the first passage opens with
    shared = "Mr. Takahashi noted that the United States treats human trafficking as a grave offence."
    other = "Aziz Seyidov stressed cooperation with UN, OSCE and Interpol against human trafficking."
    tail = "He thanked the security services for their effective work."
    one = Passage("news.txt", "t", shared + " " + tail, 100, 100 + len(shared) + 1 + len(tail), 3, 3,
                  ((0, len(shared), 3, 3), (len(shared) + 1, len(shared) + 1 + len(tail), 3, 3)), 40)
    # its start counts the raw file (an indented line: 3 characters more than the cleaned text it holds)
    two = Passage("news.txt", "t", other + "\n\n" + shared, 100 - len(other) - 2 - 3, 100 + len(shared), 1, 3,
                  ((0, len(other), 1, 1), (len(other) + 2, len(other) + 2 + len(shared), 3, 3)), 40)
    question = "How does the United States treat human trafficking?"
    q = embedder.encode([question])[0]
    (a1, b1, _), (a2, b2, _) = answer_sentences(embedder.encode, question, q, [one, two])
    assert one.text[a1:b1] == shared and two.text[a2:b2] == other
    # in another file the same words are another place, and may be shown again
    elsewhere = Passage("other.txt", *[getattr(two, f) for f in ("title", "text", "char_start", "char_end", "line_start",
                                                                "line_end", "sentences", "tokens")])
    (_, _, _), (a3, b3, _) = answer_sentences(embedder.encode, question, q, [one, elsewhere])
    assert elsewhere.text[a3:b3] == shared


def test_restating_means_no_word_or_number_of_its_own():
    """Kept from the answer: a sentence of the question's words only. One new word, or a number, can answer."""
    from qa.sentence_scorer import never_chosen

    question = "Historically, which movement has the Methodist Church supported?"
    texts = ["Historically, the Methodist Church has supported the temperance movement.",
             "The Methodist Church has historically supported movements.", "Heron Pool 0.3 2.5"]
    spans = [(0, len(texts[0]), 1, 1), (len(texts[0]) + 1, len(texts[0]) + 1 + len(texts[1]), 2, 2)]
    p = _passage(" ".join(texts[:2]), spans)
    _, rows = sentence_matrix(question, [p], np.array([0.6, 0.6]), [0.5])
    assert list(never_chosen(rows)) == [False, True]
    row = Passage("guide.pdf", "Guide", texts[2], 0, len(texts[2]), 18, 18, ((0, len(texts[2]), 18, 18),), 8)
    _, rows = sentence_matrix("What is the velocity at Heron Pool?", [row], np.array([0.6]), [0.5])
    assert rows[0, SENTENCE_FEATURES.index("heading")] == 0  # a table row is data, not a heading
    assert list(never_chosen(rows)) == [True] and list(never_chosen(rows, np.array([True]))) == [False]
