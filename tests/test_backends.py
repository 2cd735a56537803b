"""Backend conformance: every backend answers these the same way (FAISS today; Milvus runs them too).

Each backend writes the same passages and vectors into a generation and is
opened again; dense, keyword and filtered search, stored vectors and passages
must agree with an exact numpy reference.
"""

from __future__ import annotations


import numpy as np
import pytest

from qa.backends.faiss import FaissBackend
from qa.chunking import Passage

TEXTS = {
    "harbour.txt": [
        "The north harbour opened in 1881 after nine years of construction work.",
        "Its lighthouse was designed and lit by the engineer Margaret Ellison.",
        "Fishing boats unload cod and herring at the eastern quay every morning.",
    ],
    "court.txt": [
        "The Military Chamber is chaired by Aziz Seyidov, who met US officials.",
        "Section 144(1) of the Criminal Code covers human trafficking offences.",
        "The concept note was published as document S/2017/198 before the debate.",
    ],
    "garden.txt": [
        "Tomatoes need six hours of sun and regular watering in dry summers.",
        "Compost improves heavy clay soil and feeds earthworms over winter.",
    ],
}

def _milvus(tmp):
    from qa.backends.milvus import MilvusBackend

    return MilvusBackend(str(tmp / "milvus.db"))


def _milvus_in_generation(tmp):
    from qa.backends.milvus_lite import MilvusLiteGenerations

    return MilvusLiteGenerations()


def _milvus_server(tmp):
    """A real Milvus server (milvus-lite's gRPC server in a child process), as a cluster is reached."""
    from qa.backends.milvus import MilvusBackend

    from bench.milvus_server import shared_uri

    return MilvusBackend(shared_uri())


# name -> a function (tmp folder) -> backend: every backend passes the same tests.
BACKENDS = {"faiss": lambda tmp: FaissBackend(), "milvus": _milvus, "milvus-lite-per-generation": _milvus_in_generation,
            "milvus-server": _milvus_server}


def _passages() -> list[Passage]:
    out = []
    for doc, texts in TEXTS.items():
        for i, text in enumerate(texts):
            out.append(Passage(document=doc, title=doc.split(".")[0].title(), text=text, char_start=i * 100,
                               char_end=i * 100 + len(text), line_start=i + 1, line_end=i + 1,
                               sentences=((0, len(text), i + 1, i + 1),), tokens=len(text.split()), section=f"Part {i}"))
    return out


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def opened(request, tmp_path_factory, embedder):
    passages = _passages()
    vectors = embedder.encode([p.text for p in passages])
    folder = tmp_path_factory.mktemp(f"backend-{request.param}") / "gen-000001"
    folder.mkdir()
    backend = BACKENDS[request.param](folder.parent)
    written = backend.write(folder, passages, vectors)
    return backend.open(folder, written), passages, vectors, embedder


def test_passages_and_vectors_round_trip(opened):
    index, passages, vectors, _ = opened
    assert len(index) == len(passages) and index.dimension == vectors.shape[1]
    assert [index.passage(i) for i in range(len(passages))] == passages
    assert list(index.passages()) == passages
    rows = np.array([5, 0, 3])
    assert np.allclose(index.vectors(rows), vectors[rows], atol=1e-6)


def test_dense_search_matches_exact_cosine(opened):
    index, passages, vectors, embedder = opened
    for question in ("Who designed the lighthouse?", "Which law covers trafficking?", "How do I improve clay soil?"):
        q = embedder.encode([question])[0]
        rows, scores = index.dense(q, 5)
        truth = np.argsort(-(vectors @ q), kind="stable")[:5]
        assert rows.tolist() == truth.tolist()
        assert np.allclose(scores, vectors[truth] @ q, atol=1e-5)
        assert list(scores) == sorted(scores, reverse=True)


def test_keyword_search_finds_exact_rare_terms_and_scores_only_matches(opened):
    index, passages, _, _ = opened
    rows, scores = index.keyword("S/2017/198 concept note", 5)
    assert passages[rows[0]].text.startswith("The concept note") and (scores > 0).all()
    assert list(scores) == sorted(scores, reverse=True)
    rows, _ = index.keyword("herring cod quay", 10)
    assert passages[rows[0]].document == "harbour.txt"
    assert len(index.keyword("xylophone zeppelin", 10)[0]) == 0
    got = index.keyword_scores("herring cod quay", np.array([2, 0, 7]))
    assert got[0] > 0 and got[1] == 0 and got[2] == 0


def test_keyword_count_is_the_number_of_keyword_matches(opened):
    # rare_terms reads document frequencies through keyword_count: it must count what keyword finds.
    index, _, _, _ = opened
    for q in ("herring cod quay", "Military", "S/2017/198", "xylophone", "the of"):
        assert index.keyword_count(q) == len(index.keyword(q, len(index))[0]), q
        docs = ["harbour.txt", "garden.txt"]
        assert index.keyword_count(q, docs) == len(index.keyword(q, len(index), docs)[0]), q
    assert index.keyword_count("herring cod quay") == 1 and index.keyword_count("soil sun") == 2


def test_documents_filter_restricts_both_searches(opened):
    index, passages, _, embedder = opened
    q = embedder.encode(["Who chairs the Military Chamber?"])[0]
    rows, _ = index.dense(q, 10, documents=["garden.txt"])
    assert {passages[r].document for r in rows} == {"garden.txt"} and len(rows) == 2
    rows, _ = index.keyword("Military Chamber soil", 10, documents=["garden.txt"])
    assert {passages[r].document for r in rows} <= {"garden.txt"} and len(rows) == 1
    assert index.rows_of(["court.txt", "garden.txt"]).tolist() == [3, 4, 5, 6, 7]
    assert index.rows_of(["missing.txt"]).tolist() == []
