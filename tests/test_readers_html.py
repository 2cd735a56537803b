"""HTML reader: LibreOffice's HTML export, hand-written pages with boilerplate, charsets, hostile input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa import readers
from qa.readers import Unreadable
from qa.text import clean

FILES = Path(__file__).parent / "data" / "files"


def read(data: bytes | str, name: str = "page.html"):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return readers.read_file(name, Path(name), data)


def line_of(e, text: str) -> int:
    """1-based line of `text` in the extracted text."""
    return e.text[: e.text.index(text)].count("\n") + 1


def source_line(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


def paragraphs(e) -> list[str]:
    """The paragraphs the cleaner makes of the extracted text, as passages are cut from them."""
    c = clean(e.text, skip=e.skip, breaks=e.breaks)
    return [c.text[p.start:p.end] for p in c.paragraphs]


def test_libreoffice_export_keeps_source_lines():
    source = (FILES / "guide.html").read_text(encoding="utf-8")
    e = read((FILES / "guide.html").read_bytes(), "guide.html")
    assert e.text.count("\n") == source.count("\n")  # as many lines as the source
    assert e.title == "A Field Guide to Rivers"
    for text in ("Introduction</h1>", "Sediment and banks</h1>", "Equipment</h2>"):
        assert line_of(e, text.split("<")[0] + "\n") == source_line(source, text)
    # A paragraph wrapped over several source lines keeps each line's words on that line, and is one paragraph.
    for words in ("Rivers carry water", "sea, and their behaviour", "coordinates the survey."):
        assert line_of(e, words) == source_line(source, words)
    assert any(p.startswith("Rivers carry water") and p.endswith("coordinates the survey.") for p in paragraphs(e))
    # A table row is one line; page header and footer (LibreOffice's title="header") are dropped.
    assert line_of(e, "Mill Weir | 0.8 | 1.2") == source_line(source, "Mill Weir")
    assert "A FIELD GUIDE TO RIVERS" not in e.text and "Page 1" not in e.text
    assert [s for _, s in e.sections] == ["Introduction", "Introduction › Equipment", "Measuring flow", "Sediment and banks"]
    for offset, name in e.sections:
        assert e.text[offset:].startswith(name.split(" › ")[-1])


PAGE = """<!doctype html>
<html><head>
<meta charset="utf-8"><meta property="og:site_name" content="River Trust">
<title>Measuring flow — River Trust</title>
<style>p { color: red }</style>
<script>document.write("<p>injected</p>")</script>
</head>
<body>
<header><a href="/">Home</a> <a href="/about">About us</a></header>
<nav><ul><li>Menu item</li></ul></nav>
<div role="navigation">Breadcrumb trail</div>
<main>
<article>
<header><h1>Measuring flow</h1></header>

<p>Discharge is volume per second &amp; it
varies with rainfall.</p>

<h2>Method</h2>

<ul>
<li>Time an orange.</li>
<li>Measure depth.</li>
</ul>

<pre>
def discharge(area, velocity):
    return area * velocity  # m³/s
</pre>

<p>Line one<br>line two</p>
<p hidden>Secret hidden text</p>
<p style="display: none">Invisible text</p>
<div aria-hidden="true">Screen-reader hidden</div>
<template><p>Template text</p></template>
<noscript>Enable JavaScript</noscript>
<form><label>Search</label><input name="q"></form>
<aside>Related links</aside>
<table>
<tr><th>Site</th><th>Velocity</th></tr>
<tr><td>Mill Weir</td><td>0.8</td></tr>
</table>
</article>
</main>
<footer>Copyright 2024</footer>
</body></html>
"""


def test_boilerplate_is_dropped_and_content_kept():
    e = read(PAGE)
    for gone in ("injected", "Home", "Menu item", "Breadcrumb", "Secret", "Invisible", "Screen-reader", "Template",
                 "Enable JavaScript", "Search", "Related links", "Copyright", "color: red"):
        assert gone not in e.text, gone
    assert e.title == "Measuring flow"  # " — River Trust" is the declared site name
    assert [s for _, s in e.sections] == ["Measuring flow", "Measuring flow › Method"]
    assert "Discharge is volume per second & it varies with rainfall." in paragraphs(e)
    assert "Line one line two" in e.text
    assert "Site | Velocity" in e.text and "Mill Weir | 0.8" in e.text


def test_blocks_sit_on_their_source_lines():
    e = read(PAGE)
    for text in ("Measuring flow</h1>", "<h2>Method", "Time an orange", "Measure depth", "def discharge",
                 "return area", "Line one", "Mill Weir"):
        clean = text.replace("<h2>", "").replace("</h1>", "")
        assert line_of(e, clean) == source_line(PAGE, text), text
    assert line_of(e, "varies with rainfall.") == source_line(PAGE, "varies with rainfall.")  # its own source line
    # Every block that starts a line is a paragraph, blank line before it or not (list items, table rows).
    assert paragraphs(e)[:4] == ["Measuring flow", "Discharge is volume per second & it varies with rainfall.",
                                 "Method", "Time an orange."]
    assert "Site | Velocity" in paragraphs(e) and "Mill Weir | 0.8" in paragraphs(e)
    # Preformatted lines keep their lines and indentation.
    assert "def discharge(area, velocity):\n    return area * velocity  # m³/s" in e.text


def test_a_heading_on_the_line_above_its_paragraph_is_not_read_into_it():
    source = ("<h2>Lighthouse maintenance</h2>\n<p>The lamp is cleaned each week\nby the keeper, "
              "<a href='#'>Agnes Moray</a>, and\nthe lens every fifteen minutes.</p>\n<h2>Supplies</h2>\n"
              "<p>Paraffin comes <a href='#'>by boat</a>, weather permitting.</p>")
    e = read(source)
    assert paragraphs(e) == ["Lighthouse maintenance", "The lamp is cleaned each week by the keeper, Agnes Moray, "
                             "and the lens every fifteen minutes.", "Supplies", "Paraffin comes by boat, weather permitting."]
    assert line_of(e, "fifteen minutes") == source_line(source, "fifteen minutes") == 4  # cited on its own line
    # a source line holding only a tag leaves a blank line inside the paragraph, which stays one paragraph
    tagged = read("<p>Rivers carry water and\n<img src='x.png'>\nsediment to the sea.</p>\n\n<p>Second.</p>")
    assert paragraphs(tagged) == ["Rivers carry water and sediment to the sea.", "Second."]
    assert [s for _, s in e.sections] == ["Lighthouse maintenance", "Supplies"]


def test_blocks_sharing_a_line_share_it():
    e = read("<p>one</p><p>two</p>\n<ul><li>a</li><li>b</li></ul>")
    assert e.text.split("\n") == ["one two", "a b"]


def test_title_falls_back_to_first_h1_and_keeps_unobvious_suffixes():
    assert read("<h1>Only heading</h1><p>text</p>").title == "Only heading"
    assert read("<title>Rivers - a guide</title><p>text</p>").title == "Rivers - a guide"
    assert read("<title>Flow | Docs</title><h1>Flow</h1><p>x</p>").title == "Flow"


def test_charsets_bom_meta_and_detection():
    latin = '<meta charset="iso-8859-1"><p>Caf\xe9 cr\xe8me</p>'.encode("latin-1")
    e = read(latin)
    assert "Café crème" in e.text and e.encoding == "cp1252"
    e = read("\ufeff<p>Grüße</p>".encode("utf-16"))
    assert "Grüße" in e.text
    e = read('<meta http-equiv="content-type" content="text/html; charset=windows-1251"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>'.encode("latin-1"))
    assert "Привет" in e.text
    e = read("<p>naïve café</p>".encode("utf-8"))
    assert "naïve café" in e.text and e.encoding == "utf-8"
    with pytest.raises(Unreadable):
        read(b"\x00\x01\x02<p>binary</p>" * 10)


def test_markup_only_is_unreadable():
    with pytest.raises(Unreadable, match="no readable text"):
        read("<html><head><script>x()</script></head><body><nav>menu</nav></body></html>")


@pytest.mark.parametrize(
    "hostile",
    [
        "<div>" * 100_000 + "deep text" + "</div>" * 100_000,
        "<p>start</p>" + "<!--" * 100_000,
        "<p>start</p>" + "<" * 500_000,
        "<p>start</p>" + "<a" * 200_000,
        "<p>start</p>" + "<![CDATA[" * 100_000,
        "<p>start</p>" + "<?" * 200_000,
        "<p>start</p>" + "</" * 200_000,
        '<p title="' + "x" * 2_000_000 + '">start</p>',
        "<p>start " + "&amp;&#0;&#xD800;&#x110000;&bogus;&#99999999999;" * 20_000 + "</p>",
        "<p>start</p><script>" + "<p>not text</p>" * 10_000,
    ],
    ids=["nested", "comments", "lt", "tags", "cdata", "pi", "endtags", "attribute", "entities", "script"],
)
def test_hostile_html_is_inert_and_fast(hostile):
    started = time.monotonic()
    try:
        e = read(hostile)
    except Unreadable:
        return
    assert time.monotonic() - started < 10
    assert "not text" not in e.text
    assert ("start" in e.text) or ("deep text" in e.text)


@given(st.binary(max_size=4096))
@settings(max_examples=50, deadline=None)
def test_random_bytes_only_ever_raise_unreadable(data):
    try:
        read(data)
    except Unreadable:
        pass


@given(st.text(alphabet=st.sampled_from(list("<>/!-?[]&#;='\" \npdivscriptlh1x")), max_size=400))
@settings(max_examples=50, deadline=None)
def test_random_markup_keeps_the_line_count(source):
    try:
        e = read(source)
    except Unreadable:
        return
    assert e.text.count("\n") == source.replace("\r\n", "\n").replace("\r", "\n").count("\n")
