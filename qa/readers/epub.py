"""EPUB: the chapters in spine order, each read by the HTML reader, sections prefixed by the chapter's title.

An EPUB is a zip of XHTML files: META-INF/container.xml names the package
(OPF) file, whose spine gives the reading order. Chapter titles come from the
book's table of contents (EPUB 3 nav document, else the EPUB 2 NCX), else the
chapter's first heading. The package XML is parsed with defusedxml, so entity
expansion tricks are refused; chapters go through the HTML reader's parser,
which expands no custom entities at all. Chapter lines are not source lines
here (a book is many files), so blocks are laid out compactly, a blank line
between each.
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag

from . import html
from .base import Extracted, Unreadable
from .ziputil import MIB, open_zip, read_member

EPUB_MAX_BYTES = 100 * MIB
MAX_EXPANDED = 200 * MIB
MAX_CHAPTER = 20 * MIB
MAX_CHAPTERS = 5000
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
ENC = "{http://www.w3.org/2001/04/xmlenc#}"
# Font obfuscation (IDPF and Adobe) scrambles only fonts; any other algorithm is DRM on the text.
_FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
_XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})["']""")


def _xml(data: bytes, what: str):
    from defusedxml import ElementTree as ET
    from defusedxml.common import DefusedXmlException

    try:
        return ET.fromstring(data)
    except DefusedXmlException:
        raise Unreadable(f"EPUB {what} uses XML entity tricks; refused") from None
    except ET.ParseError as exc:
        raise Unreadable(f"damaged EPUB: {what} is not well-formed XML ({exc})") from None


def read_epub(path: Path, data: bytes) -> Extracted:
    """Text of an EPUB book: chapters in reading order, blank lines between blocks."""
    zf = open_zip(data, "EPUB", MAX_EXPANDED)
    names = set(zf.namelist())
    container = _xml(read_member(zf, "META-INF/container.xml", MIB), "container.xml")
    rootfile = container.find(f"{CONTAINER}rootfiles/{CONTAINER}rootfile")
    opf_path = rootfile.get("full-path") if rootfile is not None else None
    if not opf_path or opf_path not in names:
        raise Unreadable("damaged EPUB: its container names no package file that exists")
    if "META-INF/encryption.xml" in names:
        _refuse_drm(zf)
    opf = _xml(read_member(zf, opf_path, 10 * MIB), "package file")
    base = posixpath.dirname(opf_path)
    manifest = {}
    for item in opf.iter(OPF + "item"):
        href = item.get("href")
        if item.get("id") and href:
            manifest[item.get("id")] = (_resolve(base, href), item.get("media-type") or "", item.get("properties") or "")
    titles = _toc_titles(zf, opf, manifest, names)
    lines: list[str] = []
    sections: list[tuple[int, str]] = []
    offset = 0
    spine = opf.find(OPF + "spine")
    for ref in (spine.findall(OPF + "itemref") if spine is not None else [])[:MAX_CHAPTERS]:
        name, media, _ = manifest.get(ref.get("idref") or "", ("", "", ""))
        if name not in names or "html" not in media and not name.endswith((".xhtml", ".html", ".htm")):
            continue
        blocks = html.blocks_of(_decode(read_member(zf, name, MAX_CHAPTER)))[0]
        if not blocks:
            continue
        chapter = titles.get(name) or next((b.text for b in blocks if b.level), None)
        out, placed = html.compact(blocks)
        if lines:
            lines.append("")
            offset += 1
        inner = [(offset + o, s) for o, s in html.sections(out, placed, prefix=chapter or "")]
        if chapter and not (inner and inner[0][0] == offset):  # else the chapter's own heading names it
            sections.append((offset, chapter))
        sections += inner
        lines += out
        offset += sum(len(line) + 1 for line in out)
    if not lines:
        raise Unreadable("no readable text in the EPUB's chapters")
    title_el = opf.find(f"{OPF}metadata/{DC}title")
    title = " ".join((title_el.text or "").split()) if title_el is not None else ""
    return Extracted(text="\n".join(lines), encoding="epub", title=title or None, sections=tuple(sections))


def _resolve(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(base, unquote(urldefrag(href)[0]))).lstrip("/")


def _decode(raw: bytes) -> str:
    """XHTML is XML: its declaration names the encoding (UTF-8 when it does not)."""
    m = _XML_ENCODING.match(raw)
    if m:
        try:
            return raw.decode(m.group(1).decode("ascii"), errors="replace").lstrip("\ufeff")
        except LookupError:
            pass
    try:
        return html.decode_html(raw)[0]
    except Unreadable:
        return raw.decode("utf-8", errors="replace")


def _refuse_drm(zf) -> None:
    enc = _xml(read_member(zf, "META-INF/encryption.xml", MIB), "encryption.xml")
    for method in enc.iter(ENC + "EncryptionMethod"):
        if method.get("Algorithm") not in _FONT_OBFUSCATION:
            raise Unreadable("DRM-protected EPUB (its chapters are encrypted); only DRM-free books can be read")


class _Links(HTMLParser):
    """(href, text) of every link inside the EPUB 3 navigation document's <nav>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.href: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.href, self.text = dict(attrs).get("href"), []

    def handle_endtag(self, tag):
        if tag == "a" and self.href:
            self.links.append((self.href, " ".join("".join(self.text).split())))
            self.href = None

    def handle_data(self, data):
        if self.href is not None:
            self.text.append(data)


def _toc_titles(zf, opf, manifest, names) -> dict[str, str]:
    """Chapter file → its title in the book's table of contents (first entry per file wins)."""
    out: dict[str, str] = {}
    pairs: list[tuple[str, str, str]] = []  # (file that holds the link, href, label)
    nav = next((v for v in manifest.values() if "nav" in v[2].split()), None)
    if nav and nav[0] in names:
        links = _Links()
        links.feed(_decode(read_member(zf, nav[0], 10 * MIB)))
        pairs += [(nav[0], href, text) for href, text in links.links]
    spine = opf.find(OPF + "spine")
    ncx = manifest.get(spine.get("toc") or "") if spine is not None else None
    if not pairs and ncx and ncx[0] in names:
        root = _xml(read_member(zf, ncx[0], 10 * MIB), "table of contents")
        for point in root.iter(NCX + "navPoint"):
            label, content = point.find(f"{NCX}navLabel/{NCX}text"), point.find(NCX + "content")
            if label is not None and content is not None and content.get("src"):
                pairs.append((ncx[0], content.get("src"), " ".join((label.text or "").split())))
    for holder, href, label in pairs:
        target = _resolve(posixpath.dirname(holder), href)
        if label and target not in out:
            out[target] = label
    return out
