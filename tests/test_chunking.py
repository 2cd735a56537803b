import re

from hypothesis import HealthCheck, given, settings, strategies as st

from qa.chunking import chunk
from qa.documents import Document
from qa.text import clean


def _doc(text: str) -> Document:
    return Document(id="d.txt", path=None, title="T", text=text, sha256="0" * 64, encoding="utf-8")


def _chunks(embedder, raw: str, max_tokens: int = 64, overlap: int = 1):
    c = clean(raw, embedder.vocabulary().__contains__)
    return c, chunk(_doc(raw), c, embedder.count_tokens, max_tokens, overlap)


def test_no_passage_exceeds_the_token_limit_even_with_monster_sentences(embedder):
    long_sentence = " ".join(f"word{i}" for i in range(400)) + "."
    url = "https://example.org/" + "x" * 3000
    raw = f"Short intro sentence.\n\n{long_sentence}\n\n{url} ends here.\n"
    _, passages = _chunks(embedder, raw, max_tokens=50)
    assert passages
    real = embedder.count_tokens([p.text for p in passages])
    assert max(real) <= 50
    assert all(p.tokens == n for p, n in zip(passages, real))
    # Nothing was dropped: every word of the input is in some passage.
    joined = " ".join(p.text for p in passages)
    for w in ("intro", "word0", "word399", "ends"):
        assert w in joined


def test_model_limit_matches_the_model(embedder):
    assert embedder.max_tokens == 254  # 256 positions minus [CLS] and [SEP]


def test_long_paragraph_is_split_with_whole_sentence_overlap(embedder):
    sents = [f"Sentence number {i} talks about topic {i} at some length here." for i in range(30)]
    _, passages = _chunks(embedder, " ".join(sents), max_tokens=60, overlap=1)
    assert len(passages) > 3
    for a, b in zip(passages, passages[1:]):
        last = a.text[a.sentences[-1][0] : a.sentences[-1][1]]
        assert b.text.startswith(last)


def test_passages_do_not_overlap_across_paragraphs(embedder):
    paras = ["Alpha " * 20 + "end one.", "Beta " * 20 + "end two.", "Gamma " * 20 + "end three."]
    _, passages = _chunks(embedder, "\n\n".join(paras), max_tokens=40)
    assert [p.text.split()[0] for p in passages] == ["Alpha", "Beta", "Gamma"]


def test_a_lead_in_sentence_keeps_what_it_introduces(embedder):
    """A paragraph ending with ':' does not end a half-full passage: the command line after it
    stays in the passage that says what it is for (it used to become a passage of its own)."""
    intro = "Instead, you should instruct the build tool to use your key for the signature, every time you sponsor."
    lead = "If you use debsign, you can even configure it permanently in ~/.devscripts:"
    raw = f"{intro}\n\n{lead}\n\nDEBSIGN_KEYID=KEY-ID\n\nThe next paragraph talks about something else entirely.\n"
    assert sum(embedder.count_tokens([intro, lead])) * 2 >= 64  # half full: a plain paragraph break would cut here
    _, passages = _chunks(embedder, raw, max_tokens=64)
    holding = [p.text for p in passages if "DEBSIGN_KEYID" in p.text]
    assert holding == [f"{intro}\n\n{lead}\n\nDEBSIGN_KEYID=KEY-ID"]
    # Not a lead-in: the same text ending with a full stop is cut at the paragraph break as before.
    _, plain = _chunks(embedder, raw.replace("~/.devscripts:", "~/.devscripts."), max_tokens=64)
    assert [p.text for p in plain if "DEBSIGN_KEYID" in p.text][0].startswith("DEBSIGN_KEYID")


def test_a_lead_in_that_cannot_keep_its_list_starts_the_next_passage_again(embedder):
    """Where what follows does not fit, the next passage opens with the lead-in ("as follows" counts),
    so the list item is never cut off from the sentence that says what the list is."""
    body = " ".join(f"Sentence {i} of the opening paragraph says a little more." for i in range(4))
    lead = "The recommended delays are as follows."
    items = ["* Upload fixing only release-critical bugs older than seven days: two days",
             "* Upload fixing only release-critical and important bugs: five days"]
    raw = "\n\n".join([f"{body} {lead}", *items]) + "\n"
    assert sum(embedder.count_tokens([body, lead, items[0]])) > 64  # the first item does not fit after it
    _, passages = _chunks(embedder, raw, max_tokens=64)
    second = next(p for p in passages if "five days" in p.text)
    assert second.text.startswith(lead)
    assert all(p.tokens <= 64 for p in passages)
    assert any(p.text.endswith(lead) for p in passages)  # the passage it ends keeps it too
    # Sentence spans and lines stay exact in the repeated lead-in.
    a, b, ls, le = second.sentences[0]
    assert second.text[a:b] == lead and raw.splitlines()[ls - 1].endswith(lead) and ls == le == 1


def test_sentence_spans_and_lines_point_into_the_file(embedder):
    raw = "First line of a\nwrapped sentence. Second\nsentence here.\n\nThird one.\n"
    _, [p] = _chunks(embedder, raw, max_tokens=100)
    spans = [(p.text[a:b], ls, le) for a, b, ls, le in p.sentences]
    assert spans == [
        ("First line of a wrapped sentence.", 1, 2),
        ("Second sentence here.", 2, 3),
        ("Third one.", 5, 5),
    ]
    assert (p.line_start, p.line_end) == (1, 5)
    assert raw[p.char_start : p.char_end].startswith("First") and raw[p.char_start : p.char_end].endswith("one.")


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=11)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paragraphs=st.lists(st.lists(_word, min_size=3, max_size=80), min_size=1, max_size=4),
    width=st.integers(min_value=12, max_value=70),
    max_tokens=st.integers(min_value=20, max_value=120),
    seed=st.integers(0, 10**6),
)
def test_cited_lines_contain_every_word_of_generated_wrapped_hyphenated_text(embedder, paragraphs, width, max_tokens, seed):
    import random

    rnd = random.Random(seed)
    text_paras = []
    for words in paragraphs:
        sent = []
        for i, w in enumerate(words):
            sent.append(w.capitalize() if i == 0 or rnd.random() < 0.1 else w)
            if rnd.random() < 0.15:
                sent[-1] += "."
        text_paras.append(" ".join(sent) + ".")
    raw = _hard_wrap(text_paras, width, rnd)
    _, passages = _chunks(embedder, raw, max_tokens=max_tokens)
    lines = raw.split("\n")
    assert max(embedder.count_tokens([p.text for p in passages])) <= max_tokens
    for p in passages:
        excerpt = re.sub(r"[\s-]", "", "".join(lines[p.line_start - 1 : p.line_end]))
        for w in p.text.split():
            assert w.replace("-", "") in excerpt


def _hard_wrap(paragraphs, width, rnd) -> str:
    out = []
    for para in paragraphs:
        lines, line = [], ""
        for w in para.split():
            if line and len(line) + len(w) + 1 > width:
                if len(w) > 4 and w[2:].isalpha() and w[2].islower() and rnd.random() < 0.4:
                    lines.append(f"{line} {w[:2]}-")
                    line = w[2:]
                    continue
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def test_passages_round_trip_through_json_with_fields_added_later():
    """Every backend stores passages as Passage.to_dict(); tuple fields added later come back as tuples."""
    import dataclasses
    import json

    from qa.chunking import Passage

    @dataclasses.dataclass(frozen=True)
    class Later(Passage):
        pages: tuple[tuple[int, int], ...] = ()

    p = Later("a.txt", "T", "Some text.", 0, 10, 1, 1, ((0, 10, 1, 1),), 3, section="§2", pages=((1, 2),))
    back = Later.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back == p and isinstance(back.pages[0], tuple) and isinstance(back.sentences[0], tuple)


def test_line_breaks_give_every_word_its_own_line(embedder):
    raw = ("First line of a wrapped paragraph that goes\non across several lines with an\norgan-\n"
           "isation inside it. Another sentence\nends here.\n\nA one-line paragraph.\n")
    lines = raw.splitlines()
    _, passages = _chunks(embedder, raw, max_tokens=200)
    for p in passages:
        offsets = [o for o, _ in p.line_breaks]
        for m in re.finditer(r"\w+", p.text):
            # the line in force at the word's first character holds that word's start
            i = sum(o <= m.start() for o in offsets)
            line = p.line_breaks[i - 1][1] if i else p.line_start
            assert lines[line - 1].replace("-", "").find(m.group()[:3]) >= 0, (m.group(), line)
    assert passages[0].line_breaks and passages[0].line_breaks[0][1] == 2
