import re
from pathlib import Path

import pytest

from qa.chat import add_files, escape, render_answer, safe_name
from qa.library import example_questions

from conftest import COURT, SAMPLES

HOSTILE = '<img src=x onerror=alert(1)> <script>alert(2)</script> [click](javascript:alert(3))\n\n*bold* # head'


def test_escape_leaves_no_markup_and_no_newlines():
    out = escape(HOSTILE)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert "&lt;script&gt;" in out


def test_rendered_answer_is_one_html_block_with_the_sentence_marked(searcher):
    answer = searcher.ask("Who chairs the Military Chamber?", k=2)
    out = render_answer(answer, SAMPLES)
    assert "\n" not in out  # one HTML block: Markdown never parses document text
    assert "<mark>" + escape(answer.passages[0].answer_sentence) + "</mark>" in out
    assert COURT in out and "Surrounding text" in out and "Sources" in out
    # a card cites its whole passage, the answer line its sentence: the card says which it is
    first = answer.passages[0].citation
    assert f"Passage: {escape(str(first))}" in out
    # the surrounding lines are numbered rows (a wrapped line stays beside its number), the passage's marked
    marked = re.findall(r'<div class="qa-line qa-hl" data-line="(\d+)">', out.split('class="qa-source"')[1])
    assert [int(n) for n in marked] == list(range(first.line_start, first.line_end + 1))
    # shown once: the card's sentence, then the passage among its file's lines (not its text a second time)
    card = out.split('class="qa-source"')[1]
    assert card.count("<blockquote>") == 1 and card.count("<mark>") == 1
    alone = render_answer(answer, None)  # no file to read: the passage's own text, its sentence marked
    before = escape(answer.passages[0].text[:answer.passages[0].answer_start].strip()[:40])
    assert "Surrounding text" not in alone and before in alone


def test_a_file_edited_since_the_build_shows_the_passage_not_other_lines(searcher, tmp_path):
    import shutil

    answer = searcher.ask("Who chairs the Military Chamber?", k=1)
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLES, docs)
    hit = answer.passages[0]
    assert "Surrounding text" in render_answer(answer, docs)
    (docs / hit.citation.document).write_text("A different text.\n" * 3 + "Nothing of it is left.\n")
    out = render_answer(answer, docs)
    assert "Surrounding text" not in out and escape(hit.text[:40]) in out


def test_not_found_is_said_and_passages_are_marked_weak(searcher):
    out = render_answer(searcher.ask("What is the boiling point of water?", k=2))
    assert "do not seem to answer" in out and out.count("<em>weak match</em>") == 2


@pytest.mark.parametrize(
    "original, expected",
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\evil.md", "evil.md"),
        ("/abs/path/a b.md", "a b.md"),
        ("..", None),
        ("<script>.txt", "_script_.txt"),
        (".hidden.txt", "hidden.txt"),
    ],
)
def test_safe_name(original, expected):
    assert safe_name(original) == expected


def _upload(tmp_path: Path, name: str, data: bytes) -> tuple[str, Path]:
    src = tmp_path / "incoming" / str(len(list(tmp_path.glob("incoming/*"))))
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    return name, src


def test_add_files_accepts_good_and_explains_every_refusal(tmp_path):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "taken.txt").write_text("already here")
    (docs / "same.txt").write_bytes(b"the same")
    told = []
    results = add_files(
        docs,
        [
            _upload(tmp_path, "good.md", b"# New\n\nA new text about zebras."),
            _upload(tmp_path, "../../escape.txt", b"Trying to escape."),
            _upload(tmp_path, "image.png", b"\x89PNG...."),
            _upload(tmp_path, "empty.txt", b"   \n"),
            _upload(tmp_path, "blob.txt", b"\x00\x01" * 100),
            _upload(tmp_path, "taken.txt", b"Another text."),
            _upload(tmp_path, "same.txt", b"the same"),
        ],
        lambda i, n, name: told.append((i, n, name)),
    )
    assert [t[2] for t in told] == [r.original for r in results] and told[-1][:2] == (6, 7)  # progress per file
    by = {r.original: r for r in results}
    assert by["good.md"].ok and (docs / "good.md").read_text().startswith("# New")
    assert by["../../escape.txt"].ok and (docs / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()
    assert "only .docx, .epub, .htm, .html, .markdown, .md, .pdf or .txt files" in by["image.png"].error
    assert "empty" in by["empty.txt"].error
    assert "binary" in by["blob.txt"].error
    assert "another document named taken.txt exists; remove it first to replace it" in by["taken.txt"].error
    assert (docs / "taken.txt").read_text() == "already here"
    assert by["same.txt"].error == "same.txt is already in the documents, unchanged"
    assert sorted(p.name for p in docs.iterdir()) == ["escape.txt", "good.md", "same.txt", "taken.txt"]


def test_examples_come_from_the_corpus():
    assert "Who chairs the Military Chamber of the Supreme Court?" in example_questions(SAMPLES, [])


def test_examples_fall_back_to_titles(tmp_path):
    assert example_questions(tmp_path, ["Annual report"]) == ["What does the text “Annual report” say?"]
    assert len(example_questions(tmp_path, ["Guide", "Guide", "Notes"])) == 2  # a title two files share: asked once


def test_copy_text_is_plain_with_the_citation(searcher):
    from qa.chat import plain_text

    answer = searcher.ask("Who chairs the Military Chamber?", k=2)
    text = plain_text(answer)
    assert "<" not in text and text.startswith(answer.answer.sentence) and f"[1] {COURT}, line" in text


def test_off_topic_sources_are_collapsed_and_unmarked(searcher):
    out = render_answer(searcher.ask("What is the boiling point of water?", k=2), SAMPLES)
    assert out.index("Not found") < out.index("qa-source")
    assert '<details class="qa-sources">' in out and "<mark" not in out


def test_viewer_opens_only_indexed_documents_inside_the_folder(tmp_path):
    from qa.viewer import Request, locate, parse_request, view

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("one\n<script>alert(1)</script>\nthree\n")
    (tmp_path / "secret.txt").write_text("secret")
    docs = tmp_path / "docs"
    assert locate(docs, "a.txt", ["a.txt"]) == (docs / "a.txt").resolve()
    assert locate(docs, "a.txt", []) is None  # not in the index
    assert locate(docs, "../secret.txt", ["../secret.txt"]) is None  # outside the folder
    assert parse_request("a.txt|2|2|") == Request("a.txt", 2, 2, None)
    assert parse_request("a.txt|x|2|") is None and parse_request("a.txt|3|2|") is None and parse_request(None) is None
    out = view(docs, Request("a.txt", 2, 2), ["a.txt"])
    assert '<div class="qa-line qa-hl" data-line="2">' in out and "<script>" not in out and "&lt;script&gt;" in out
    assert "not in the index" in view(docs, Request("../secret.txt", 1, 1), ["a.txt"]) and "secret" not in view(
        docs, Request("../secret.txt", 1, 1), ["../secret.txt"]).replace("../secret.txt", "")


def test_viewer_shows_a_pdf_page_with_the_cited_words_boxed(tmp_path):
    import shutil

    from qa.readers import read_file
    from qa.viewer import Request, view

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "files" / "guide.pdf", docs / "guide.pdf")
    lines = read_file("guide.pdf", docs / "guide.pdf", (docs / "guide.pdf").read_bytes()).text.split("\n")
    n = next(i for i, line in enumerate(lines, 1) if "evidence is" in line)
    out = view(docs, Request("guide.pdf", n, n, 3), ["guide.pdf"])
    assert 'src="data:image/png;base64,' in out and out.count('class="qa-box') >= 5
    assert f'<div class="qa-line qa-hl" data-line="{n}">' in out
    # named and numbered as its citation is: the line on its page, under the page's heading
    from qa.readers import read_path

    pages = read_path(docs / "guide.pdf").pages
    on_page = n - pages[2] + 1
    assert f"· p. 3, line {on_page}</p>" in out and '<p class="qa-more qa-page-start">Page 3</p>' in out
    assert f'data-line="{n}"><span class="qa-ln" aria-hidden="true">{on_page}</span>' in out


def test_numbered_lines_count_within_pages_where_a_file_has_them():
    from qa.chat import numbered_lines

    lines = [f"line {i}" for i in range(1, 11)]
    out = numbered_lines(lines, 5, 5, 2, pages=(1, 5, 9))  # rows 3-7: page 1's lines 3-4, page 2's 1-3
    assert out.count("qa-page-start") == 2 and "Page 1</p>" in out and "Page 2</p>" in out
    nums = [int(x.split(">")[1].split("<")[0]) for x in out.split('class="qa-ln" aria-hidden="true"')[1:]]
    assert nums == [3, 4, 1, 2, 3]
    assert "qa-page-start" not in numbered_lines(lines, 5, 5, 2)  # no pages: the file's own line numbers
    # a paragraph starting with no blank line before it is set apart by space, its number unchanged
    spaced = numbered_lines(lines, 5, 5, 2, pages=(1, 5, 9), paragraphs={4, 6})
    assert spaced.count("qa-para") == 2 and 'qa-line qa-para" data-line="4"' in spaced
    assert [int(x.split(">")[1].split("<")[0]) for x in spaced.split('aria-hidden="true"')[1:]] == nums


def test_no_source_is_labelled_stronger_than_the_answer(searcher):
    from dataclasses import replace

    from qa.chat import strength

    answer = searcher.ask("Who chairs the Military Chamber?")
    assert answer.answered and strength(answer, answer.passages[0]) == answer.label
    partial = replace(answer, label="partial")
    assert {strength(partial, h) for h in partial.passages} <= {"partial", "weak"}
    assert "strong match" not in render_answer(partial, SAMPLES)
    # the answer's own passage, wherever it stands, is labelled as the answer is
    lower = replace(answer, passages=tuple(replace(h, score=h.score / 10) if h.rank == 1 else h for h in answer.passages))
    assert strength(lower, lower.passages[0]) == answer.label
    assert strength(replace(answer, label="weak"), answer.passages[0]) == "weak"


def test_the_marked_span_names_its_own_line():
    from qa.answer import Answer, AnswerSentence, Citation
    from qa.span import Span

    sentence = "The lighthouse was built in 1872 by the engineer Margaret Ellison."
    at = sentence.index("1872")
    where = Citation("harbour.txt", "Harbour", 5, 5, 0, 10)
    span = Span("1872", at, at + 4, "date", 0.9, citation=where)
    best = AnswerSentence(sentence, Citation("harbour.txt", "Harbour", 3, 6, 0, 10), 1.0, span)
    out = render_answer(Answer("When?", best, (), confidence=0.8, label="strong"))
    assert '<mark class="qa-span" title="harbour.txt, line 5">1872</mark>' in out


def test_an_answers_cards_and_its_source_panel_read_each_file_once(searcher):
    from qa.readers import _read_once as _read
    from qa.viewer import Request, view

    answer = searcher.ask("Who chairs the Military Chamber?", k=5)
    _read.cache_clear()
    render_answer(answer, SAMPLES)
    files = len({h.citation.document for h in answer.passages})
    assert _read.cache_info().misses == files < len(answer.passages)
    c = answer.passages[0].citation  # a click on the citation: the file read for the cards is read again
    assert "qa-hl" in view(SAMPLES, Request(c.document, c.line_start, c.line_end), [c.document])
    assert _read.cache_info().misses == files


def test_download_copies_share_one_bounded_folder(tmp_path, monkeypatch):
    from qa import viewer

    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    one, two = docs / "a" / "notes.txt", docs / "b" / "notes.txt"
    one.write_text("first")
    two.write_text("second")
    monkeypatch.setattr(viewer, "KEPT_DOWNLOADS", 3)
    got = viewer.download_copy(one)
    assert got.name == "notes.txt" and got.read_text() == "first"
    other = viewer.download_copy(two)  # the same name from another folder is another copy
    assert other != got and other.read_text() == "second" and other.parent.parent == got.parent.parent
    one.write_text("first, changed")
    assert viewer.download_copy(one) == got and got.read_text() == "first, changed"
    for i in range(5):
        (docs / f"{i}.txt").write_text(str(i))
        viewer.download_copy(docs / f"{i}.txt")
    folder = got.parent.parent
    assert len(list(folder.iterdir())) == 3 and not list(folder.glob("*/.*part"))
