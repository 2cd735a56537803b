"""Headings of plain-text manuals: underlined and numbered lines become the section path."""

from __future__ import annotations

from qa.readers import headings
from qa.readers.text import read_text

SPHINX = """Debian Guide
************

1. About this manual
********************

Some text.

1.1. Scope
==========

The scope.

1.1.1. Early history
--------------------

History.

2. Packages
***********

More.
"""

DOCBOOK = """Table of contents

1.1. Console basics
1.2. Files

1.1.\u00a0Console basics

    Upon starting the system, you log in.

1.1.1.\u00a0The shell prompt

    foo login:

1. Do not do this.

2. repack the upstream tarball to include those sources; or

Chapter 2.\u00a0Package management

    apt.
"""


def paths(text):
    return [(text[o:].split("\n", 1)[0], p) for o, p in headings.plain_sections(text)]


def test_underlined_headings_nest_by_their_numbering():
    got = paths(SPHINX)
    assert got[0] == ("Debian Guide", "Debian Guide")
    assert ("1.1.1. Early history", "1. About this manual › 1.1. Scope › 1.1.1. Early history") in got
    # a new chapter closes the sections of the last one
    assert got[-1] == ("2. Packages", "2. Packages")


def test_numbered_lines_alone_are_headings_but_a_table_of_contents_or_a_sentence_is_not():
    got = [p for _, p in paths(DOCBOOK)]
    assert got == ["1.1. Console basics", "1.1. Console basics › 1.1.1. The shell prompt", "Chapter 2. Package management"]


def test_running_text_without_headings_has_no_sections():
    assert headings.plain_sections("A letter.\n\nIt has two paragraphs.\n---\nsigned") == ()


def test_the_text_reader_gives_the_sections():
    got = read_text(None, SPHINX.encode())
    assert [p for _, p in got.sections] == [p for _, p in headings.plain_sections(SPHINX)]
    assert got.text == SPHINX


MANUAL = """Debian Guide
************

This is version 1.0 of the guide.

* 1. About this manual

  * 1.1. Scope

  * 1.2. What are release-critical bugs, and how do they get
    counted?

* 2. Packages

  * 2.1. Naming

  * 2.2. Versions

1. About this manual
********************

1.1. Scope
==========

The guide covers packaging. Do it in three steps:

1. Unpack the sources.

2. Packages

3. Versions

1.2. What are release-critical bugs, and how do they get counted?
=================================================================

Bugs of severity serious or higher.

2. Packages
***********

2.1. Naming
===========

Names are short.

2.2. Versions
=============

Versions sort.
"""


def left_out(text):
    sections = headings.plain_sections(text)
    return [text[a:b].strip() for a, b in headings.contents_lines(text, sections)]


def test_a_table_of_contents_is_left_out_of_passages_but_its_headings_and_lists_are_not():
    got = left_out(MANUAL)
    # every entry, a wrapped title's second line included, and nothing else
    assert got == ["* 1. About this manual", "* 1.1. Scope", "* 1.2. What are release-critical bugs, and how do they get",
                   "counted?", "* 2. Packages", "* 2.1. Naming", "* 2.2. Versions"]
    # the reader passes it on: the lines still count, the passages never hold them
    got = read_text(None, MANUAL.encode())
    skipped = [got.text[a:b].strip() for a, b in got.skip]
    assert [x for x in skipped if not set(x) <= set("*=")] == left_out(MANUAL)
    # so are the headings' underlines, one per underlined heading
    assert len(skipped) - len(left_out(MANUAL)) == MANUAL.count("\n===") + MANUAL.count("\n***") == 7


def test_a_numbered_list_naming_headings_is_not_a_table_of_contents_when_it_is_short_or_unmatched():
    # three entries naming headings (the list in 1.1) are too few; headings themselves are never left out
    assert left_out(MANUAL.replace("* 2. Packages\n\n  * 2.1. Naming\n\n  * 2.2. Versions\n\n", "")) == []
    # a numbered list whose items name no heading stays text
    steps = "Guide\n=====\n\n" + "".join(f"{i}. Step number {i} of the install.\n\n" for i in range(1, 9))
    assert left_out(steps) == []


def test_an_indented_paragraph_after_the_contents_is_text():
    # the last entry names no heading; the indented preface after a blank line is not its wrapped title
    text = MANUAL.replace("  * 2.2. Versions\n\n", "  * 2.2. Versions\n\n* 3. Licence notes\n\n    This guide is free software.\n    Copy it.\n\n")
    got = left_out(text)
    assert "* 3. Licence notes" in got and not any("free software" in x or "Copy it" in x for x in got)
