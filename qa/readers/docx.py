"""Word (.docx): body paragraphs, headings as sections, list items and table rows, in document order.

Lines are paragraphs: every Word paragraph (a heading, a list item, a table
row with its cells joined by " | ") is one line of `text`, and each starts a
paragraph for the cleaner (`Extracted.breaks`), so line N of a citation is
the Nth paragraph, counting headings and table rows. The body is
walked as XML, not through python-docx's paragraph list, so tables appear
where they stand and content controls (a table of contents, form fields) are
not lost. Page headers, footers, footnotes and comments are left out.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .base import Extracted, Unreadable
from .layout import clean_line
from .pdf import meaningful_title
from .ziputil import MIB, open_zip, read_member

DOCX_MAX_BYTES = 50 * MIB
# Uncompressed size of every part together: text, styles and embedded media.
MAX_EXPANDED = 200 * MIB
MAX_STYLE_DEPTH = 10

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING = re.compile(r"^heading\s*(\d)$", re.I)
# Runs that are not current text: deleted or moved-away revisions, and the
# fallback copy of content Word also stores in a newer form.
_SKIP_RUNS = frozenset({W + "del", W + "moveFrom", MC_FALLBACK, W + "instrText"})


def read_docx(path: Path, data: bytes) -> Extracted:
    """Text of a Word document: one paragraph per line."""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Unreadable(
            "an old Word 97-2003 file or a password-protected .docx (both are OLE containers); "
            "open it in Word or LibreOffice, remove any password and save it as .docx"
        )
    zf = open_zip(data, "Word document", MAX_EXPANDED)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise Unreadable(f"not a Word document ({str(exc)[:150]})") from None
    except Exception as exc:  # broken XML or a damaged member inside the zip
        raise Unreadable(f"damaged Word document ({type(exc).__name__}: {str(exc)[:150]})") from None
    levels, lists, tocs = _styles(document)
    blocks: list[tuple[str, int, bool]] = []  # (text, heading level, part of a table of contents)
    _walk(document.element.body, levels, lists, tocs, blocks, toc=False, depth=0)
    lines: list[str] = []
    starts: list[int] = []  # every line is a paragraph: each starts one
    sections: list[tuple[int, str]] = []
    skip: list[tuple[int, int]] = []
    path_: list[tuple[int, str]] = []
    pos = 0
    first_title = None
    for text, level, toc in blocks:
        if level >= 0:
            first_title = first_title or (text if level <= 1 else None)
        if level > 0:
            path_ = [(lv, t) for lv, t in path_ if lv < level] + [(level, text)]
            sections.append((pos, " › ".join(t for _, t in path_)))
        if toc:
            skip.append((pos, pos + len(text)))
        lines.append(text)
        starts.append(pos)
        pos += len(text) + 1
    if not lines:
        raise Unreadable("no text in the document body")
    title = meaningful_title(_core_title(zf), path) or first_title
    return Extracted(text="\n".join(lines), encoding="docx", title=title, sections=tuple(sections), skip=tuple(skip),
                     breaks=tuple(starts))


def _styles(document) -> tuple[dict[str, int], set[str], set[str]]:
    """Per style id: heading level (0 for Title), which styles make list items, which are TOC entries."""
    by_id = {}
    for style in document.styles.element.findall(W + "style"):
        sid = style.get(W + "styleId") or ""
        name_el, based_el = style.find(W + "name"), style.find(W + "basedOn")
        ppr = style.find(W + "pPr")
        by_id[sid] = (
            (name_el.get(W + "val") if name_el is not None else "") or "",
            based_el.get(W + "val") if based_el is not None else None,
            ppr is not None and ppr.find(W + "numPr") is not None,
        )
    levels, lists, tocs = {}, set(), set()
    for sid in by_id:
        cur: str | None = sid
        for _ in range(MAX_STYLE_DEPTH):  # basedOn chains can be long, or circular
            if cur not in by_id:
                break
            name, based, numbered = by_id[cur]
            m = _HEADING.match(name)
            if m and sid not in levels:
                levels[sid] = int(m.group(1))
            elif name.lower() == "title" and sid not in levels:
                levels[sid] = 0
            if numbered or name.lower().startswith("list"):
                lists.add(sid)
            if re.match(r"^(toc|contents)\s*\d", name, re.I):
                tocs.add(sid)
            cur = based
    return levels, lists, tocs


def _walk(parent, levels, lists, tocs, blocks, toc: bool, depth: int) -> None:
    for child in parent:
        tag = child.tag
        if tag == W + "p":
            _paragraph(child, levels, lists, tocs, blocks, toc)
        elif tag == W + "tbl":
            for row in child.findall(W + "tr"):
                cells = []
                for cell in row.findall(W + "tc"):
                    text = " ".join(t for t in (_text(p) for p in cell.iter(W + "p")) if t)
                    if text:
                        cells.append(text)
                if cells:
                    blocks.append((" | ".join(cells), -1, toc))
        elif tag == W + "sdt" and depth < 20:  # a content control: its content is ordinary body
            gallery = child.find(f"{W}sdtPr/{W}docPartObj/{W}docPartGallery")
            is_toc = toc or (gallery is not None and "contents" in (gallery.get(W + "val") or "").lower())
            content = child.find(W + "sdtContent")
            if content is not None:
                _walk(content, levels, lists, tocs, blocks, is_toc, depth + 1)
        elif tag in (W + "customXml", W + "ins") and depth < 20:
            _walk(child, levels, lists, tocs, blocks, toc, depth + 1)


def _paragraph(p, levels, lists, tocs, blocks, toc: bool) -> None:
    text = _text(p)
    if not text:
        return
    ppr = p.find(W + "pPr")
    style_el = ppr.find(W + "pStyle") if ppr is not None else None
    sid = style_el.get(W + "val") if style_el is not None else ""
    level = levels.get(sid, -1)
    outline = ppr.find(W + "outlineLvl") if ppr is not None else None
    if level < 0 and outline is not None and (outline.get(W + "val") or "").isdigit() and int(outline.get(W + "val")) < 9:
        level = int(outline.get(W + "val")) + 1  # a heading by direct formatting
    numbered = ppr is not None and ppr.find(W + "numPr") is not None
    if level < 0 and (numbered or sid in lists):
        text = "• " + text
    blocks.append((text, level, toc or sid in tocs))


def _text(p) -> str:
    """A paragraph's visible text, without deleted revisions or field codes, on one line."""
    out: list[str] = []
    stack = [iter(p)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
            continue
        tag = el.tag
        if tag in _SKIP_RUNS or not isinstance(tag, str):
            continue
        if tag == W + "t":
            out.append(el.text or "")
        elif tag in (W + "tab", W + "br", W + "cr"):
            out.append(" ")
        elif tag == W + "noBreakHyphen":
            out.append("-")
        elif tag == W + "p" and out:
            out.append(" ")  # a text box's paragraph inside this one
        if len(el) and len(stack) < 64:
            stack.append(iter(el))
    return clean_line(" ".join("".join(out).split()))


def _core_title(zf) -> str | None:
    """dc:title from the package's core properties (python-docx substitutes a default when it misses them)."""
    from defusedxml import ElementTree as ET

    names = {n.lower(): n for n in zf.namelist()}
    name = names.get("docprops/core.xml")
    if name is None:
        return None
    try:
        root = ET.fromstring(read_member(zf, name, MIB))
    except Exception:  # damaged metadata only costs the title
        return None
    el = root.find("{http://purl.org/dc/elements/1.1/}title")
    return el.text if el is not None else None
