"""Headings of plain text: the section path of manuals exported as text.

Plain-text manuals (Sphinx/docutils and DocBook text exports, READMEs) mark
headings in two ways: a line underlined by a run of one punctuation character
("2.1. Getting started" over "===================="), or a numbered line
standing alone between blank lines at the left margin ("1.1.6. Virtual
consoles", "Chapter 3. The system initialization"). The path of headings in
force ("2. Applying to Become a Member › 2.1. Getting started") is indexed with
each passage, so a question using the section's words finds its passages.
Numbered lines in a run without blank lines (a table of contents) are not
headings.

The table of contents itself is left out of passages (`contents_lines`): a
run of entries naming the text's own headings matches nearly any question
about any chapter, and as an answer it says nothing ("* 11.8.7.").
"""

from __future__ import annotations

import re

_UNDERLINE = re.compile(r"^([=*\-^~#+\"'`])\1{2,}[ \t]*$")
# DocBook's text export puts a no-break space after the number ("1.1.\xa0Console basics").
# The number has a dot ("2.", "2.1", "A.3.") unless a word names it ("Chapter 3"):
# a title such as "A Role for NuSAP" or "12 weeks of training" is not numbered.
_NUMBERED = re.compile(r"^(Chapter\s+|Appendix\s+|Part\s+)?(\d+|[A-Z])((?:\.\d+)*)(\.?)[ \t\u00a0]+\S.*$")
MAX_HEADING = 100
_JOINS = frozenset({"and", "or", "nor", "but"})


def plain_sections(text: str) -> tuple[tuple[int, str], ...]:
    """(offset, "H1 › H2") at each heading of a plain text; () when it has none."""
    lines = text.split("\n")
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    blank = [not line.strip() for line in lines]
    levels: dict[str, int] = {}  # underline character -> level, in order of first use (docutils' rule)
    path: list[tuple[int, str]] = []
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        title = " ".join(line.split())
        if not title or len(title) > MAX_HEADING or line[0].isspace():
            continue
        level = None
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        m = _UNDERLINE.match(nxt)
        n = _NUMBERED.match(line)
        if n and not (n.group(1) or n.group(3) or n.group(4)):
            n = None
        underlined = m and len(nxt.strip()) >= len(title) - 1 and (i == 0 or blank[i - 1])
        alone = (i == 0 or blank[i - 1]) and (i + 1 >= len(lines) or blank[i + 1])
        # a numbered list item standing alone ("1. repack the tarball; or") is not a heading either
        sentence = title.endswith((".", ":", ",", ";")) or title.rsplit(None, 1)[-1].lower() in _JOINS
        if underlined or (n and alone and not sentence):
            # the numbering's depth is the level when there is one ("4.6.4." is 3 deep)
            level = 1 + n.group(3).count(".") if n else levels.setdefault(m.group(1), len(levels) + 1)
        if level is None:
            continue
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        out.append((starts[i], " › ".join(t for _, t in path)))
    return tuple(out)


# A contents entry: optional indent and bullet, a section number, its title.
_ENTRY = re.compile(r"^[ \t]*(?:[*\-\u2022][ \t]+)?((?:Chapter|Appendix|Part)\s+)?(\d+|[A-Z])((?:\.\d+)*)\.?[ \t\u00a0]+\S")
# Entries naming a later heading, in one run, before the run is a table of
# contents and not a numbered list; and the share of the run's entries that must.
MIN_CONTENTS = 5
MIN_SHARE = 0.6


def contents_lines(text: str, sections: tuple[tuple[int, str], ...]) -> tuple[tuple[int, int], ...]:
    """Spans of the lines of a table of contents: runs of numbered entries whose titles
    are headings found later in the text (so a numbered list is never taken for one).

    A run goes on over blank lines and over an entry's wrapped second line; the
    whole run is left out when enough of its entries name a later heading.
    """
    if not sections:
        return ()
    later: dict[str, int] = {}  # a heading's own line as written ("2.1. Getting started") -> its last offset
    for at, path in sections:
        title = " ".join(path.split(" \u203a ")[-1].split()).lower()
        later[title] = max(later.get(title, -1), at)
    heading_lines = {at for at, _ in sections}
    out: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    hits = entries = 0
    wrapped = ""  # the entry so far, when its title may go on on the next line

    def close() -> None:
        nonlocal run, hits, entries
        if hits >= MIN_CONTENTS and hits >= MIN_SHARE * entries:
            out.extend(run)
        run, hits, entries = [], 0, 0

    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            wrapped = ""  # a title wraps onto the next line, never over a blank one
            continue
        if start in heading_lines:  # the text itself begins: a heading is never left out
            close()
            wrapped = ""
            continue
        flat = " ".join(line.split()).lstrip("*-\u2022 ").lower()
        if _ENTRY.match(line):
            entries += 1
            hit = later.get(flat, -1) > start
            hits += hit
            wrapped = "" if hit else flat
            run.append((start, end))
        elif run and wrapped and line[:1].isspace() and len(wrapped) <= 3 * MAX_HEADING:
            # the entry's title wrapped onto this line
            whole = f"{wrapped} {flat}"
            hits += later.get(whole, -1) > start
            wrapped = whole
            run.append((start, end))
        else:
            close()
            wrapped = ""
    close()
    return tuple(out)


def underlines(text: str, sections: tuple[tuple[int, str], ...]) -> tuple[tuple[int, int], ...]:
    """Spans of the lines underlining headings ("=========="): left out of passages, which
    would otherwise read "2.1. Getting started ===================="."""
    out = []
    for at, _ in sections:
        start = text.find("\n", at) + 1
        if start:
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            if _UNDERLINE.match(text[start:end]):
                out.append((start, end))
    return tuple(out)
