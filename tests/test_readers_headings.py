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
