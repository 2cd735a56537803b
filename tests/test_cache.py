"""The embedding cache: each text embedded once per model, bounded."""

from __future__ import annotations

import numpy as np
import pytest

from qa.cache import EmbeddingCache, embed_with_cache


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


def _built_cache(tmp_path, embedder, texts):
    with EmbeddingCache(tmp_path, "m", embedder.dimension) as cache:
        embed_with_cache(cache, texts, embedder.encode)


def test_a_flipped_byte_in_a_cached_vector_is_dropped_and_embedded_again(tmp_path, embedder):
    import sqlite3

    _built_cache(tmp_path, embedder, ["alpha text", "beta text"])
    db = sqlite3.connect(tmp_path / "embeddings.sqlite")
    key, blob = db.execute("SELECT key, vector FROM vectors LIMIT 1").fetchone()
    damaged = bytearray(blob)
    damaged[7] ^= 0x10
    db.execute("UPDATE vectors SET vector = ? WHERE key = ?", (bytes(damaged), key))
    db.commit()
    db.close()
    calls = []
    with EmbeddingCache(tmp_path, "m", embedder.dimension) as cache, pytest.warns(UserWarning, match="checksum"):
        vectors, n = embed_with_cache(cache, ["alpha text", "beta text"], lambda t: calls.append(t) or embedder.encode(t))
    assert n == 1 and len(calls[0]) == 1 and cache.dropped == 1
    assert np.allclose(vectors, embedder.encode(["alpha text", "beta text"]), atol=1e-5)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_cache_file_is_set_aside_and_the_build_succeeds_with_a_warning(docs, tmp_path, embedder, damage):
    import qa

    settings = qa.Settings(documents=docs, index=tmp_path / "index")
    qa.build_index(settings, embedder=embedder)
    f = tmp_path / "index" / "embeddings.sqlite"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\x00garbage" * 500)
    (docs / "new.txt").write_text("Okapi report\n\nThe okapi reserve in Ituri was founded in 1992.\n")
    with pytest.warns(UserWarning, match="embedding cache .* was damaged"):
        report = qa.build_index(settings, embedder=embedder)
    assert report.added == ("new.txt",) and qa.verify(settings.index, docs).ok
    assert list((tmp_path / "index").glob("embeddings.sqlite.damaged-*"))


def test_a_cache_from_before_checksums_keeps_its_vectors(tmp_path, embedder):
    """The previous release wrote no checksum column; upgrading must not crash or throw hours of embedding away."""
    import sqlite3

    vector = embedder.encode(["kept"])[0].astype(np.float32)
    db = sqlite3.connect(tmp_path / "embeddings.sqlite")
    db.execute("CREATE TABLE vectors (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL, used REAL NOT NULL,"
               " PRIMARY KEY (model, key)) WITHOUT ROWID")
    from qa.cache import text_key

    db.execute("INSERT INTO vectors VALUES (?, ?, ?, ?)", ("m", text_key("kept"), vector.tobytes(), 1.0))
    db.commit()
    db.close()
    calls = []
    with EmbeddingCache(tmp_path, "m", embedder.dimension) as cache:
        got, n = embed_with_cache(cache, ["kept"], lambda t: calls.append(t) or embedder.encode(t))
    assert n == 0 and not calls and np.array_equal(got[0], vector)
