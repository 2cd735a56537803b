"""The embedding cache: each text embedded once per model, bounded."""

from __future__ import annotations



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
