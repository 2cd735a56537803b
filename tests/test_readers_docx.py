"""DOCX reader: LibreOffice's and python-docx's output, zip bombs and damaged files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

docx_lib = pytest.importorskip("docx", reason="pip install python-docx")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qa import readers  # noqa: E402
from qa.readers import Unreadable, docx, ziputil  # noqa: E402

FILES = Path(__file__).parent / "data" / "files"


def read(data: bytes, name: str = "doc.docx"):
    return readers.read_file(name, Path(name), data)


def test_libreoffice_docx_paragraphs_headings_list_and_table():
    e = read((FILES / "guide.docx").read_bytes())
    assert e.title == "A Field Guide to Rivers"
    paragraphs = e.text.split("\n")
    # One paragraph per line, each its own paragraph for the cleaner: line N is paragraph N.
    assert all(paragraphs) and len(e.breaks) == len(paragraphs)
    assert [e.text[b:].split("\n")[0] for b in e.breaks] == paragraphs
    assert paragraphs[:2] == ["A Field Guide to Rivers", "Introduction 1"]
    assert "• a waterproof notebook and two pencils" in paragraphs
    table = paragraphs.index("Site | Velocity (m/s) | Depth (m)")
    assert paragraphs[table - 1].startswith("The table below lists")
    assert paragraphs[table + 1 : table + 3] == ["Mill Weir | 0.8 | 1.2", "Heron Pool | 0.3 | 2.5"]
    assert paragraphs[table + 3].startswith("Where the channel is too deep")
    assert [s for _, s in e.sections] == ["Introduction", "Introduction › Equipment", "Measuring flow", "Sediment and banks"]
    for offset, name in e.sections:
        assert e.text[offset:].startswith(name.split(" › ")[-1])
    # The table of contents (a content control) is there, in `skip`.
    toc = [e.text[a:b] for a, b in e.skip]
    assert toc == ["Introduction 1", "Measuring flow 2", "Sediment and banks 3"]
    assert "Page 1" not in e.text and "RIVERS FIELD GUIDE" not in e.text  # page headers and footers


def _python_docx(title: str | None = "Core Title") -> bytes:
    d = docx_lib.Document()
    if title:
        d.core_properties.title = title
    d.add_paragraph("Document Title", style="Title")
    d.add_heading("First chapter", level=1)
    d.add_paragraph("Opening paragraph with\ta tab and a soft\xadhyphen.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Key", "Value"
    table.cell(1, 0).text, table.cell(1, 1).text = "alpha", "1"
    d.add_heading("Details", level=2)
    d.add_paragraph("A bullet point", style="List Bullet")
    d.add_paragraph("")  # empty paragraphs are not lines
    d.add_heading("Second chapter", level=1)
    d.add_paragraph("Closing words.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_python_docx_document_in_order():
    e = read(_python_docx())
    assert e.title == "Core Title"
    assert e.text.split("\n") == [
        "Document Title", "First chapter", "Opening paragraph with a tab and a softhyphen.", "Key | Value",
        "alpha | 1", "Details", "• A bullet point", "Second chapter", "Closing words.",
    ]
    assert [s for _, s in e.sections] == ["First chapter", "First chapter › Details", "Second chapter"]


def test_title_falls_back_to_title_paragraph():
    e = read(_python_docx(title=None))
    # python-docx's template carries no title of its own, so the Title paragraph names it.
    assert e.title in ("Document Title",)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_is_refused_before_inflating():
    real = zipfile.ZipFile(io.BytesIO(_python_docx()))
    members = {i.filename: real.read(i) for i in real.infolist()}
    members["word/media/bomb.bin"] = bytes(64 * 1024 * 1024)  # 64 MiB of zeros: ~64 KiB packed
    data = _zip(members)
    assert len(data) < 200_000
    with pytest.raises(Unreadable, match="zip bomb"):
        read(data)


def test_expanded_size_limit(monkeypatch):
    monkeypatch.setattr(docx, "MAX_EXPANDED", 1024)
    with pytest.raises(Unreadable, match="would expand to .* over the"):
        read(_python_docx())


def test_damaged_and_wrong_files_are_refused():
    with pytest.raises(Unreadable, match="not a readable zip archive"):
        read(b"PK\x03\x04 this is no zip")
    with pytest.raises(Unreadable, match="Word 97-2003"):
        read(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    with pytest.raises(Unreadable, match="not a Word document"):
        read(_zip({"hello.txt": b"hi"}))
    good = _python_docx()
    with pytest.raises(Unreadable):
        read(good[: len(good) // 2])


def test_member_reads_are_capped():
    zf = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": b"x" * 5000})))
    with pytest.raises(Unreadable, match="larger than"):
        ziputil.read_member(zf, "a.xml", 1000)
    with pytest.raises(Unreadable, match="missing part"):
        ziputil.read_member(zf, "b.xml", 1000)


@given(st.binary(max_size=4096))
@settings(max_examples=50, deadline=None)
def test_random_bytes_only_ever_raise_unreadable(data):
    try:
        read(data)
    except Unreadable:
        pass


@given(st.integers(0, 9000), st.binary(min_size=1, max_size=32))
@settings(max_examples=50, deadline=None)
def test_damaged_real_docx_only_ever_raises_unreadable(at, junk):
    data = bytearray((FILES / "guide.docx").read_bytes())
    data[at : at + len(junk)] = junk
    try:
        read(bytes(data))
    except Unreadable:
        pass
