"""Generations on disk: checked on open, damage refused, committed atomically, one writer."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import qa
from qa import manifest
from qa.backends.faiss import OFFSETS, PASSAGES, VECTORS, PassageTable
from qa.chunking import Passage
from qa.cli import main
from qa.current import load
from qa.generation import CURRENT, IndexLock
from qa.verify import verify

from conftest import COURT, ROOT, SAMPLES, OKAPI, build_at as _build


def _gen(index: Path) -> Path:
    return index / (index / CURRENT).read_text().strip()

def _copy_index(settings, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(settings.index, target)
    return target

def test_manifest_of_another_model_is_refused(sample_index, tmp_path, embedder):
    index = _copy_index(sample_index[0], tmp_path)
    gen = _gen(index)
    m = manifest.read(gen)
    manifest.write(gen, dataclasses.replace(m, model=dataclasses.replace(m.model, sha256="f" * 64)))
    with pytest.raises(qa.ModelMismatch, match="qa index --full"):
        qa.Searcher(index, embedder=embedder).ask("Who chairs the Military Chamber?")

def test_manifest_of_another_dimension_is_refused(sample_index, tmp_path):
    index = _copy_index(sample_index[0], tmp_path)
    gen = _gen(index)
    m = manifest.read(gen)
    manifest.write(gen, dataclasses.replace(m, model=dataclasses.replace(m.model, dimension=768)))
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
    m = json.loads((gen / manifest.FILE).read_text())
    m["format_version"] = 0
    (gen / manifest.FILE).write_text(json.dumps(m))
    with pytest.raises(qa.IndexCorrupt, match="qa index --full"):
        load(index)

def test_passages_are_read_on_demand_and_agree_with_the_file(sample_index, tmp_path):
    index = _copy_index(sample_index[0], tmp_path)
    gen = load(index)
    lines = (_gen(index) / PASSAGES).read_text(encoding="utf-8").splitlines()
    expected = [Passage.from_dict(json.loads(line)) for line in lines]
    table = gen.index.table
    assert isinstance(table, PassageTable) and len(table) == len(expected)
    assert list(table) == expected and table[-1] == expected[-1] and table[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        table[len(expected)]
    rows = table.rows_of([COURT])
    assert rows.tolist() == [i for i, p in enumerate(expected) if p.document == COURT]
    assert (_gen(index) / OFFSETS).is_file()

def test_large_generations_serve_at_once_and_damage_found_in_the_background_is_left(
    sample_index, tmp_path, monkeypatch, embedder
):
    import qa.generation as generation_module

    index = _copy_index(sample_index[0], tmp_path)
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLES, docs)
    (docs / "extra.txt").write_text("Okapi survey\n\nRangers counted okapi tracks in the Ituri forest in 2021.\n")
    qa.build_index(qa.Settings(documents=docs, index=index), embedder=embedder)  # a second generation
    f = _gen(index) / PASSAGES
    data = bytearray(f.read_bytes())
    data[10] = ord("x") if data[10] != ord("x") else ord("y")  # same size, other bytes
    f.write_bytes(bytes(data))
    monkeypatch.setattr(generation_module, "CHECKSUM_ON_LOAD_BELOW", 1)

    gen = load(index)  # the size matches: it opens at once, hashing in the background
    assert gen.checked.wait(30) and "checksum" in gen.damage
    searcher = qa.Searcher(index, embedder=embedder)
    searcher.current.held.checked.wait(30)
    with pytest.warns(UserWarning, match="damaged"):
        answer = searcher.ask("Who chairs the Military Chamber?")
    assert searcher.generation.name != _gen(index).name  # the previous, sound generation
    assert answer.passages and searcher.generation.damage is None
    report = qa.verify(index)
    assert not report.ok and "checksum" in report.problems[0]


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
    code = f"from qa.generation import IndexLock; import time, sys; l = IndexLock({str(index)!r}).__enter__(); print('held', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(qa.IndexLocked):
        _build(docs, index, embedder)
    proc.kill()
    proc.wait()
    (docs / "okapi.txt").write_text(OKAPI)
    assert _build(docs, index, embedder).added == ("okapi.txt",)

@pytest.mark.slow
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

@pytest.mark.slow
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

@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_a_sound_index(tmp_path, embedder):
    sys.path.insert(0, str(ROOT))
    from bench.kill_loop import run

    results = run(20, seed=7, workdir=tmp_path, embedder=embedder, log=lambda m: None)
    assert sum(not r.finished for r in results) >= 10  # most runs really were killed mid-way
    bad = [r for r in results if not (r.verify_ok and r.answered)]
    assert not bad, bad


@pytest.mark.slow
def test_sigkill_during_milvus_updates_always_leaves_a_sound_index(tmp_path, embedder):
    """The same loop on the Milvus backend (a Milvus Lite database in each generation folder)."""
    sys.path.insert(0, str(ROOT))
    from bench.kill_loop import run

    results = run(6, seed=11, workdir=tmp_path, embedder=embedder, log=lambda m: None, backend="milvus")
    assert sum(not r.finished for r in results) >= 2
    bad = [r for r in results if not (r.verify_ok and r.answered)]
    assert not bad, bad
