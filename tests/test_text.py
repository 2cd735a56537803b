import re

from hypothesis import given, settings, strategies as st

from qa.text import clean, sentences


def test_wrapped_lines_join_into_paragraphs():
    c = clean("one two\nthree four\n\nfive six\n")
    assert c.text == "one two three four\n\nfive six"
    assert [c.text[p.start : p.end] for p in c.paragraphs] == ["one two three four", "five six"]


def test_hyphen_joins_only_attested_words():
    raw = "the organ-\nisation and law-\nenforcement met"
    known = {"organisation"}.__contains__
    assert clean(raw, known).text == "the organisation and law-enforcement met"
    # Nothing attested: every hyphen stays.
    assert clean(raw).text == "the organ-isation and law-enforcement met"


def test_hyphen_before_capital_or_digit_is_kept_as_is():
    assert clean("North-\nSouth\n").text == "North- South"


def test_repeated_headline_lines_collapse():
    headline = "Military Chamber held a meeting with US officials on trafficking."
    raw = f"{headline}\n\n05.08.2008, 12:35\n{headline}\n{headline}\n\nBody text.\n"
    c = clean(raw)
    assert c.text.count(headline) == 1
    assert "05.08.2008, 12:35" in c.text and "Body text." in c.text


def test_a_line_found_only_twice_is_text_quoted_again_not_a_headline():
    # Debian Policy's abstract opens its section 1.1 again; both must read whole
    abstract = "This manual describes the policy requirements for the Debian\ndistribution, as used in the\ndistribution."
    raw = f"{abstract}\n\nVersion 4.6.\n\n1.1. Scope\n\n{abstract} It also covers packaging.\n"
    c = clean(raw)
    assert c.text.count("This manual describes the policy requirements for the Debian distribution") == 2
    assert "1.1. Scope\n\nThis manual describes" in c.text


def test_short_lines_may_repeat():
    c = clean("Yes.\n\nYes.\n")
    assert c.text.count("Yes.") == 2


def test_line_numbers_of_cleaned_spans():
    raw = "alpha beta\ngamma delta\n\n\nepsilon zeta\n"
    c = clean(raw)
    i = c.text.index("epsilon")
    assert c.lines(i, i + len("epsilon zeta")) == (5, 5)
    assert c.lines(0, c.text.index("delta") + 5) == (1, 2)


def test_sentences_respect_abbreviations_and_numbers():
    text = "Mr. Takahashi met Ms. Huseynova on 05.08.2008 at 12:35. Section 144(1) applies. Done!"
    got = [text[s.start : s.end] for s in sentences(text)]
    assert got == ["Mr. Takahashi met Ms. Huseynova on 05.08.2008 at 12:35.", "Section 144(1) applies.", "Done!"]


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    paragraphs=st.lists(st.lists(_word, min_size=1, max_size=40), min_size=1, max_size=5),
    width=st.integers(min_value=8, max_value=60),
    hyphenate=st.floats(min_value=0, max_value=1),
    seed=st.integers(0, 10**6),
)
def test_every_cleaned_character_maps_back_to_the_raw_text(paragraphs, width, hyphenate, seed):
    import random

    rnd = random.Random(seed)
    raw = _wrap(paragraphs, width, hyphenate, rnd)
    c = clean(raw, lambda w: rnd.random() < 0.5)
    for i, ch in enumerate(c.text):
        r = c.raw_offset(i)
        if ch.isspace():
            assert raw[r].isspace() or raw[r] == "-"
        else:
            assert raw[r] == ch
    # Every word of the cleaned text, hyphen-joins undone, is in its cited lines.
    lines = raw.split("\n")
    for m in re.finditer(r"\S+", c.text):
        a, b = c.lines(m.start(), m.end())
        excerpt = re.sub(r"[\s-]", "", "".join(lines[a - 1 : b]))
        assert m.group(0).replace("-", "") in excerpt


def _wrap(paragraphs, width, hyphenate, rnd) -> str:
    out = []
    for words in paragraphs:
        line, lines = "", []
        for w in words:
            if line and len(line) + 1 + len(w) > width:
                if len(w) > 3 and w[1].isalpha() and w[2].islower() and rnd.random() < hyphenate:
                    lines.append(line + " " + w[:2] + "-")
                    line = w[2:]
                    continue
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def test_a_line_dropped_as_a_repeat_ends_the_hyphen_split_before_it():
    # Found by the property test in test_chunking: the repeated second line is
    # dropped, and "ab-" must not be glued to the next kept line's word.
    repeated = "abbaaaaaa aaaa aaaaa aaaaaaaaa aaaaaaaaa aa"
    raw = f"{repeated}\n\nStart of one aa-\n{repeated}\nend.\n\nOther text here ab-\n{repeated}\nzz yy xx.\n"
    c = clean(raw)
    assert "ab-zz" not in c.text and "abzz" not in c.text
    assert "ab- zz yy xx." in c.text
