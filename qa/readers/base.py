"""What a reader gives back: text whose lines are the unit of citation, plus where pages and sections start.

Every format ends up as one plain text. Citations count lines of that text
(for a .txt file: the file's own lines), so one cleaner, one chunker and one
citation check (`qa verify` re-reads the file with the same reader) serve
every format. Pages and sections are located by character offsets in it.
"""

from __future__ import annotations

from dataclasses import dataclass


class Unreadable(Exception):
    """A file that cannot be indexed; the message says why in words a user can act on.

    Readers raise it for encrypted, corrupt, empty or oversized input. It never
    escapes a build: the file is listed as skipped with this reason.
    """


@dataclass(frozen=True)
class Extracted:
    """The text of one file, ready for cleaning.

    `text` uses "\\n" between lines; a citation's line range counts its lines
    (1-based). `pages` holds the character offset in `text` where each page
    starts (page 1 first; empty for formats without pages). `sections` holds
    (offset, heading path such as "Setup › Git") in increasing offset order:
    the section in force at a character is the last one starting at or before
    it. `notes` are remarks a user should see (for example pages read by OCR,
    with their confidence). `title` comes from the file's metadata when it has
    one; None lets the caller derive one.
    """

    text: str
    encoding: str
    title: str | None = None
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    # Per page (same order as `pages`): None for a text layer, else the OCR
    # engine's mean confidence in 0..100.
    ocr: tuple[float | None, ...] = ()
    notes: tuple[str, ...] = ()
    # Character spans of `text` to leave out of passages (running headers and
    # footers, page numbers, table-of-contents dot leaders) while still
    # counting their lines, so line numbers on a page stay those a viewer shows.
    # A skipped line does not break a paragraph: text on either side joins.
    skip: tuple[tuple[int, int], ...] = ()
    # Offsets of line starts where a paragraph begins although no blank line
    # comes before it (an HTML heading, list item or paragraph on the source
    # line right after another block: lines must stay the source's).
    breaks: tuple[int, ...] = ()
