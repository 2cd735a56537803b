"""The Milvus backend against a real server: several processes over one index.

The server is milvus-lite's own gRPC server (`milvus-lite server`) in a child
process: pymilvus reaches it by URL exactly as it reaches a Milvus cluster, so
what only a server allows (many client processes at once, the lease lock)
runs for real. Every process here is a real `qa index` or `python app.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from bench.milvus_server import MilvusServer, free_port  # noqa: E402
from conftest import COURT, OKAPI, ROOT, SAMPLES  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           HF_HUB_OFFLINE="1")


@pytest.fixture
def server(tmp_path):
    with MilvusServer(tmp_path / "milvus-data") as uri:
        yield uri


def _index(docs: Path, index: Path, uri: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(index),
                           "--backend", "milvus", "--uri", uri, "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _app(docs: Path, index: Path, uri: str, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "app.py", "--documents", str(docs), "--index", str(index),
                             "--backend", "milvus", "--uri", uri, "--port", str(port)],
                            cwd=ROOT, env=ENV, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def _ask(url: str, question: str, until: float) -> dict:
    """The /ask API's answer; retried while the page is still starting (or its first update runs)."""
    from gradio_client import Client

    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                pass
            return Client(url, verbose=False).predict(question, 3, api_name="/ask")
        except Exception:
            if time.monotonic() > until:
                raise
            time.sleep(1)


@pytest.mark.slow
def test_two_app_processes_over_one_server_answer_and_follow_a_third_processes_update(tmp_path, server):
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(SAMPLES, docs)
    first = _index(docs, index, server)
    assert first["store"] == "milvus" and first["store_params"]["uri"] == server

    ports = [free_port(), free_port()]
    apps = [_app(docs, index, server, p, tmp_path / f"app{i}.log") for i, p in enumerate(ports)]
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            out = _ask(url, "Which criminal code section covers trafficking?", time.monotonic() + 180)
            assert "144(1)" in out["answer"]["sentence"] and out["answer"]["document"] == COURT

        # A third process adds a document and commits a new generation on the same server.
        (docs / "okapi.txt").write_text(OKAPI, encoding="utf-8")
        second = _index(docs, index, server)
        assert second["added"] == ["okapi.txt"] and second["generation"] != first["generation"]
        for url in urls:  # each app reloads on the committed generation, no restart
            out = _ask(url, "When was the okapi reserve founded?", time.monotonic() + 180)
            assert out["passages"][0]["document"] == "okapi.txt" and "1992" in out["answer"]["sentence"]
        assert all(a.poll() is None for a in apps)
    finally:
        for a in apps:
            a.terminate()
        for a in apps:
            try:
                a.wait(timeout=20)
            except subprocess.TimeoutExpired:
                a.kill()
                a.wait()
    # Only the committed generations' collections remain on the server.
    from qa.backends.milvus import MilvusBackend, namespace_of
    from qa.current import load

    backend = MilvusBackend(server)
    try:
        live = load(index).manifest.store.params["collection"]
        ours = backend.generations(namespace_of(index))
        assert live in ours and len(ours) <= 2  # older ones were dropped with their folders
    finally:
        backend.close()


@pytest.mark.slow  # two full builds with embedding: ~70 s on 2 busy cores
def test_two_index_folders_on_one_server_keep_their_own_collections(tmp_path, server, embedder):
    """Generation numbers restart per index folder; the folder's namespace keeps the second
    index's `gen-000001` from overwriting (or dropping as a leftover) the first's."""
    import numpy as np

    import qa
    from qa.backends.milvus import MilvusBackend, namespace_of

    docs = tmp_path / "documents"
    shutil.copytree(SAMPLES, docs)
    (docs / "okapi.txt").write_text(OKAPI, encoding="utf-8")
    a, b = tmp_path / "a", tmp_path / "b"
    qa.build_index(qa.Settings(documents=SAMPLES, index=a, backend="milvus", uri=server), embedder=embedder)
    qa.build_index(qa.Settings(documents=docs, index=b, backend="milvus", uri=server), embedder=embedder)
    assert namespace_of(a) != namespace_of(b)
    on_a, on_b = qa.Searcher(a, embedder=embedder), qa.Searcher(b, embedder=embedder)
    question = "When was the okapi reserve founded?"
    assert on_b.ask(question, k=1).passages[0].citation.document == "okapi.txt"
    assert all(h.citation.document != "okapi.txt" for h in on_a.ask(question, k=5).passages)
    assert qa.verify(a, SAMPLES).ok and qa.verify(b, docs).ok
    backend = MilvusBackend(server)
    try:
        assert len(backend.generations(namespace_of(a))) == len(backend.generations(namespace_of(b))) == 1
        assert np.array_equal(backend.generations(), sorted(backend.generations(namespace_of(a)) + backend.generations(namespace_of(b))))
    finally:
        backend.close()


@pytest.mark.slow
def test_sigkill_during_updates_on_a_server_leaves_the_previous_generation_served(tmp_path, server, embedder):
    from bench.kill_loop import run

    results = run(4, seed=23, workdir=tmp_path, embedder=embedder, log=lambda m: None, backend="milvus", uri=server)
    assert sum(not r.finished for r in results) >= 1
    bad = [r for r in results if not (r.verify_ok and r.answered)]
    assert not bad, bad


@pytest.mark.slow
def test_a_build_waits_for_another_machines_lease_on_the_server(tmp_path, server, embedder):
    """Two builders sharing one index folder over a network file system cannot trust flock;
    the lease row in the engine still lets one write at a time, and the loser changes nothing."""
    import qa
    from qa.backends.milvus import MilvusBackend, namespace_of
    from qa.backends.milvus_lock import MilvusLock
    from qa.current import current_name

    index = tmp_path / "index"
    settings = qa.Settings(documents=SAMPLES, index=index, backend="milvus", uri=server)
    qa.build_index(settings, embedder=embedder)
    served = current_name(index)
    docs = tmp_path / "documents"
    shutil.copytree(SAMPLES, docs)
    (docs / "okapi.txt").write_text(OKAPI, encoding="utf-8")
    other = MilvusBackend(server)  # "another machine": its own client, its own lease token
    try:
        with MilvusLock(other.client, f"index_{namespace_of(index)}", ttl_s=60):
            with pytest.raises(qa.errors.IndexLocked, match="held by pid"):
                qa.build_index(qa.Settings(documents=docs, index=index, backend="milvus", uri=server), embedder=embedder)
            assert current_name(index) == served
        report = qa.build_index(qa.Settings(documents=docs, index=index, backend="milvus", uri=server), embedder=embedder)
        assert report.added == ("okapi.txt",) and current_name(index) != served
    finally:
        other.close()
