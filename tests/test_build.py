"""Building and updating the index: what is read, repaired, embedded and carried over."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import qa
from qa import manifest
from qa.generation import open_generation

from conftest import COURT, ROOT, UN, OKAPI, build_at as _build


def test_sample_build_report_and_manifest(sample_index):
    settings, report = sample_index
    assert report.documents == 2 and report.passages > 5 and report.skipped == ()
    m = json.loads((settings.index / report.generation / "manifest.json").read_text())
    assert m["format_version"] == manifest.FORMAT_VERSION == 3 and len(m["checksum"]) == 64
    assert m["model"]["name"] == "all-MiniLM-L6-v2" and m["model"]["dimension"] == 384
    assert len(m["model"]["sha256"]) == 64
    assert m["chunking"]["chunk_tokens"] == 128
    assert m["counts"]["passages"] == m["counts"]["vectors"] == report.passages
    assert {"faiss-cpu", "sentence-transformers", "qa"} <= set(m["versions"])
    assert manifest.DOCUMENTS in m["files"]
    documents = manifest.read(settings.index / report.generation).documents
    assert set(documents) == {COURT, UN}
    assert documents[COURT].title.startswith("Military Chamber of the Supreme Court")

def test_index_holds_no_pickle(sample_index):
    settings, _ = sample_index
    for f in settings.index.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not data.startswith(b"\x80"), f"{f} looks like a pickle"
            assert f.suffix in {"", ".json", ".jsonl", ".faiss", ".npy", ".sqlite"}, f

def test_sample_text_is_repaired(sample_index):
    passages = list(open_generation(sample_index[0].index / sample_index[1].generation).index.passages())
    un = " ".join(p.text for p in passages if p.document == UN)
    assert "law-enforcement" in un  # "lawenforcement" is no word: the hyphen stays
    court = [p.text for p in passages if p.document == COURT]
    headline = "Military Chamber of the Supreme Court of the Republic of Azerbaijan held a meeting"
    assert sum(t.count(headline) for t in court) == 1

def test_empty_documents_folder_is_an_error(tmp_path, embedder):
    (tmp_path / "docs").mkdir()
    with pytest.raises(qa.EmptyCorpus, match="qa index"):
        qa.build_index(qa.Settings(documents=tmp_path / "docs", index=tmp_path / "index"), embedder=embedder)

def test_bad_files_are_skipped_and_the_build_continues(docs, tmp_path, embedder):
    (docs / "empty.txt").write_text("")
    (docs / "blank.md").write_text("  \n \n")
    (docs / "blob.txt").write_bytes(b"\x00\xff" * 500)
    (docs / "latin.txt").write_bytes(b"\xff\xfe\xfd" + bytes(range(128, 256)) * 3)
    (docs / "letter.rtf").write_text("{\\rtf1 Dear reader}")
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert report.ignored == {".rtf": 1}  # a type no reader takes: counted, never read
    reasons = {s.document: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "blank.md", "blob.txt", "latin.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["blob.txt"]
    assert report.documents == 2 and len(report.added) == 2  # a file refused is skipped, not added
    again = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    assert again.up_to_date and again.fast_query == report.fast_query  # said the same with nothing to do

def test_missing_index_names_the_command(tmp_path):
    with pytest.raises(qa.IndexNotFound, match="qa index"):
        qa.Searcher(tmp_path / "nothing")


def test_added_file_is_found_and_only_it_is_embedded(built, embedder):
    docs, index = built
    searcher = qa.Searcher(index, embedder=embedder)  # held open across the update
    (docs / "okapi.txt").write_text(OKAPI)
    report = _build(docs, index, embedder)
    assert report.added == ("okapi.txt",) and report.unchanged == 2 and not report.changed
    new_passages = manifest.read(index / report.generation).documents["okapi.txt"].passages
    assert report.embedded == new_passages
    answer = searcher.ask("When was the okapi reserve founded?", k=1)  # live reload
    assert answer.passages[0].citation.document == "okapi.txt"
    assert searcher.generation.name == report.generation

def test_changed_sentence_replaces_the_old_one(built, embedder):
    docs, index = built
    text = (docs / COURT).read_text(encoding="utf-8")
    (docs / COURT).write_text(text.replace("28th of June 2005", "3rd of March 2006"), encoding="utf-8")
    report = _build(docs, index, embedder)
    assert report.changed == (COURT,) and report.unchanged == 1
    assert 0 < report.embedded < report.passages
    answer = qa.Searcher(index, embedder=embedder).ask("When was the law on combating human trafficking adopted?", k=10)
    texts = " ".join(h.text for h in answer.passages)
    assert "3rd of March 2006" in texts and "28th of June 2005" not in texts

def test_removed_file_never_appears(built, embedder):
    docs, index = built
    (docs / COURT).unlink()
    report = _build(docs, index, embedder)
    assert report.removed == (COURT,) and report.embedded == 0
    answer = qa.Searcher(index, embedder=embedder).ask("Who chairs the Military Chamber?", k=100)
    assert {h.citation.document for h in answer.passages} == {UN}

def test_no_change_is_up_to_date_without_loading_the_model(built):
    docs, index = built
    code = (
        "import sys, json; from qa.cli import main; "
        f"main(['index', '--documents', {str(docs)!r}, '--index', {str(index)!r}, '--json']); "
        "print(json.dumps(['torch' in sys.modules, 'sentence_transformers' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    report, loaded = json.loads(out[0]), json.loads(out[1])
    assert report["up_to_date"] is True and report["embedded"] == 0 and report["unchanged"] == 2
    assert loaded == [False, False]

def test_rename_and_revert_embed_nothing_new(built, embedder):
    """A title of the file's own (a heading line) survives any name: nothing is embedded. A title made
    from the name is in the vectors, so a new name embeds once, and going back embeds nothing."""
    docs, index = built
    (docs / "okapi.txt").write_text(OKAPI)
    _build(docs, index, embedder)
    (docs / "okapi.txt").rename(docs / "reserve.txt")
    report = _build(docs, index, embedder)
    assert report.added == ("reserve.txt",) and report.removed == ("okapi.txt",) and report.embedded == 0
    (docs / COURT).rename(docs / "renamed.txt")  # its name made no title (digits and a hash); now "Renamed"
    report = _build(docs, index, embedder)
    renamed = manifest.read(index / report.generation).documents["renamed.txt"]
    assert report.added == ("renamed.txt",) and report.embedded == renamed.passages
    (docs / "renamed.txt").rename(docs / COURT)
    report = _build(docs, index, embedder)
    assert report.added == (COURT,) and report.removed == ("renamed.txt",) and report.embedded == 0

def test_settings_change_is_a_full_rebuild_said_plainly(built, embedder):
    docs, index = built
    said = []
    report = qa.build_index(qa.Settings(documents=docs, index=index, chunk_tokens=64), embedder=embedder, log=said.append)
    assert report.full_rebuild_reason == "the chunking settings changed"
    assert any("Full rebuild" in s for s in said)
    assert _build(docs, index, embedder, full=True).full_rebuild_reason == "--full was asked for"


def test_an_index_cut_by_the_older_chunker_is_cut_again_by_qa_index(built, embedder):
    """A manifest written before the chunker version was recorded reads as version 1 (no lead-in
    rule); the next `qa index` cuts every passage again and says why in plain words."""
    import hashlib

    from qa.chunking import CHUNKER_VERSION

    docs, index = built
    gen = index / (index / "CURRENT").read_text().strip()
    d = json.loads((gen / manifest.FILE).read_text())
    assert d["chunking"].pop("chunker_version") == CHUNKER_VERSION == 2
    d.pop("checksum")
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (gen / manifest.FILE).write_text(json.dumps(d))
    assert manifest.read(gen).chunking.chunker_version == 1
    said = []
    report = _build(docs, index, embedder, log=said.append)
    reason = "passages are now cut with their lead-in sentence (every passage is cut again)"
    assert report.full_rebuild_reason == reason and report.unchanged == 0
    assert any(reason in s for s in said)
    assert manifest.read(index / report.generation).chunking.chunker_version == CHUNKER_VERSION
    assert _build(docs, index, embedder).up_to_date


def test_an_index_read_by_the_older_cleaner_reads_its_files_again(built, embedder):
    """A text change (cleaner version 3: lines as a person counts them) re-reads every file, saying why."""
    import hashlib

    from qa.text import CLEANER_VERSION

    docs, index = built
    gen = index / (index / "CURRENT").read_text().strip()
    d = json.loads((gen / manifest.FILE).read_text())
    assert d["chunking"]["cleaner_version"] == CLEANER_VERSION == 3
    d["chunking"]["cleaner_version"] = 2
    d.pop("checksum")
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (gen / manifest.FILE).write_text(json.dumps(d))
    report = _build(docs, index, embedder)
    assert report.full_rebuild_reason == ("citations of PDF, Word and HTML files now count the lines a person counts "
                                          "(no line for a paragraph gap; an HTML paragraph on each of its source "
                                          "lines, apart from a heading above it) (every file is read again)")
    assert manifest.read(index / report.generation).chunking.cleaner_version == CLEANER_VERSION


def test_small_updates_never_import_torch(built):
    """Adding a file (a few passages, embedded by the checked ONNX export) and removing one, as new processes."""
    docs, index = built
    code = (
        "import sys, json; from qa.cli import main; "
        f"main(['index', '--documents', {str(docs)!r}, '--index', {str(index)!r}, '--json']); "
        "print(json.dumps('torch' in sys.modules))"
    )
    (docs / "okapi.txt").write_text(OKAPI)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert json.loads(out[0])["added"] == ["okapi.txt"] and json.loads(out[0])["embedded"] > 0
    assert json.loads(out[1]) is False
    (docs / "okapi.txt").unlink()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert json.loads(out[0])["removed"] == ["okapi.txt"] and json.loads(out[1]) is False
    assert qa.verify(index, docs).ok


def test_an_index_of_format_2_is_upgraded_by_qa_index_without_embedding(built, embedder):
    """Format 2 kept the document list inline in manifest.json; it serves as it is, and the next
    `qa index` writes format 3 with every vector carried over."""
    import dataclasses
    import hashlib

    docs, index = built
    gen = index / (index / "CURRENT").read_text().strip()
    m = manifest.read(gen)
    d = m.to_dict()
    d["files"].pop(manifest.DOCUMENTS)
    d.update(format_version=2, documents={k: dataclasses.asdict(v) for k, v in m.documents.items()})
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (gen / manifest.FILE).write_text(json.dumps(d))
    (gen / manifest.DOCUMENTS).unlink()
    old = qa.Searcher(index, embedder=embedder)
    assert old.generation.manifest.format_version == 2
    assert old.ask("Who chairs the Military Chamber?").answer.citation.document == COURT
    report = _build(docs, index, embedder)
    assert not report.up_to_date and report.embedded == 0 and report.unchanged == 2
    new = manifest.read(index / report.generation)
    assert new.format_version == manifest.FORMAT_VERSION and dict(new.documents.items()) == dict(m.documents.items())
    assert _build(docs, index, embedder).up_to_date and qa.verify(index, docs).ok


# A section whose second passage never names it: only the heading says these steps are for an eruption.
_LONG = ("Before anything else, agree with everyone in the household on a meeting place, a contact person who "
         "lives far away, and the route you will take, and write these down on a card that each person keeps "
         "in a wallet or bag at all times, then practise the route twice a year with the children.")
SAFETY = (
    "# Household safety\n\n## Volcanic eruption\n\n" + _LONG + " " + _LONG.replace("Before anything else", "Then")
    + "\n\nKeep a battery radio on and listen for instructions. Fill bottles with clean water. "
    "Bring pets under cover early. Check on neighbours who live alone.\n\n"
    "## River flooding\n\nKeep spare batteries and a torch by the door. Store tinned food for three days. "
    "Charge your phone while there is power. Keep copies of documents in a sealed bag.\n\n"
    "## Winter storm\n\nKeep blankets and warm clothes ready. Store enough medicine for a week. "
    "Have cash in small notes. Know how to turn off the main water valve.\n"
)


def _dense_first(index, embedder, question):
    passages, _ = qa.Searcher(index, embedder=embedder).rank(question, depth=5, mode="dense")
    return passages[0]


def test_a_passage_is_found_by_meaning_through_its_heading(tmp_path, embedder):
    """Dense mode alone: the question's words are only in the heading the passage sits under."""
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "safety.md").write_text(SAFETY)
    _build(docs, tmp_path / "index", embedder)
    top = _dense_first(tmp_path / "index", embedder, "How do I prepare for a volcanic eruption?")
    assert top.section.endswith("Volcanic eruption") and top.text.startswith("Keep a battery radio")
    assert "volcan" not in top.text.lower()


def test_an_index_of_text_only_vectors_is_embedded_again_once_by_qa_index(tmp_path, embedder, monkeypatch):
    """An index built before passages were embedded with their title and heading (no recipe in its
    manifest) is served as it is; the next `qa index` embeds every passage again, says so, and
    never mixes the two recipes."""
    import hashlib

    docs, index = tmp_path / "documents", tmp_path / "index"
    docs.mkdir()
    (docs / "safety.md").write_text(SAFETY)
    (docs / "okapi.txt").write_text(OKAPI)
    with monkeypatch.context() as m:
        m.setattr(manifest, "PASSAGE_TEXT", "text")
        old = _build(docs, index, embedder)
    gen = index / old.generation
    d = json.loads((gen / manifest.FILE).read_text())
    assert d.pop("passage_text") == "text"
    d.pop("checksum")
    d["checksum"] = hashlib.sha256(manifest.canonical(d)).hexdigest()
    (gen / manifest.FILE).write_text(json.dumps(d))
    assert manifest.read(gen).passage_text == "text"
    question = "How do I prepare for a volcanic eruption?"
    assert _dense_first(index, embedder, question).text.startswith("## Volcanic eruption")  # served as built
    said = []
    report = _build(docs, index, embedder, log=said.append)
    assert "title and section heading" in report.full_rebuild_reason and report.unchanged == 0
    assert any("embedded again" in s for s in said)
    # Nothing changed, yet every passage is embedded again, but the okapi one: it opens with its
    # title, so what it embeds is its text alone, as before, and that comes from the cache.
    assert report.embedded == report.passages - 1
    assert manifest.read(index / report.generation).passage_text == manifest.PASSAGE_TEXT
    assert _dense_first(index, embedder, question).text.startswith("Keep a battery radio")
    again = _build(docs, index, embedder)
    assert again.up_to_date and again.embedded == 0
