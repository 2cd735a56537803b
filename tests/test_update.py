"""Updating the index: incremental, cached, atomic, one writer, verified, picked up live."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import qa
from qa.cache import EmbeddingCache, embed_with_cache
from qa.cli import main
from qa.index import CURRENT, IndexLock, load, verify

from conftest import COURT, ROOT, UN

OKAPI = "Okapi report\n\nThe okapi reserve in Ituri was founded in 1992. Rangers count okapi tracks every dry season.\n"


def _build(docs: Path, index: Path, embedder, **kw) -> qa.BuildReport:
    return qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder, **kw)


@pytest.fixture
def built(docs, tmp_path, embedder):
    index = tmp_path / "index"
    _build(docs, index, embedder)
    return docs, index


def test_added_file_is_found_and_only_it_is_embedded(built, embedder):
    docs, index = built
    searcher = qa.Searcher(index, embedder=embedder)  # held open across the update
    (docs / "okapi.txt").write_text(OKAPI)
    report = _build(docs, index, embedder)
    assert report.added == ("okapi.txt",) and report.unchanged == 2 and not report.changed
    new_passages = json.loads((index / report.generation / "manifest.json").read_text())["documents"]["okapi.txt"]["passages"]
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
    docs, index = built
    (docs / COURT).rename(docs / "renamed.txt")
    report = _build(docs, index, embedder)
    assert report.added == ("renamed.txt",) and report.removed == (COURT,) and report.embedded == 0


def test_settings_change_is_a_full_rebuild_said_plainly(built, embedder):
    docs, index = built
    said = []
    report = qa.build_index(qa.Settings(documents=docs, index=index, chunk_tokens=64), embedder=embedder, log=said.append)
    assert report.full_rebuild_reason == "the chunking settings changed"
    assert any("Full rebuild" in s for s in said)
    assert _build(docs, index, embedder, full=True).full_rebuild_reason == "--full was asked for"


def test_old_generations_are_cleaned_keeping_one_fallback(built, embedder):
    docs, index = built
    for n in range(3):
        (docs / f"n{n}.txt").write_text(f"Note {n}\n\nA short note number {n} about okapis.\n")
        _build(docs, index, embedder)
    gens = sorted(p.name for p in index.glob("gen-*"))
    assert len(gens) == 2 and (index / CURRENT).read_text().strip() == gens[-1]
    assert not list(index.glob(".*tmp*"))


def test_second_writer_exits_at_once_with_who_holds_the_lock(built, capsys):
    docs, index = built
    with IndexLock(index):
        assert main(["index", "--documents", str(docs), "--index", str(index)]) != 0
    err = capsys.readouterr().err
    assert "being updated by pid" in err


def test_lock_of_a_killed_process_does_not_block(built, embedder):
    docs, index = built
    code = f"from qa.index import IndexLock; import time, sys; l = IndexLock({str(index)!r}).__enter__(); print('held', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(qa.IndexLocked):
        _build(docs, index, embedder)
    proc.kill()
    proc.wait()
    (docs / "okapi.txt").write_text(OKAPI)
    assert _build(docs, index, embedder).added == ("okapi.txt",)


def test_two_concurrent_runs_exactly_one_commits(built):
    docs, index = built
    (docs / "okapi.txt").write_text(OKAPI)
    before = (index / CURRENT).read_text()
    cmd = [sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(index), "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes[0] == 0 and codes[1] != 0
    assert "being updated" in [r for r in results if r[2] != 0][0][1]
    assert int((index / CURRENT).read_text().strip()[4:]) == int(before.strip()[4:]) + 1


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", [_flip, _truncate])
def test_damage_to_any_index_file_is_detected_and_the_previous_generation_served(built, embedder, damage):
    docs, index = built
    (docs / "okapi.txt").write_text(OKAPI)
    _build(docs, index, embedder)
    current = index / (index / CURRENT).read_text().strip()
    files = [p for p in current.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for f in files:
        saved = f.read_bytes()
        damage(f)
        report = verify(index, docs)
        assert not report.ok, f"{f.name} damage not detected"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gen = load(index)
        assert gen.name != current.name and any("damaged" in str(w.message) for w in caught)
        # The fallback answers with citations that match its own vectors.
        answer = qa.Searcher(index, embedder=embedder).ask("Who chairs the Military Chamber?", k=1)
        assert "Aziz Seyidov" in answer.passages[0].text
        f.write_bytes(saved)
    assert verify(index, docs).ok


def test_verify_reports_changed_documents_and_cli_exit_codes(built, capsys):
    docs, index = built
    assert main(["verify", "--index", str(index), "--documents", str(docs)]) == 0
    (docs / UN).write_text("Different text now.\n")
    assert main(["verify", "--index", str(index), "--documents", str(docs)]) == 1
    assert "changed since it was indexed" in capsys.readouterr().out


def test_embedding_cache_is_bounded_and_keyed_by_model(tmp_path, embedder):
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return embedder.encode(texts)

    with EmbeddingCache(tmp_path, "model-a", embedder.dimension, max_rows=3) as cache:
        vectors, n = embed_with_cache(cache, ["a", "b", "a"], encode)
        assert n == 2 and vectors.shape == (3, embedder.dimension) and (vectors[0] == vectors[2]).all()
        assert embed_with_cache(cache, ["b", "a"], encode)[1] == 0
        embed_with_cache(cache, ["c", "d", "e"], encode)
        assert len(cache) == 3
    with EmbeddingCache(tmp_path, "model-b", embedder.dimension) as other:
        assert embed_with_cache(other, ["c"], encode)[1] == 1


def test_sigkill_at_random_moments_always_leaves_a_sound_index(tmp_path, embedder):
    sys.path.insert(0, str(ROOT))
    from bench.kill_loop import run

    results = run(20, seed=7, workdir=tmp_path, embedder=embedder, log=lambda m: None)
    assert sum(not r.finished for r in results) >= 10  # most runs really were killed mid-way
    bad = [r for r in results if not (r.verify_ok and r.answered)]
    assert not bad, bad
