"""Vector stores: exact and IVF agree on what they store; the size picks the store."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qa.store as store
from conftest import COURT


def _unit(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 32)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("cls", [store.FlatStore, store.IvfStore])
def test_rows_vectors_and_round_trip(cls, tmp_path):
    x = _unit(600)
    s = cls(32)
    s.add(x[:400])
    s.add(x[400:])  # a second add must not leave a stale view of the vectors (nor retrain the cells)
    assert len(s) == 600
    rows = np.array([0, 599, 401, 7])
    assert np.array_equal(s.vectors(rows), x[rows])
    scores, found = s.search(x[:5], 10)
    assert found[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    s.save(tmp_path / "v.faiss")
    t = store.STORES[cls.kind].load(tmp_path / "v.faiss")
    assert type(t) is cls and len(t) == 600
    assert np.array_equal(t.all_vectors(), x)
    assert t.search(x[:1], 200)[1].shape == (1, 200)


def test_ivf_finds_what_exact_finds():
    # Clustered data, like real embeddings (uniform random vectors have no
    # neighbourhoods for cells to capture).
    rng = np.random.default_rng(1)
    centres = _unit(100, 3)
    x = centres[rng.integers(0, 100, 20000)] + 0.15 * rng.normal(size=(20000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.choice(20000, 50, replace=False)] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    exact, approx = store.FlatStore(32), store.IvfStore(32, nlist=store.IvfStore.cells_for(20000))
    exact.add(x)
    approx.add(x)
    _, a = exact.search(q, 10)
    _, b = approx.search(q, 10)
    recall = np.mean([len(set(r) & set(s)) / 10 for r, s in zip(a, b)])
    assert recall >= 0.95


def test_the_int8_scan_returns_exact_scores_and_an_older_index_without_it_scans_the_exact_cells(tmp_path):
    # The int8 copy only picks candidates: what search returns is scored from the exact
    # vectors, so the scores equal an exact scan's wherever the rows agree.
    rng = np.random.default_rng(2)
    x = _unit(20000, 5)
    q = x[rng.choice(20000, 20, replace=False)] + 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    exact, approx = store.FlatStore(32), store.IvfStore(32, nlist=store.IvfStore.cells_for(20000))
    exact.add(x)
    approx.add(x)
    approx.save(tmp_path / "v.faiss")
    assert (tmp_path / "v.int8.faiss").stat().st_size < (tmp_path / "v.faiss").stat().st_size / 2
    loaded = store.IvfStore.load(tmp_path / "v.faiss")
    assert loaded._scan is not None
    e_scores, e_rows = exact.search(q, 10)
    scores, rows = loaded.search(q, 10)
    for i in range(len(q)):
        np.testing.assert_allclose(scores[i], loaded.vectors(rows[i]) @ q[i], rtol=1e-5)
        assert list(scores[i]) == sorted(scores[i], reverse=True)
        same = np.isin(rows[i], e_rows[i])
        np.testing.assert_allclose(scores[i][same], (x[rows[i][same]] @ q[i]), rtol=1e-5)
    (tmp_path / "v.int8.faiss").unlink()  # written before the int8 copy was kept
    older = store.IvfStore.load(tmp_path / "v.faiss")
    assert older._scan is None
    o_scores, o_rows = older.search(q, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, o_rows)]) >= 0.95


def test_an_update_reuses_the_trained_cells():
    x = _unit(3000, 4)
    first = store.store_for(32, 3000)
    assert isinstance(first, store.FlatStore) and not isinstance(first, store.IvfStore)
    big = store.IvfStore(32, nlist=64)
    big.add(x)
    again = store.IvfStore(32, nlist=64, quantizer=big.quantizer())
    assert again._index.is_trained  # no k-means on the next generation
    again.add(x[:10])
    assert np.array_equal(again.quantizer().reconstruct_n(0, 64), big.quantizer().reconstruct_n(0, 64))
    assert again.search(x[:3], 1)[1][:, 0].tolist() == [0, 1, 2]


def test_size_picks_the_store_and_the_manifest_says_so(docs, tmp_path, embedder, monkeypatch):
    import qa

    settings = qa.Settings(documents=docs, index=tmp_path / "index")
    report = qa.build_index(settings, embedder=embedder)
    assert report.store == "faiss-flat-ip"
    monkeypatch.setattr(store, "EXACT_BELOW", 5)
    report = qa.build_index(settings, embedder=embedder, full=True)
    assert report.store == "faiss-ivf-flat-ip"
    searcher = qa.Searcher(settings.index, embedder=embedder)
    info = searcher.info()
    assert info.store == "faiss-ivf-flat-ip" and info.store_params["nprobe"] >= 1
    assert searcher.ask("Who chairs the Military Chamber?").passages[0].citation.document == COURT
    assert qa.verify(settings.index, documents=docs).ok


def test_qa_index_says_which_store_and_its_numbers(docs, tmp_path, monkeypatch, capsys):
    from qa.cli import main

    monkeypatch.setattr(store, "EXACT_BELOW", 5)
    assert main(["index", "--documents", str(docs), "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert "approximate search (IVF: " in out and "scanned per question" in out
    monkeypatch.setattr(store, "EXACT_BELOW", 50_000)
    assert main(["index", "--documents", str(docs), "--index", str(tmp_path / "index"), "--full", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["store"] == "faiss-flat-ip" and report["store_params"] == {}
