"""PDF reader: real files from LibreOffice, qpdf and Pillow (tests/data/files/make.sh), and Debian's debmake-doc manual."""

from __future__ import annotations

import bisect
import io
import os
import re
import shutil
import time
from pathlib import Path

import pytest

pdfium = pytest.importorskip("pypdfium2", reason="pip install pypdfium2")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qa import readers  # noqa: E402
from qa.readers import Unreadable, layout, ocr, pdf, pdfview  # noqa: E402

FILES = Path(__file__).parent / "data" / "files"
GUIDE = FILES / "guide.pdf"
MANUAL = Path("/usr/share/doc/debmake-doc/debmake-doc.en.pdf")
HAVE_TESSERACT = shutil.which("tesseract") is not None
needs_tesseract = pytest.mark.skipif(not HAVE_TESSERACT, reason="tesseract not installed (apt-get install tesseract-ocr)")


def read(path: Path, data: bytes | None = None):
    return readers.read_file(path.name, path, path.read_bytes() if data is None else data)


def lines_of(e, breaks: bool = False):
    """(line, skipped) for every line of the text, and whether it starts a paragraph if `breaks`."""
    skipped, starts = {start for start, _ in e.skip}, set(e.breaks)
    out, pos = [], 0
    for line in e.text.split("\n"):
        out.append((line, pos in skipped and bool(line)) + ((pos in starts,) if breaks else ()))
        pos += len(line) + 1
    return out


def body(e) -> str:
    """The text as passages will see it: skipped lines left out, a blank line where a paragraph starts."""
    return "\n".join(("\n" if new else "") + line for line, skipped, new in lines_of(e, True) if not skipped)


@pytest.fixture
def no_ocr(monkeypatch):
    monkeypatch.setenv("QA_TESSERACT", "/nonexistent/tesseract")


@pytest.fixture
def ocr_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ocr"


def test_text_layer_pages_title_and_sections():
    e = read(GUIDE)
    assert e.title == "A Field Guide to Rivers"
    assert len(e.pages) == 4 and list(e.pages) == sorted(e.pages) and e.pages[0] == 0
    assert e.ocr == (None, None, None, None) and e.notes == ()
    assert [s for _, s in e.sections] == ["Introduction", "Introduction › Equipment", "Measuring flow", "Sediment and banks"]
    for offset, name in e.sections:  # each bookmark lands on its heading's line
        assert e.text[offset:].startswith(name.split(" › ")[-1])
    assert e.text[e.pages[2]:].startswith("A FIELD GUIDE TO RIVERS")


def test_running_headers_footers_and_page_numbers_are_skipped():
    e = read(GUIDE)
    rows = lines_of(e)
    for line, skipped in rows:
        if line in ("A FIELD GUIDE TO RIVERS", "Riverside Survey Notes, second edition") or re.fullmatch(r"Page \d", line):
            assert skipped, line
    # The title on page 1 is body text, though it reads like the header in other letters.
    assert ("A Field Guide to Rivers", False) in rows
    assert sum(1 for _, s in rows if s) == 3 + 4 + 4  # leaders, footers, headers


def test_toc_leader_lines_are_skipped():
    rows = lines_of(read(GUIDE))
    leaders = [(line, s) for line, s in rows if "....." in line]
    assert len(leaders) == 3 and all(s for _, s in leaders)


def test_sentence_across_a_page_break_stays_one_sentence():
    e = read(GUIDE)
    text = body(e)
    assert "can be investigated while the evidence is still\nfresh." in text
    # ...and in the raw text only skipped lines (footer, next header) stand between.
    raw = e.text
    start = raw.index("the evidence is still")
    between = raw[raw.index("\n", start) + 1 : raw.index("fresh.")]
    assert between.count("\n") == 2 and "\n\n" not in between


def test_hyphenation_across_lines_is_left_for_the_cleaner():
    text = body(read(GUIDE))
    # PDFium joins a hyphenated word into one run; the reader restores the visual lines.
    assert "share those observa-\ntions with the regional" in text
    assert "an approxi-\nmation and should be marked" in text
    assert "\ufffe" not in text and "\x02" not in text


def test_lines_are_the_lines_on_the_page():
    """No line is added for a paragraph gap: line N of a page is the Nth line a person counts on it (counted on
    the rendered page: "fifteen minutes" is line 22 of page 2, the table's "Mill Weir" line 17)."""
    e = read(GUIDE)
    assert all(line.strip() for line in e.text.split("\n"))
    starts = readers.page_lines(e.text, e.pages)
    for words, page, line in (("fifteen minutes", 2, 22), ("Mill Weir", 2, 17), ("four fifths", 2, 8)):
        assert e.text[: e.text.index(words)].count("\n") + 1 - starts[page - 1] + 1 == line, words


def test_paragraph_gaps_start_paragraphs_and_wrapped_lines_do_not():
    text = body(read(GUIDE))
    assert "reported\nby experienced surveyors.\n\nEquipment\n\nThe basic kit" in text
    assert "settles in\nslow pools" in text  # a wrapped line is not a paragraph break
    assert "in the notebook.\n\nSediment and banks" in text  # page break before a heading is a paragraph break
    # table rows (short lines ending at the same place) are paragraphs: none runs into the sentence under the table
    assert "Depth (m)\n\nMill Weir 0.8 1.2\n\nHeron Pool 0.3 2.5\n\nWhere the channel" in text


def test_clean_line_normalises_ligatures_spaces_and_soft_hyphens():
    assert layout.clean_line("ﬁnd the ﬂow\xa0of e\u2009ﬀort, ﬃx ﬄy") == "find the flow of e ffort, ffix ffly"
    assert layout.clean_line("organ\xadisation") == "organisation"
    assert layout.clean_line("organ\xad") == "organ-"
    assert layout.clean_line("zero\u200bwidth\ufeff  and\tcontrol\x07") == "zerowidth and control"


def test_garbage_text_layers_are_recognised():
    assert layout.garbage("")
    assert layout.garbage("\ufffd" * 40 + " ok")
    assert layout.garbage("\ue001\ue002\ue003 " * 30)
    assert layout.garbage("llllll " * 60)
    assert not layout.garbage("Introduction . . . . . . . . . . . . . . . . . . . . . . . . . . 5\n" * 5)
    assert not layout.garbage("A short page.")


def test_running_header_detection_on_synthetic_pages():
    def page(n: int, header: str, body: list[str]) -> list[layout.Line]:
        lines = [layout.Line(header, base=40.0, size=9.0)]
        lines += [layout.Line(t, base=80.0 + 12 * k, size=10.0) for k, t in enumerate(body)]
        return lines + [layout.Line(str(n), base=800.0, size=9.0)]

    pages = [
        page(1, "36 CHAPTER 3. TOOL SETUPS", ["Body one", "continues"]),
        page(2, "3.7. GIT-BUILDPACKAGE 37", ["Body two", "goes on"]),
        page(3, "38 CHAPTER 3. TOOL SETUPS", ["Body three", "and on"]),
        page(4, "3.8. HTTP PROXY 39", ["Body four", "ends"]),  # a one-page section: found by position
        page(5, "40 CHAPTER 3. TOOL SETUPS", ["Body five", "fin"]),
    ]
    marks = layout.running(pages)
    for lines, marked in zip(pages, marks):
        assert {lines[j].text for j in marked} == {lines[0].text, lines[-1].text}


def test_page_break_decisions():
    def line(text: str, x1: float = 400.0, size: float = 10.0) -> layout.Line:
        return layout.Line(text, base=700.0, size=size, x1=x1)

    full = [line("a full line of running text that reaches the margin") for _ in range(5)]
    assert not layout.page_break(full + [line("the sentence goes on")], 5, [line("and ends here.")], 0)
    assert not layout.page_break(full + [line("a word hyphen-", x1=200.0)], 5, [line("ated across pages")], 0)
    assert layout.page_break(full + [line("Its last line.", x1=120.0)], 5, [line("Next paragraph")], 0)
    assert layout.page_break(full + [line("the end of a text")], 5, [line("A Heading", size=14.0)], 0)
    assert layout.page_break(full + [line("an item")], 5, [line("• another item")], 0)


def test_title_from_metadata_only_when_meaningful():
    p = Path("report.pdf")
    assert pdf.meaningful_title("A Field Guide to Rivers", p) == "A Field Guide to Rivers"
    for junk in ("", "  ", "Microsoft Word - report.doc", "report", "report.pdf", "untitled", "Document1",
                 "C:\\work\\x.docx", "/tmp/out", "1234"):
        assert pdf.meaningful_title(junk, p) is None, junk


def test_encrypted_pdf_is_refused_with_a_reason():
    with pytest.raises(Unreadable, match=r"encrypted \(password-protected\) PDF; .*qpdf --decrypt"):
        read(FILES / "encrypted.pdf")


def test_truncated_and_damaged_pdfs_are_refused():
    data = GUIDE.read_bytes()
    with pytest.raises(Unreadable, match="truncated PDF"):
        read(Path("half.pdf"), data[: len(data) // 2])
    with pytest.raises(Unreadable, match="not a PDF"):
        read(Path("fake.pdf"), b"<html>not a pdf</html>")
    with pytest.raises(Unreadable, match="damaged PDF"):
        read(Path("junk.pdf"), b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")


def test_scanned_pdf_without_tesseract_says_how_to_enable_ocr(no_ocr):
    assert ocr.tesseract() is None
    with pytest.raises(Unreadable, match=re.escape("sudo apt-get install tesseract-ocr")):
        read(FILES / "scanned.pdf")
    with pytest.raises(Unreadable, match="install tesseract-ocr"):
        read(FILES / "garbage-layer.pdf")  # a layer of one repeated glyph is no text layer


def test_mixed_pdf_without_tesseract_reads_text_pages_and_notes_the_rest(no_ocr):
    e = read(Path("mixed.pdf"), _mixed())
    assert len(e.pages) == 2 and e.ocr == (None, None)
    assert "Rivers carry water" in e.text
    assert e.notes == ("page 2 has no usable text layer and was skipped; to read scanned pages, "
                       "install tesseract-ocr: sudo apt-get install tesseract-ocr",)


@needs_tesseract
def test_scanned_pdf_is_read_by_ocr_and_cached(ocr_cache, monkeypatch):
    started = time.monotonic()
    e = read(FILES / "scanned.pdf")
    first = time.monotonic() - started
    assert len(e.pages) == 3 and all(c is not None and c > 80 for c in e.ocr)
    assert re.fullmatch(r"pages 1–3 read by OCR \(mean confidence \d+%\)", e.notes[0])
    text = body(e)
    for words in ("Fine sediment clouds the water", "willow spiling", "Heron Pool", "Sediment and banks"):
        assert words in text
    assert "the evidence is still\nfresh." in text  # the page break, with its header skipped, joins
    assert len(list(ocr_cache.glob("*.json"))) == 3
    # A second read never runs tesseract: every page comes from the cache.
    monkeypatch.setattr(ocr, "_run", lambda *a: pytest.fail("OCR ran again"))
    started = time.monotonic()
    assert read(FILES / "scanned.pdf").text == e.text
    assert time.monotonic() - started < first
    print(f"OCR: {len(e.pages) / first:.2f} pages/s")


@needs_tesseract
def test_garbage_text_layer_goes_to_ocr(ocr_cache):
    e = read(FILES / "garbage-layer.pdf")
    assert "llllll" not in e.text and "Fine sediment clouds" in e.text and e.ocr[0] is not None


@needs_tesseract
def test_mixed_pdf_reports_ocr_per_page(ocr_cache):
    e = read(Path("mixed.pdf"), _mixed())
    assert e.ocr[0] is None and e.ocr[1] is not None
    assert e.notes[0].startswith("page 2 read by OCR (mean confidence")


def test_ocr_time_per_page_is_bounded(tmp_path, ocr_cache, monkeypatch):
    slow = tmp_path / "tesseract"
    slow.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("QA_TESSERACT", str(slow))
    monkeypatch.setenv("QA_OCR_TIMEOUT", "1")
    started = time.monotonic()
    e = read(Path("mixed.pdf"), _mixed())
    assert time.monotonic() - started < 10
    assert e.notes == ("OCR failed on page 2: OCR gave up after 1 s",)


def test_ocr_engine_failure_is_a_note(tmp_path, ocr_cache, monkeypatch):
    broken = tmp_path / "tesseract"
    broken.write_text("#!/bin/sh\necho 'Error opening data file eng.traineddata' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("QA_TESSERACT", str(broken))
    e = read(Path("mixed.pdf"), _mixed())
    assert e.notes == ("OCR failed on page 2: tesseract failed (Error opening data file eng.traineddata)",)
    with pytest.raises(Unreadable, match="no text found, not even by OCR .tesseract failed"):
        read(FILES / "scanned.pdf")


def test_parse_tsv_lines_paragraphs_and_confidence():
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "5\t1\t1\t1\t1\t1\t10\t20\t50\t12\t90\tHello",
        "5\t1\t1\t1\t1\t2\t70\t21\t40\t12\t80\tworld",
        "5\t1\t1\t1\t2\t1\t10\t40\t30\t12\t70\tnext",
        "5\t1\t2\t1\t1\t1\t10\t80\t30\t12\t-1\t ",
        "5\t1\t2\t1\t1\t2\t10\t80\t30\t12\t60\tnew",
    ]
    page = ocr.parse_tsv("\n".join([head, *rows]))
    assert [(t, p) for t, *_, p in page.lines] == [("Hello world", True), ("next", False), ("new", True)]
    assert page.confidence == pytest.approx(75.0)
    assert page.lines[0][1:4] == (20.0, 33.0, 110.0)


def test_render_page_and_span_boxes():
    png = pdfview.render_page(GUIDE, 3, scale=1.5)
    assert png.startswith(b"\x89PNG")
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    with pdfium.PdfDocument(str(GUIDE)) as doc:
        width, height = doc[2].get_size()
    assert image.size == (-(-width * 1.5 // 1), -(-height * 1.5 // 1))
    boxes = pdfview.span_boxes(GUIDE, 3, "the  evidence is\nstill")
    assert len(boxes) == len("theevidenceisstill")
    assert all(0 <= x0 < x1 <= image.size[0] and 0 <= y0 < y1 <= image.size[1] for x0, y0, x1, y1 in boxes)
    assert boxes[0][0] < boxes[-1][0]  # left to right on one line
    # A word hyphenated at a line end is found joined, as the cleaner writes it.
    two_lines = pdfview.span_boxes(GUIDE, 3, "seasonal report")
    assert len(two_lines) == len("seasonalreport") and two_lines[0][1] < two_lines[-1][1]
    assert pdfview.span_boxes(GUIDE, 3, "not on this page") == []
    assert pdfview.span_boxes(GUIDE, 9, "fresh") == []


@pytest.mark.slow
def test_two_thousand_pages_read_in_bounded_time(no_ocr):
    src = pdfium.PdfDocument(str(GUIDE))
    big = pdfium.PdfDocument.new()
    for _ in range(500):
        big.import_pages(src)
    buf = io.BytesIO()
    big.save(buf)
    big.close()
    src.close()
    started = time.monotonic()
    e = read(Path("big.pdf"), buf.getvalue())
    elapsed = time.monotonic() - started
    assert len(e.pages) == 2000 and elapsed < 30
    # Header and footer on every page; the three leader lines and the title repeated on every 4th.
    assert len(e.skip) == 2000 * 2 + 500 * 4
    print(f"2,000 pages: {elapsed:.1f} s ({2000 / elapsed:.0f} pages/s)")


@pytest.mark.slow
@pytest.mark.skipif(not MANUAL.exists(), reason="Debian's debmake-doc not installed (apt-get install debmake-doc)")
def test_real_manual_headers_never_reach_passages(no_ocr):
    data = MANUAL.read_bytes()
    started = time.monotonic()
    e = read(MANUAL, data)
    elapsed = time.monotonic() - started
    print(f"debmake-doc: {len(e.pages)} pages in {elapsed:.2f} s ({len(e.pages) / elapsed:.0f} pages/s)")
    assert len(e.pages) >= 100 and elapsed < 5
    assert e.title == "Guide for Debian Maintainers" and len(e.sections) > 100
    header = re.compile(r"^(CHAPTER|APPENDIX) [0-9A-Z]+\. [A-Z0-9(). /*+:,’'-]+(…)?$")
    rows = lines_of(e)
    assert sum(1 for line, s in rows if s and header.match(line)) > 100
    leftovers = [line for line, s in rows if not s and (header.match(line) or layout.is_leader(line))]
    assert leftovers == []
    # Nearly every page ends with its page number (arabic or roman), always skipped.
    starts = [0] + [m.end() for m in re.finditer("\n", e.text)]
    last_lines = []
    for page in e.pages[1:]:
        k = bisect.bisect_left(starts, page) - 1
        while k > 0 and not rows[k][0]:
            k -= 1
        last_lines.append(rows[k])
    numbers = [(line, s) for line, s in last_lines if layout.is_page_number(line)]
    assert len(numbers) > 130 and all(s for _, s in numbers)


@given(st.binary(max_size=4096))
@settings(max_examples=50, deadline=None)
def test_random_bytes_only_ever_raise_unreadable(data):
    try:
        read(Path("random.pdf"), data)
    except Unreadable:
        pass


@given(st.integers(0, 33000), st.binary(min_size=1, max_size=64))
@settings(max_examples=50, deadline=None)
def test_damaged_real_pdf_only_ever_raises_unreadable(at, junk):
    data = bytearray(GUIDE.read_bytes())
    data[at : at + len(junk)] = junk
    saved = os.environ.get("QA_TESSERACT")
    os.environ["QA_TESSERACT"] = ""  # a damaged page must not start OCR here
    try:
        read(Path("damaged.pdf"), bytes(data))
    except Unreadable:
        pass
    finally:
        if saved is None:
            del os.environ["QA_TESSERACT"]
        else:
            os.environ["QA_TESSERACT"] = saved


def _mixed() -> bytes:
    """Page 1 of the guide (text) followed by page 1 of the scan (image only), as pypdfium2 merges them."""
    out = pdfium.PdfDocument.new()
    out.import_pages(pdfium.PdfDocument(str(GUIDE)), [0])
    out.import_pages(pdfium.PdfDocument(str(FILES / "scanned.pdf")), [0])
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()
