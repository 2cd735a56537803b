"""The Milvus backend on Milvus Lite: real embeddings, real collections, a real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.backends import milvus as M  # noqa: E402
from qa.backends.base import Written  # noqa: E402
from qa.backends.milvus_lock import MilvusLock  # noqa: E402
from qa.chunking import Passage  # noqa: E402
from qa.errors import IndexCorrupt, IndexLocked, IndexNotFound  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Three documents, one topic per passage, so each question has one right answer.
TEXTS = {
    "council.txt": [
        "The Security Council report S/2017/198 describes the monitoring mission in the border region.",
        "Delegates adopted the resolution on maritime safety after two days of negotiation.",
        "The General Assembly elected five non-permanent members for a two-year term.",
        "Humanitarian convoys reached the besieged town after the ceasefire took hold.",
        "The secretariat published the annual budget with a small increase for peacekeeping.",
        "Observers reported that polling stations opened on time across the country.",
        "The envoy met both parties in Geneva to restart the stalled peace talks.",
        "Member states pledged funds to rebuild schools destroyed by the earthquake.",
        "The committee on sanctions listed three new individuals under the arms embargo.",
        "A panel of experts examined how illegal fishing depletes coastal stocks.",
    ],
    "court.txt": [
        "The city council approved money to repair potholes and resurface roads next spring.",
        "The judge ruled that the contract was void because one party was a minor.",
        "The appeal was dismissed and the defendant was ordered to pay the costs of the case.",
        "Witnesses testified that the lorry ran the red light before the collision.",
        "The tenant argued that the landlord failed to fix the leaking roof for months.",
        "The court held that the employer was liable for the accident at the warehouse.",
        "A jury acquitted the accountant of fraud after a six-week trial.",
        "The plaintiff claimed damages for the loss of his vintage car in the flood.",
        "The will was declared valid although it was signed in pencil.",
        "Counsel asked for an adjournment because a key witness was in hospital.",
    ],
    "nature.txt": [
        "Honeybees communicate the direction of flowers with a waggle dance inside the hive.",
        "Glaciers in the Alps have lost more than half of their volume since 1900.",
        "The Amazon rainforest produces a large share of the world's oxygen and rain.",
        "Emperor penguins huddle together to survive the Antarctic winter.",
        "Coral reefs bleach when the sea water becomes too warm for too long.",
        "Wolves were reintroduced to Yellowstone and changed the course of rivers.",
        "Monarch butterflies migrate thousands of kilometres to Mexico each autumn.",
        "Tides are caused mainly by the gravitational pull of the moon.",
        "Volcanic ash can ground aircraft because it melts inside jet engines.",
        "Mangrove forests protect coastlines from storm surges and erosion.",
    ],
}
ROADS = 10  # "The city council approved money to repair potholes ..."
CODE = 0  # "... S/2017/198 ..."


def _passage(document: str, text: str, cls=Passage, **extra) -> Passage:
    return cls(document=document, title=document.removesuffix(".txt").title(), text=text, char_start=0, char_end=len(text),
               line_start=1, line_end=1, sentences=((0, len(text), 1, 1),), tokens=10, **extra)


PASSAGES = [_passage(d, t) for d, ts in TEXTS.items() for t in ts]


@pytest.fixture(scope="module")
def vectors(embedder) -> np.ndarray:
    return np.asarray(embedder.encode([p.text for p in PASSAGES]), dtype=np.float32)


@pytest.fixture(scope="module")
def built(tmp_path_factory, vectors):
    backend = M.MilvusBackend(str(tmp_path_factory.mktemp("milvus") / "milvus.db"))
    written = backend.write(Path("gen-000001"), PASSAGES, vectors)
    yield backend, written, backend.open(Path("gen-000001"), written)
    backend.close()


def test_written_names_the_generation(built):
    backend, written, ix = built
    assert written.kind == ix.kind == "milvus" and written.files == ()
    assert written.params["collection"] == "qa_gen_000001" and written.params["rows"] == len(PASSAGES)
    assert len(ix) == len(PASSAGES) and ix.dimension == written.params["dimension"]


def test_dense_finds_a_paraphrase(built, embedder, vectors):
    _, _, ix = built
    q = embedder.encode(["Which body agreed to pay for fixing the streets?"])[0]
    rows, cos = ix.dense(q, 5)
    assert rows[0] == ROADS
    assert np.all(np.diff(cos) <= 1e-6) and np.allclose(cos, vectors[rows] @ q, atol=1e-5)


def test_keyword_finds_a_rare_code(built):
    _, _, ix = built
    rows, scores = ix.keyword("What does S/2017/198 say?", 5)
    assert rows[0] == CODE and np.all(scores > 0) and np.all(np.diff(scores) <= 0)
    assert ix.keyword("the of and", 5)[0].size == 0  # only stopwords: nothing, not an error


def test_keyword_scores_equal_the_faiss_backends_bm25(built, tmp_path):
    """Same tokens (qa.lexical), same k1 and b: the scores of bm25s, not just its ranking."""
    from qa.lexical import Lexical, keyword_text

    _, _, ix = built
    Lexical.write(tmp_path, [keyword_text(p.title, p.text, p.section) for p in PASSAGES])
    lexical = Lexical.load(tmp_path)
    for question in ["court ruled contract void", "penguins winter Antarctic", "peace talks envoy Geneva", "zebra"]:
        expected = lexical.scores(question)
        got = ix.keyword_scores(question, np.arange(len(PASSAGES))[::-1])[::-1]
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-6)
        rows, scores = ix.keyword(question, 10)
        assert np.allclose(scores, np.sort(expected[expected > 0])[::-1][:10], rtol=1e-5)
        assert np.allclose(scores, expected[rows], rtol=1e-5)


def test_documents_filter_restricts_both_searches(built, embedder):
    _, _, ix = built
    court = ix.rows_of(["court.txt"])
    assert court.tolist() == list(range(10, 20))
    assert ix.rows_of(["nature.txt", "court.txt"]).tolist() == list(range(10, 30))
    assert ix.rows_of([]).size == 0 and ix.rows_of(['no "such" \\ file']).size == 0
    q = embedder.encode(["Which body agreed to pay for fixing the streets?"])[0]
    rows, _ = ix.dense(q, 30, documents=["nature.txt"])
    assert len(rows) == 10 and set(rows.tolist()) <= set(range(20, 30))
    rows, _ = ix.keyword("S/2017/198 court", 30, documents=["court.txt"])
    assert len(rows) and set(rows.tolist()) <= set(court.tolist())
    assert ix.dense(q, 5, documents=[])[0].size == 0 and ix.keyword("court", 5, documents=[])[0].size == 0


def test_keyword_scores_of_rows_without_the_terms_are_zero(built):
    _, _, ix = built
    scores = ix.keyword_scores("S/2017/198", np.array([5, CODE, 25]))
    assert scores[0] == 0 and scores[1] > 0 and scores[2] == 0
    assert ix.keyword_scores("S/2017/198", np.array([], dtype=np.int64)).size == 0


def test_vectors_and_passages_round_trip(built, vectors):
    _, _, ix = built
    rows = np.array([29, 0, 7, 7, 13])
    assert np.allclose(ix.vectors(rows), vectors[rows], atol=1e-6)
    assert list(ix.passages()) == PASSAGES
    assert ix.passage(17) == PASSAGES[17] and ix.passages_at([3, 1]) == [PASSAGES[3], PASSAGES[1]]


def test_dense_top10_agrees_with_exact_numpy_and_faiss(built, embedder, vectors, monkeypatch):
    from qa.store import FlatStore

    backend, _, ix = built
    faiss = FlatStore(vectors.shape[1])
    faiss.add(vectors)
    monkeypatch.setattr(M, "EXACT_BELOW", 0)  # the HNSW path too, at this size exact in practice
    hnsw = backend.open(Path("gen-000009"), backend.write(Path("gen-000009"), PASSAGES, vectors))
    qs = embedder.encode(["court case", "animals in winter", "money for roads", "United Nations votes", "water and climate"])
    for q in qs:
        exact = set(np.argsort(-(vectors @ q))[:10].tolist())
        assert set(ix.dense(q, 10)[0].tolist()) == exact
        assert set(hnsw.dense(q, 10)[0].tolist()) == exact
        assert set(faiss.search(q[None, :], 10)[1][0].tolist()) == exact
    backend.drop("qa_gen_000009")


def test_generations_coexist_and_stale_ones_are_dropped(built, embedder, vectors):
    backend, _, old = built
    newer = PASSAGES[10:] + [_passage("new.txt", "A brand new passage about tram lines.")]
    w2 = backend.write(Path("gen-000002"), newer, np.concatenate([vectors[10:], vectors[:1]]))
    ix2 = backend.open(Path("gen-000002"), w2)
    q = embedder.encode(["Which body agreed to pay for fixing the streets?"])[0]
    assert len(old) == 30 and old.dense(q, 1)[0][0] == ROADS and old.passage(ROADS) == PASSAGES[ROADS]
    assert len(ix2) == 21 and ix2.dense(q, 1)[0][0] == 0 and ix2.passage(20).document == "new.txt"
    # Server deployments: app servers that follow an alias move with one call.
    backend.commit_alias("qa_live", "qa_gen_000001")
    backend.commit_alias("qa_live", "qa_gen_000002")
    assert backend.client.describe_alias("qa_live")["collection_name"] == "qa_gen_000002"
    backend.client.drop_alias("qa_live")
    # An uncommitted third generation (its writer died before the pointer moved) is stale.
    backend.write(Path("gen-000003"), PASSAGES[:2], vectors[:2])
    assert backend.drop_stale({"qa_gen_000001", "qa_gen_000002"}) == ["qa_gen_000003"]
    assert backend.generations() == ["qa_gen_000001", "qa_gen_000002"]
    backend.drop("qa_gen_000002")
    assert old.keyword("S/2017/198", 1)[0][0] == CODE  # the committed one is untouched


def test_open_refuses_missing_or_short_collections(built):
    backend, written, _ = built
    with pytest.raises(IndexNotFound):
        backend.open(Path("gen-000042"), Written("milvus", dict(written.params, collection="qa_gen_000042")))
    with pytest.raises(IndexCorrupt):
        backend.open(Path("gen-000001"), Written("milvus", dict(written.params, rows=31)))


WRITER = """
import sys, numpy as np
from pathlib import Path
from qa.backends.milvus import MilvusBackend
from qa.chunking import Passage
n, dim = 60000, int(sys.argv[2])
rng = np.random.default_rng(0)
v = rng.standard_normal((n, dim)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
ps = [Passage("big.txt", "Big", f"filler passage number {i} about nothing", 0, 9, 1, 1, ((0, 9, 1, 1),), 9) for i in range(n)]
b = MilvusBackend(sys.argv[1])
b.client
print("writing", flush=True)
b.write(Path("gen-000002"), ps, v)
print("done", flush=True)
"""


@pytest.mark.slow  # a child process killed mid-write: ~5 s
def test_kill_9_during_write_leaves_the_previous_generation(tmp_path, embedder, vectors):
    uri = str(tmp_path / "milvus.db")
    backend = M.MilvusBackend(uri)
    w1 = backend.write(Path("gen-000001"), PASSAGES, vectors)
    backend.close()  # Milvus Lite: one process per database file
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, uri, str(vectors.shape[1])], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        # While the writer holds the file, another process gets a clear IndexLocked.
        with pytest.raises(IndexLocked, match="open in another process"):
            M.MilvusBackend(uri).client
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate(timeout=30)[0]
    finally:
        proc.kill()
    assert "done" not in rest, "the writer finished before the kill: make it write more"
    backend = M.MilvusBackend(uri)
    try:
        assert "qa_gen_000002" in backend.generations()
        ix = backend.open(Path("gen-000001"), w1)
        q = embedder.encode(["Which body agreed to pay for fixing the streets?"])[0]
        assert len(ix) == 30 and ix.dense(q, 1)[0][0] == ROADS and ix.keyword("S/2017/198", 1)[0][0] == CODE
        assert backend.drop_stale({"qa_gen_000001"}) == ["qa_gen_000002"]
        assert backend.generations() == ["qa_gen_000001"]
    finally:
        backend.close()


def test_lock_refuses_a_second_holder(built):
    backend, _, _ = built
    with backend.lock():  # Milvus Lite: flock on milvus.db.lock
        with pytest.raises(IndexLocked, match=f"pid {os.getpid()}"):
            with backend.lock():
                pass
    with backend.lock():
        pass
    # The server lease, run against Lite: refused while held, free after release, taken over once expired.
    with MilvusLock(backend.client, "index", ttl_s=5, settle_s=0.05) as held:
        with pytest.raises(IndexLocked, match="held by pid"):
            with MilvusLock(backend.client, "index", ttl_s=5, settle_s=0.05):
                pass
        held.assert_held()
    dead = MilvusLock(backend.client, "index", ttl_s=0.3, settle_s=0.05)
    dead.__enter__()
    dead._stop.set()  # its process "dies": no more renewals
    time.sleep(0.4)
    with MilvusLock(backend.client, "index", ttl_s=5, settle_s=0.05):
        with pytest.raises(IndexLocked, match="taken over"):
            dead.assert_held()


def test_milvus_lite_analyzer_does_not_stem(tmp_path, vectors):
    """Why the default feeds qa.lexical's tokens: Lite's own analyzer (`\\w+`, lowercase,
    stop words) cannot match "adoption" to "adopted"; ours stems both to "adopt"."""
    backend = M.MilvusBackend(str(tmp_path / "milvus.db"), analyzer="milvus")
    try:
        ix = backend.open(Path("gen-000001"), backend.write(Path("gen-000001"), PASSAGES, vectors))
        assert ix.keyword("resolution", 3)[0][0] == 1  # exact words still match
        assert ix.keyword("adoption", 3)[0].size == 0
        assert ix.keyword("the of and", 3)[0].size == 0  # stop words are dropped here too
    finally:
        backend.close()


def test_qa_analyzer_stems(built):
    _, _, ix = built
    assert ix.keyword("adoption", 3)[0][0] == 1
