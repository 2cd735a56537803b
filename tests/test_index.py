import json
import re
import shutil
from pathlib import Path

import pytest

import qa
from qa.index import CURRENT, MANIFEST, PASSAGES, VECTORS, load

from conftest import COURT, SAMPLES, UN


def _gen(index: Path) -> Path:
    return index / (index / CURRENT).read_text().strip()


def test_sample_build_report_and_manifest(sample_index):
    settings, report = sample_index
    assert report.documents == 2 and report.passages > 5 and report.skipped == ()
    m = json.loads((_gen(settings.index) / MANIFEST).read_text())
    assert m["format_version"] == 1
    assert m["model"]["name"] == "all-MiniLM-L6-v2" and m["model"]["dimension"] == 384
    assert len(m["model"]["sha256"]) == 64
    assert m["chunking"]["chunk_tokens"] == 128
    assert set(m["documents"]) == {COURT, UN}
    assert m["counts"]["passages"] == m["counts"]["vectors"] == report.passages
    assert {"faiss-cpu", "sentence-transformers", "qa"} <= set(m["versions"])
    assert m["documents"][COURT]["title"].startswith("Military Chamber of the Supreme Court")


def test_index_holds_no_pickle(sample_index):
    settings, _ = sample_index
    for f in settings.index.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not data.startswith(b"\x80"), f"{f} looks like a pickle"
            assert f.suffix in {"", ".json", ".jsonl", ".faiss", ".npy", ".sqlite"}, f


def test_every_citation_contains_all_words_of_its_passage(sample_index):
    gen = load(sample_index[0].index)
    for p in gen.passages:
        lines = (SAMPLES / p.document).read_text(encoding="utf-8").split("\n")
        excerpt = re.sub(r"[\s-]", "", "".join(lines[p.line_start - 1 : p.line_end]))
        for w in p.text.split():
            assert w.replace("-", "") in excerpt, (p.document, p.line_start, w)
        for a, b, ls, le in p.sentences:
            sentence_lines = re.sub(r"[\s-]", "", "".join(lines[ls - 1 : le]))
            for w in p.text[a:b].split():
                assert w.replace("-", "") in sentence_lines


def test_sample_text_is_repaired(sample_index):
    gen = load(sample_index[0].index)
    un = " ".join(p.text for p in gen.passages if p.document == UN)
    assert "law-enforcement" in un  # "lawenforcement" is no word: the hyphen stays
    court = [p.text for p in gen.passages if p.document == COURT]
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
    report = qa.build_index(qa.Settings(documents=docs, index=tmp_path / "index"), embedder=embedder)
    reasons = {s.document: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "blank.md", "blob.txt", "latin.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["blob.txt"]
    assert report.documents == 2


def test_missing_index_names_the_command(tmp_path):
    with pytest.raises(qa.IndexNotFound, match="qa index"):
        qa.Searcher(tmp_path / "nothing")


def _copy_index(settings, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(settings.index, target)
    return target


def test_manifest_of_another_model_is_refused(sample_index, tmp_path, embedder):
    index = _copy_index(sample_index[0], tmp_path)
    gen = _gen(index)
    m = json.loads((gen / MANIFEST).read_text())
    m["model"]["sha256"] = "f" * 64
    (gen / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(qa.ModelMismatch, match="qa index --full"):
        qa.Searcher(index, embedder=embedder).ask("Who chairs the Military Chamber?")


def test_manifest_of_another_dimension_is_refused(sample_index, tmp_path):
    index = _copy_index(sample_index[0], tmp_path)
    gen = _gen(index)
    m = json.loads((gen / MANIFEST).read_text())
    m["model"]["dimension"] = 768
    (gen / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(qa.IndexCorrupt, match="dimension"):
        load(index)


def test_explicit_other_model_name_is_refused(sample_index):
    with pytest.raises(qa.ModelMismatch, match="all-MiniLM-L6-v2"):
        qa.Searcher(sample_index[0].index, model="some/other-model")


@pytest.mark.parametrize("name", [VECTORS, PASSAGES])
def test_damaged_files_are_detected(sample_index, tmp_path, name):
    index = _copy_index(sample_index[0], tmp_path)
    f = _gen(index) / name
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(qa.IndexCorrupt, match="checksum"):
        load(index)
    f.write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(qa.IndexCorrupt, match="checksum"):
        load(index)


def test_old_format_version_is_refused(sample_index, tmp_path):
    index = _copy_index(sample_index[0], tmp_path)
    gen = _gen(index)
    m = json.loads((gen / MANIFEST).read_text())
    m["format_version"] = 0
    (gen / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(qa.IndexCorrupt, match="qa index --full"):
        load(index)


def test_passages_are_read_on_demand_and_agree_with_the_file(sample_index, tmp_path):
    from qa.index import OFFSETS, PassageTable, _passage

    index = _copy_index(sample_index[0], tmp_path)
    gen = load(index)
    lines = (_gen(index) / PASSAGES).read_text(encoding="utf-8").splitlines()
    expected = [_passage(line) for line in lines]
    table = gen.passages
    assert isinstance(table, PassageTable) and len(table) == len(expected)
    assert list(table) == expected and table[-1] == expected[-1] and table[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        table[len(expected)]
    rows = table.rows_of([COURT])
    assert rows.tolist() == [i for i, p in enumerate(expected) if p.document == COURT]
    # An index written before the offsets file existed is read by scanning for newlines.
    assert list(PassageTable(_gen(index) / PASSAGES, _gen(index) / "missing.npy")) == expected
    assert (_gen(index) / OFFSETS).is_file()


def test_large_generations_serve_at_once_and_damage_found_in_the_background_is_left(
    sample_index, tmp_path, monkeypatch, embedder
):
    import qa.index as index_module

    index = _copy_index(sample_index[0], tmp_path)
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLES, docs)
    (docs / "extra.txt").write_text("Okapi survey\n\nRangers counted okapi tracks in the Ituri forest in 2021.\n")
    qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder)  # a second generation
    f = _gen(index) / PASSAGES
    data = bytearray(f.read_bytes())
    data[10] = ord("x") if data[10] != ord("x") else ord("y")  # same size, other bytes
    f.write_bytes(bytes(data))
    monkeypatch.setattr(index_module, "CHECKSUM_ON_LOAD_BELOW", 1)

    gen = load(index)  # the size matches: it opens at once, hashing in the background
    assert gen.checked.wait(30) and "checksum" in gen.damage
    searcher = qa.Searcher(index, embedder=embedder)
    searcher._gen.checked.wait(30)
    with pytest.warns(UserWarning, match="damaged"):
        answer = searcher.ask("Who chairs the Military Chamber?")
    assert searcher.generation.name != _gen(index).name  # the previous, sound generation
    assert answer.passages and searcher.generation.damage is None
    report = qa.verify(index)
    assert not report.ok and "checksum" in report.problems[0]
