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
"""

from __future__ import annotations

import re

_UNDERLINE = re.compile(r"^([=*\-^~#+\"'`])\1{2,}[ \t]*$")
# DocBook's text export puts a no-break space after the number ("1.1.\xa0Console basics").
# The number has a dot ("2.", "2.1", "A.3.") unless a word names it ("Chapter 3"):
# a title such as "A Role for NuSAP" or "12 weeks of training" is not numbered.
_NUMBERED = re.compile(r"^(Chapter\s+|Appendix\s+|Part\s+)?(\d+|[A-Z])((?:\.\d+)*)(\.?)[ \t\u00a0]+\S.*$")
MAX_HEADING = 100


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
        if underlined or (n and alone and not title.endswith((".", ":", ",", ";"))):
            # the numbering's depth is the level when there is one ("4.6.4." is 3 deep)
            level = 1 + n.group(3).count(".") if n else levels.setdefault(m.group(1), len(levels) + 1)
        if level is None:
            continue
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        out.append((starts[i], " › ".join(t for _, t in path)))
    return tuple(out)
