"""The ONNX query path: checked against torch, used without torch, refused when damaged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from qa.fast_encoder import CHECK_TEXTS, FastEncoder, export_dir, open_fast
from qa.onnx_export import ensure_export

from conftest import COURT


@pytest.fixture(scope="module")
def export(embedder):
    meta = ensure_export(embedder)
    assert meta is not None, "the default model must take the fast path"
    return meta


@pytest.mark.slow
def test_export_agrees_with_torch(embedder, export):
    assert export["check"]["min_cosine"] >= 0.9999
    fast = FastEncoder(export_dir(export["model_sha256"]))
    texts = list(CHECK_TEXTS) + ["Who chairs the Military Chamber?", "a", "Where was the taskforce created"]
    cosine = (fast.encode(texts) * embedder.encode(texts)).sum(axis=1)
    assert cosine.min() >= 0.9999
    assert fast.count_tokens(texts) == embedder.count_tokens(texts)
    assert fast.identity() == embedder.identity()


@pytest.mark.slow
def test_searcher_uses_it_and_ranks_like_torch(sample_index, searcher, export):
    import qa

    fast = qa.Searcher(sample_index[0].index)
    assert isinstance(fast.embedder, FastEncoder)
    for question in ("When was the law on combating human trafficking adopted?", "Who chairs the Military Chamber?",
                     "Which criminal code section covers trafficking?", "What is the boiling point of water?"):
        a, b = fast.ask(question, k=5), searcher.ask(question, k=5)
        assert [h.citation for h in a.passages] == [h.citation for h in b.passages]
        assert np.allclose([h.score for h in a.passages], [h.score for h in b.passages], atol=1e-4)
        assert (a.answer is None) == (b.answer is None)


def test_ask_in_a_new_process_does_not_import_torch(sample_index, export):
    code = (
        "import sys, qa; s = qa.Searcher(sys.argv[1]); a = s.ask('Who chairs the Military Chamber?');"
        "print(type(s.embedder).__name__, a.passages[0].citation.document, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(sample_index[0].index)], capture_output=True, text=True,
                         env=os.environ, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["FastEncoder", COURT, "False"]


def test_damaged_export_falls_back_to_torch(sample_index, export, tmp_path, monkeypatch, caplog):
    import shutil

    import qa
    import qa.fast_encoder as fe

    copy = tmp_path / "cache"
    shutil.copytree(export_dir(export["model_sha256"]).parent.parent, copy)
    monkeypatch.setenv("QA_CACHE_DIR", str(copy))
    monkeypatch.setattr(fe, "_opened", {})
    model = export_dir(export["model_sha256"]) / "model.onnx"
    with open(model, "r+b") as fh:
        fh.seek(model.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert open_fast(export["model_sha256"]) is None
    assert "checksum" in caplog.text
    s = qa.Searcher(sample_index[0].index)
    assert type(s.embedder).__name__ == "Embedder"
    assert s.ask("Who chairs the Military Chamber?").passages[0].citation.document == COURT


def test_meta_records_the_check(export):
    meta = json.loads((export_dir(export["model_sha256"]) / "meta.json").read_text())
    assert meta["check"]["texts"] == len(CHECK_TEXTS)
    assert set(meta["files"]) == {"model.onnx", "tokenizer.json"}
