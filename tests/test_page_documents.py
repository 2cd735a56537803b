"""The page's documents panel and conversation in a real browser: upload, remove, reload, new conversation, looks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import COURT, OKAPI, SAMPLES
from test_app import ARTIFACTS, CHROMIUM, QUESTIONS, READY, SIZES, _ask, _open, _upload, browser, page_at  # noqa: F401 (a fixture)

# A real browser per test: the full suite (`make test`), not the quick loop.
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"), pytest.mark.slow]
OKAPI_QUESTION = "When was the okapi reserve founded?"


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """A page of its own (these tests delete documents), with examples built from titles (no .questions.txt)."""
    base = tmp_path_factory.mktemp("manage")
    docs = base / "documents"
    shutil.copytree(SAMPLES, docs)
    (docs / ".questions.txt").unlink(missing_ok=True)
    with page_at(docs, base / "index", embedder) as url:
        yield url, docs


def _documents(page):
    page.get_by_text("Documents", exact=True).click()
    page.wait_for_selector("#doc-list .qa-doc-row")
    return page.locator("#doc-list")


def _choose(page, dropdown: str, text: str):
    """Pick the option containing `text` in a Gradio dropdown from the keyboard: type to filter, Enter to choose.
    (Clicking the option was flaky: the list can open outside the viewport.)"""
    box = page.locator(f"{dropdown} input")
    box.click()
    box.press_sequentially(text)
    box.press("Enter")
    page.wait_for_function("([sel, text]) => document.querySelector(sel).value.includes(text)",
                           arg=[f"{dropdown} input", text])


def test_upload_ask_cited_then_remove_never_cited_again(browser, server, tmp_path):
    page = _open(browser, server, "desktop")
    try:
        listing = _documents(page)
        assert COURT in listing.inner_text() and "okapi" not in listing.inner_text().lower()
        new = tmp_path / "okapi notes.txt"
        new.write_text(OKAPI, encoding="utf-8")
        page.get_by_text("Add texts").click()
        _upload(page, new)
        page.locator("#add").click()
        page.wait_for_selector("#upload-status :text('Index updated')", timeout=120_000)
        # The list and the example questions follow the corpus; the file box is emptied.
        page.wait_for_selector("#doc-list :text('okapi notes.txt')")
        page.wait_for_selector("#examples :text('Okapi report')")
        assert page.locator("#upload").get_by_label("okapi notes.txt", exact=True).count() == 0
        reply = _ask(page, OKAPI_QUESTION)
        assert "1992" in reply.locator(".qa-best").inner_text() and "okapi notes.txt" in reply.inner_text()
        # Search narrows the list.
        page.locator("#doc-search input, #doc-search textarea").first.fill("okapi")
        page.wait_for_function("document.querySelectorAll('#doc-list .qa-doc-row').length === 1")
        # Cancel keeps the file; confirming deletes it and updates the index.
        _choose(page, "#remove-choice", "okapi notes.txt")
        page.locator("#remove").click()
        page.wait_for_selector("#remove-confirm :text('Delete')")
        page.locator("#remove-no").click()
        page.wait_for_selector("#remove-confirm", state="hidden")
        assert (server[1] / "okapi notes.txt").exists()
        _choose(page, "#remove-choice", "okapi notes.txt")
        page.locator("#remove").click()
        page.locator("#remove-yes").click()
        page.wait_for_selector("#remove-status :text('Index updated')", timeout=120_000)
        assert "removed" in page.locator("#remove-status").inner_text()
        assert not (server[1] / "okapi notes.txt").exists() and (server[1] / COURT).exists()
        page.wait_for_selector("#doc-list :text('No document matches')")
        page.wait_for_selector("#examples :text('Okapi report')", state="detached")
        reply = _ask(page, OKAPI_QUESTION, replies=2)
        assert "okapi notes.txt" not in reply.inner_text()
        assert "Not found" in reply.locator(".qa-best").inner_text()
    finally:
        page.context.close()


def test_removing_with_nothing_chosen_says_so(browser, server):
    page = _open(browser, server, "desktop")
    try:
        _documents(page)
        page.locator("#remove").click()
        page.wait_for_selector("#remove-status :text('Choose a document')")
        assert page.locator("#remove-yes").is_hidden()
    finally:
        page.context.close()


def _reload(page):
    page.reload()
    page.wait_for_selector(READY)
    page.wait_for_function("(document.querySelector('#restored textarea, #restored input') || {}).value")
    return page.evaluate("document.querySelector('#restored textarea, #restored input').value")


def test_history_survives_a_reload_until_a_new_conversation(browser, server):
    page = _open(browser, server, "desktop")
    try:
        _ask(page, QUESTIONS["answered"])
        _ask(page, "What law on combating human trafficking did Azerbaijan pass?", replies=2)
        assert _reload(page) == "4 messages"
        assert page.locator("#chat .qa-answer").count() == 2
        assert "Aziz Seyidov" in page.locator("#chat .qa-answer").first.inner_text()
        # The follow-up state came back too: "it" is read with the previous question.
        reply = _ask(page, "When was it adopted?", replies=3)
        assert "Searched as: When was it adopted?" in reply.inner_text()
        assert "28th of June 2005" in reply.locator(".qa-best").inner_text()
        page.locator("#new-conversation").click()
        page.wait_for_selector("#chat .qa-answer", state="detached")
        assert _reload(page) == "0 messages"
        assert page.locator("#chat .qa-answer").count() == 0
        # A fresh question after the new conversation is not read as a follow-up of the old one.
        reply = _ask(page, "When was it adopted?")
        assert "Searched as" not in reply.inner_text()
    finally:
        page.context.close()


def test_the_question_box_opens_only_once_the_stored_conversation_is_back(browser, server):
    """A question asked before the restore came back had its answer wiped by it (seen on a loaded machine)."""
    page = _open(browser, server, "desktop")
    try:
        held, holding = [], [True]

        def hold(route):
            held.append(route) if holding[0] else route.continue_()

        page.route("**/queue/join*", hold)  # hold every event the reload sends: the restore among them
        page.reload()
        page.wait_for_selector("#question textarea")
        while not held:
            page.wait_for_timeout(50)
        page.wait_for_timeout(500)
        assert page.locator("#question textarea").is_disabled() and page.locator("#ask").is_disabled()
        holding[0] = False
        for route in held:
            route.continue_()
        page.wait_for_selector(READY)
        assert page.locator("#ask").is_enabled()
        assert "Aziz Seyidov" in _ask(page, QUESTIONS["answered"]).locator(".qa-best").inner_text()
    finally:
        page.context.close()


_CONTRAST = """el => {
    // WCAG contrast of the element's text colour against the first opaque background behind it.
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    let bg = null;
    for (let a = el; a && !bg; a = a.parentElement) {
        const c = rgb(getComputedStyle(a).backgroundColor);
        if (c.length >= 3 && (c.length === 3 || c[3] > 0.9)) bg = c;
    }
    bg = bg || [255, 255, 255];
    const [x, y] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
}"""

_SIDEWAYS = """() => {
    // Text that scrolls sideways: the page itself, or any box in the reply or the panel wider than its view.
    const out = [];
    if (document.documentElement.scrollWidth > innerWidth + 1) out.push('page ' + document.documentElement.scrollWidth);
    for (const el of document.querySelectorAll('#chat .qa-answer *, #doc-list *')) {
        // a part shortened on purpose with an ellipsis (the citation line's title and file name; the
        // whole text in its tooltip) does not scroll
        const cut = getComputedStyle(el);
        if (cut.textOverflow === 'ellipsis' && cut.overflowX === 'hidden' && el.title) continue;
        if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + '.' + el.className);
    }
    return out;
}"""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_readable_in_both_themes_without_sideways_scrolling(browser, server, size, theme):
    page = _open(browser, server, size, dark=theme == "dark")
    try:
        reply = _ask(page, QUESTIONS["answered"])
        assert page.evaluate("document.body.classList.contains('dark') || "
                             "document.querySelector('.gradio-container').closest('.dark') !== null") == (theme == "dark")
        for part in (".qa-best strong", "mark.qa-span", ".qa-where", ".qa-label", ".qa-source blockquote", ".qa-source mark"):
            ratio = reply.locator(part).first.evaluate(_CONTRAST)
            assert ratio >= 4.5, (part, theme, ratio)
        _documents(page)
        assert page.locator("#doc-list .qa-doc-row").first.evaluate(_CONTRAST) >= 4.5
        assert page.evaluate(_SIDEWAYS) == []
        ARTIFACTS.mkdir(exist_ok=True)
        reply.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(ARTIFACTS / f"answer-{theme}-{size}.png"))
        page.locator("#documents").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"documents-{theme}-{size}.png"))
    finally:
        page.context.close()
