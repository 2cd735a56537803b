"""Every format end to end: built into one index, asked, cited to page/section and lines, and verified.

The files in tests/data/files were written by real producers (LibreOffice
from one source, Pillow for the scan; see make.sh there).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import qa
from qa.generation import open_generation
from qa.readers import read_file
from qa.verify import citation_holds

from conftest import ROOT

FILES = ROOT / "tests" / "data" / "files"
HAVE_OCR = shutil.which("tesseract") is not None


@pytest.fixture(scope="module")
def formats(tmp_path_factory, embedder):
    docs = tmp_path_factory.mktemp("formats") / "documents"
    docs.mkdir()
    for name in ("guide.pdf", "guide.docx", "guide.html", "guide.epub", "scanned.pdf", "encrypted.pdf"):
        shutil.copy(FILES / name, docs / name)
    (docs / "truncated.pdf").write_bytes((FILES / "guide.pdf").read_bytes()[:9000])
    (docs / "notes.docx").write_bytes(b"PK\x03\x04 not really a zip")
    index = docs.parent / "index"
    report = qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder)
    return docs, index, report, qa.Searcher(index, embedder=embedder)


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(formats):
    _, _, report, _ = formats
    reasons = {s.document: s.reason for s in report.skipped}
    assert set(reasons) == {"encrypted.pdf", "truncated.pdf", "notes.docx"}
    assert "password" in reasons["encrypted.pdf"] or "encrypted" in reasons["encrypted.pdf"]
    assert report.documents == (5 if HAVE_OCR else 4)


@pytest.mark.parametrize("name", ["guide.pdf", "guide.docx", "guide.html", "guide.epub"])
def test_each_format_answers_with_its_title_and_section(formats, name):
    _, _, _, searcher = formats
    answer = searcher.ask("What should volunteers use to time the surface velocity?", k=3, documents=[name])
    hit = answer.passages[0]
    assert "orange" in hit.text and hit.citation.title == "A Field Guide to Rivers"
    assert hit.citation.section.startswith(("Introduction", "Measuring flow"))


def test_pdf_citations_name_the_page_and_lines_on_it(formats):
    _, _, _, searcher = formats
    hit = searcher.ask("How soon must completed forms be returned?", k=1, documents=["guide.pdf"]).passages[0]
    c = hit.citation
    assert "within a week" in hit.text and c.section == "Sediment and banks"
    # The sentence runs over the page break: "... while the evidence is still / fresh."
    assert "still fresh" in hit.text and (c.page_start, c.page_end) == (3, 4)
    assert str(c) == f"guide.pdf, p. 3, line {c.page_line_start} – p. 4, line {c.page_line_end}"
    assert "A FIELD GUIDE TO RIVERS" not in hit.text and "Page 3" not in hit.text  # running header, page number


def test_running_headers_and_page_numbers_never_reach_passages(formats):
    _, index, report, _ = formats
    for p in open_generation(index / report.generation).index.passages():
        assert "Riverside Survey Notes" not in p.text and "Page 2" not in p.text
        assert "....." not in p.text  # contents dot leaders


@pytest.mark.skipif(not HAVE_OCR, reason="tesseract is not installed (make test installs tesseract-ocr)")
def test_scanned_pages_are_read_by_ocr_and_cited(formats):
    _, _, _, searcher = formats
    hit = searcher.ask("What fraction of the surface velocity is the mean velocity?", k=1, documents=["scanned.pdf"]).passages[0]
    assert "four fifths" in hit.text and hit.citation.page_start is not None


def test_verify_checks_every_citation_of_every_format(formats):
    docs, index, _, _ = formats
    report = qa.verify(index, docs)
    assert report.ok, report.problems + report.stale


def test_a_changed_pdf_is_seen_by_verify_and_updated(formats, tmp_path, embedder):
    docs, index, _, _ = formats
    work, work_index = tmp_path / "docs", tmp_path / "index"
    shutil.copytree(docs, work)
    shutil.copytree(index, work_index)
    (work / "guide.pdf").unlink()
    assert "guide.pdf is indexed but no longer" in " ".join(qa.verify(work_index, work).stale)
    report = qa.build_index(qa.Settings(documents=work, index=work_index), embedder=embedder)
    assert report.removed == ("guide.pdf",) and report.embedded == 0


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_every_passage_citation_holds_in_the_reread_file(formats, data):
    """Property: any passage's lines, and any of its sentences' lines, hold its words in the file as re-read."""
    docs, index, report, _ = formats
    passages = list(open_generation(index / report.generation).index.passages())
    p = data.draw(st.sampled_from(passages))
    lines = read_file(p.document, docs / p.document, (docs / p.document).read_bytes()).text.split("\n")
    assert citation_holds(p.text, lines, p.line_start, p.line_end)
    a, b, ls, le = data.draw(st.sampled_from(p.sentences))
    assert citation_holds(p.text[a:b], lines, ls, le)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/share/developers-reference/developers-reference.pdf").exists(),
                    reason="Debian's developers-reference is not installed (make test installs it)")
def test_a_real_manual_answers_alike_from_its_pdf_and_its_html(embedder):
    """Debian's Developer's Reference (114 pages), its own PDF and HTML editions, our questions of it."""
    sys.path.insert(0, str(ROOT))
    from bench.formats import agreement

    r = agreement(embedder)
    assert r["same_outcome_first"] >= 0.8 and abs(r["pdf_top5"] - r["html_top5"]) <= 0.05
    assert r["pdf_passages_with_running_header"] == 0


@pytest.mark.skipif(not HAVE_OCR, reason="tesseract is not installed (make test installs tesseract-ocr)")
def test_ocr_is_marked_in_the_citation_with_its_confidence_and_said_by_the_build(formats):
    _, _, report, searcher = formats
    assert any(n.document == "scanned.pdf" and "read by OCR" in n.reason for n in report.notes)
    hit = searcher.ask("What fraction of the surface velocity is the mean velocity?", k=1, documents=["scanned.pdf"]).passages[0]
    assert 50 <= hit.citation.ocr_confidence <= 100 and "(OCR, " in str(hit.citation)
    assert searcher.ask("How soon must forms be returned?", k=1, documents=["guide.pdf"]).passages[0].citation.ocr_confidence is None


def test_without_tesseract_a_scan_is_skipped_with_the_way_to_enable_it(tmp_path, embedder, monkeypatch):
    monkeypatch.setenv("QA_TESSERACT", "")
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(FILES / "scanned.pdf", docs / "scanned.pdf")
    shutil.copy(FILES / "guide.docx", docs / "guide.docx")
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    [skip] = report.skipped
    assert skip.document == "scanned.pdf" and "tesseract-ocr" in skip.reason
