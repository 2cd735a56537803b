"""EPUB reader: LibreOffice's EPUB 3, a hand-built EPUB 2 with an NCX, bombs, DRM and damage."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("defusedxml", reason="pip install defusedxml")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qa import readers  # noqa: E402
from qa.readers import Unreadable  # noqa: E402

FILES = Path(__file__).parent / "data" / "files"
MANUAL = Path("/usr/share/doc/debmake-doc/debmake-doc.en.epub")


def read(data: bytes, name: str = "book.epub"):
    return readers.read_file(name, Path(name), data)


def test_libreoffice_epub_chapters_in_spine_order():
    e = read((FILES / "guide.epub").read_bytes())
    assert e.title == "A Field Guide to Rivers"
    names = [s for _, s in e.sections]
    assert names == ["Section 1", "Introduction", "Measuring flow", "Sediment and banks"]
    text = e.text
    assert text.index("Rivers carry water") < text.index("Discharge is the volume") < text.index("Fine sediment")
    for offset, name in e.sections[1:]:
        assert text[offset:].startswith(name)
    assert "\n\nMill Weir" in text or "Mill Weir" in text
    assert "while the evidence is still fresh." in text


CONTAINER = b"""<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"""

OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Rivers of the North</dc:title>
<dc:identifier id="id">x</dc:identifier></metadata>
<manifest>
<item id="c2" href="text/chapter%202.xhtml" media-type="application/xhtml+xml"/>
<item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
<item id="css" href="style.css" media-type="text/css"/>
</manifest>
<spine toc="ncx"><itemref idref="c1"/><itemref idref="css"/><itemref idref="missing"/><itemref idref="c2"/></spine>
</package>"""

NCX = """<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>
<navPoint id="p1"><navLabel><text>The Source</text></navLabel><content src="text/one.xhtml"/></navPoint>
<navPoint id="p2"><navLabel><text>Down to the Sea</text></navLabel><content src="text/chapter%202.xhtml#start"/></navPoint>
</navMap></ncx>"""

CHAPTER = """<?xml version="1.0" encoding="{enc}"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>ignored</title><script>alert("no")</script></head>
<body><h1>{h1}</h1><p>{p}</p><h2>{h2}</h2><p>More text&#160;here.</p></body></html>"""


def _book(**extra: bytes) -> bytes:
    members = {
        "mimetype": b"application/epub+zip",
        "META-INF/container.xml": CONTAINER,
        "OPS/book.opf": OPF.encode(),
        "OPS/toc.ncx": NCX.encode(),
        "OPS/style.css": b"p { margin: 0 }",
        "OPS/text/one.xhtml": CHAPTER.format(enc="UTF-8", h1="The Source", p="Springs rise in peat.", h2="Bogs").encode(),
        "OPS/text/chapter 2.xhtml": CHAPTER.format(enc="ISO-8859-1", h1="Estuary", p="Salt mars\xe9 here.", h2="Tides").encode("latin-1"),
    }
    members.update(extra)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_epub2_with_ncx_spine_order_titles_and_encodings():
    e = read(_book())
    assert e.title == "Rivers of the North"
    assert e.text.split("\n\n") == [
        "The Source", "Springs rise in peat.", "Bogs", "More text here.",
        "Estuary", "Salt marsé here.", "Tides", "More text here.",
    ]
    # A chapter is named by the book's table of contents; its own top heading is not repeated under it.
    assert [s for _, s in e.sections] == [
        "The Source", "The Source › Bogs", "Down to the Sea › Estuary", "Down to the Sea › Estuary › Tides",
    ]
    assert "alert" not in e.text and "ignored" not in e.text


@pytest.mark.slow
@pytest.mark.skipif(not MANUAL.exists(), reason="Debian's debmake-doc not installed (apt-get install debmake-doc)")
def test_real_docbook_epub():
    e = read(MANUAL.read_bytes(), MANUAL.name)
    assert e.title == "Guide for Debian Maintainers" and len(e.sections) > 200
    names = [s for _, s in e.sections]
    # DocBook marks chapter and section titles all <h1>: the table of contents gives the chapter.
    assert "3. Tool Setups › 3.7. git-buildpackage" in names and "Chapter 3. Tool Setups" in names
    assert "Prev" not in e.text.split("\n")  # DocBook's navigation bars are dropped
    at = e.text.index("3.7. git-buildpackage\n\nYou may wish")
    assert [o for o, s in e.sections if s.endswith("3.7. git-buildpackage")] == [at]


def test_zip_bomb_epub_is_refused():
    with pytest.raises(Unreadable, match="zip bomb"):
        read(_book(**{"OPS/images/bomb.bin": bytes(64 * 1024 * 1024)}))


def test_drm_epub_is_refused_but_font_obfuscation_is_fine():
    def enc(algorithm: str) -> bytes:
        return f"""<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
            xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>
            <enc:EncryptionMethod Algorithm="{algorithm}"/><enc:CipherData>
            <enc:CipherReference URI="OPS/text/one.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>""".encode()

    with pytest.raises(Unreadable, match="DRM"):
        read(_book(**{"META-INF/encryption.xml": enc("http://www.w3.org/2001/04/xmlenc#aes128-cbc")}))
    assert read(_book(**{"META-INF/encryption.xml": enc("http://www.idpf.org/2008/embedding")})).title


def test_xml_entity_expansion_is_refused():
    laughs = """<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
    <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
    <package xmlns="http://www.idpf.org/2007/opf"><metadata><title>&d;</title></metadata></package>"""
    with pytest.raises(Unreadable, match="entity"):
        read(_book(**{"OPS/book.opf": laughs.encode()}))


def test_damaged_epubs_are_refused():
    with pytest.raises(Unreadable, match="not a readable zip archive"):
        read(b"not a zip at all")
    with pytest.raises(Unreadable, match="missing part 'META-INF/container.xml'"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("mimetype", "application/epub+zip")
        read(buf.getvalue())
    with pytest.raises(Unreadable, match="not well-formed XML"):
        read(_book(**{"OPS/book.opf": b"<package><unclosed>"}))
    with pytest.raises(Unreadable, match="no readable text"):
        read(_book(**{"OPS/text/one.xhtml": b"<html/>", "OPS/text/chapter 2.xhtml": b"<html><body> </body></html>"}))


@given(st.binary(max_size=4096))
@settings(max_examples=50, deadline=None)
def test_random_bytes_only_ever_raise_unreadable(data):
    try:
        read(data)
    except Unreadable:
        pass


@given(st.integers(0, 5600), st.binary(min_size=1, max_size=32))
@settings(max_examples=50, deadline=None)
def test_damaged_real_epub_only_ever_raises_unreadable(at, junk):
    data = bytearray((FILES / "guide.epub").read_bytes())
    data[at : at + len(junk)] = junk
    try:
        read(bytes(data))
    except Unreadable:
        pass
