"""The documents panel's pieces without a browser: listing, removal by id only, the stored conversation."""

from __future__ import annotations

import json
import os

import pytest

from conftest import COURT, UN


def _rows(built):
    import qa
    from qa import library

    docs, index = built
    return library.rows(docs, qa.Searcher(index).info().documents)


def test_rows_list_every_document_with_type_size_and_date(built):
    from qa import library

    listed = _rows(built)
    assert {r.id for r in listed} == {COURT, UN}
    assert all(r.kind == "text" and r.passages > 0 and len(r.added) == 10 for r in listed)
    page = library.list_html(listed)
    assert COURT in page and UN in page and "2 documents" in page
    assert library.matching(listed, "military CHAMBER") == [r for r in listed if r.id == COURT]
    assert "No document matches" in library.list_html(listed, "<b>zebra</b>")
    assert "<b>" not in library.list_html(listed, "<b>zebra</b>")
    assert dict(library.choices(listed))  # labels for people, ids for the server
    assert all(v in (COURT, UN) for _, v in library.choices(listed))


def test_remove_takes_only_an_indexed_id_inside_the_folder(built, tmp_path):
    from qa import library
    from qa.errors import InvalidArgument

    docs, _ = built
    known = [COURT, UN]
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    for bad in (None, "", "../outside.txt", str(outside), "nothere.txt", ["x"]):
        with pytest.raises(InvalidArgument):
            library.remove(docs, bad, known + ["../outside.txt", str(outside)] if bad == "../outside.txt" else known)
    # A path-looking id is refused even if a (tampered) list named it.
    with pytest.raises(InvalidArgument, match="inside the documents folder"):
        library.remove(docs, "../outside.txt", ["../outside.txt"])
    assert outside.exists()
    assert library.remove(docs, COURT, known) == COURT
    assert not (docs / COURT).exists() and (docs / UN).exists()
    with pytest.raises(InvalidArgument, match="no longer"):
        library.remove(docs, COURT, known)


def test_removing_a_link_removes_the_link_not_its_target(built, tmp_path):
    from qa import library

    docs, _ = built
    target = tmp_path / "target.txt"
    target.write_text("the target", encoding="utf-8")
    os.symlink(target, docs / "link.txt")
    library.remove(docs, "link.txt", ["link.txt"])
    assert not (docs / "link.txt").is_symlink() and target.read_text() == "the target"


def test_the_stored_conversation_is_checked_and_bounded():
    from qa import library

    assert library.restored(None) == ([], [], "0 messages")
    assert library.restored("garbage")[0] == []
    odd = {"chat": [{"role": "system", "content": "x"}, {"role": "user", "content": 5}, "text",
                    {"role": "user", "content": [{"type": "text", "text": "Who?"}, {"type": "file"}]},
                    {"role": "assistant", "content": "<div>answer</div>"}],
           "asked": ["Who?", 3, None, ["Who met them?", "Aziz Seyidov", "person", "Aziz Seyidov met them."],
                             ["Why?", None, None, None], ["x", 1, None, None], ["a", "b", "c"]]}
    chat, asked, note = library.restored(odd)
    assert chat == [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "<div>answer</div>"}]
    assert asked == ["Who?", ["Who met them?", "Aziz Seyidov", "person", "Aziz Seyidov met them."],
                     ["Why?", None, None, None]] and note == "2 messages"
    long = [{"role": r, "content": "x" * 200_000} for _ in range(20) for r in ("user", "assistant")]
    kept = library.kept(long, [f"q{i}" for i in range(10)])
    assert sum(len(m["content"]) for m in kept["chat"]) <= library.KEPT_CHARS
    assert kept["chat"][0]["role"] == "user" and len(kept["asked"]) == library.KEPT_QUESTIONS
    # A lone surrogate (typed into the box) would make the stored value unserialisable.
    odd = library.kept([{"role": "user", "content": "a\ud800b"}], ["Who \ud800?"])
    assert json.dumps(odd, ensure_ascii=False).encode("utf-8")


def test_the_page_secret_is_kept_with_the_index_so_history_survives_a_restart(tmp_path):
    from qa import library

    first = library.browser_secret(tmp_path / "index")
    assert len(first) >= 32 and library.browser_secret(tmp_path / "index") == first
    assert (tmp_path / "index" / ".page-secret").stat().st_mode & 0o077 == 0  # owner-only
    assert library.browser_secret(tmp_path / "other") != first


def test_a_document_being_removed_is_not_cited_while_the_index_catches_up(built):
    """The file goes first and the index update after: questions in between use the old generation."""
    import qa
    from qa import library

    docs, index = built
    searcher, withdrawn = qa.Searcher(index), library.Withdrawn()
    known = lambda: [d.id for d in searcher.info().documents]  # noqa: E731
    question = "Who chairs the Military Chamber of the Supreme Court?"
    cited = lambda only: {h.citation.document for h in searcher.ask(question, k=5, documents=only).passages}  # noqa: E731
    assert COURT in cited(withdrawn.filter(None, known))
    with withdrawn.holding(COURT):
        assert cited(withdrawn.filter(None, known)) == {UN}
        with pytest.raises(qa.errors.InvalidArgument, match="removed"):
            withdrawn.filter([COURT], known)
    assert withdrawn.filter(None, known) is None and withdrawn.filter([UN], known) == [UN]


def test_the_status_line_says_the_index_in_words():
    from datetime import datetime, timezone

    from qa.library import status_words

    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert status_words(1, 2, "2026-11-24T11:57:00Z", now) == "1 document · 2 passages · updated 3 minutes ago"
    assert status_words(3, 1, "2026-11-23T11:00:00+00:00", now).endswith("1 passage · updated 1 day ago")
    assert status_words(0, 0, "not a date", now).endswith("updated at an unknown time")
