"""The Milvus backend: one collection per generation, on Milvus Lite or a server.

`write` fills a NEW collection named after the generation folder and returns
before anything a reader uses changes; the caller's pointer commit is what
makes it live. A writer killed half-way leaves only an uncommitted collection,
which `drop_stale` removes. The same code serves a local Milvus Lite file
(`index/milvus.db`) and a server (`http://host:19530`, token from the
QA_MILVUS_TOKEN environment variable). On a server, collection names carry the
index folder's namespace (`namespace_of`), as several indexes may share one.

Keyword search is Milvus's own BM25 (a BM25 Function on the `text` field). By
default `text` holds the passage's words already analysed by qa.lexical
(stopwords removed, Snowball-stemmed, title prepended), so Milvus only splits
on spaces and scores the same tokens the FAISS backend's bm25s does; Milvus
Lite has no English stemmer of its own (only `standard` and `jieba`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..chunking import Passage
from ..errors import IndexCorrupt, IndexLocked, IndexNotFound
from ..lexical import B, K1, keyword_text, tokenize
from .base import SERVER_SCHEMES, Written
from .milvus_index import KIND, MilvusIndex
from .milvus_lock import MilvusLock

PREFIX = "qa_gen_"
TOKEN_ENV = "QA_MILVUS_TOKEN"
# Rows per insert call: ~4 KB a row keeps a call near 4 MB, well under gRPC's 64 MB default.
BATCH = 1000
# Exact scan below, HNSW above, the FAISS backend's cut-over. Measured on Lite
# at 100k x 384 (bench/milvus_quick.py): FLAT 278 ms p50 per question, HNSW
# 146 ms at recall@10 1.0 on clustered vectors, for +50 s of build; most of
# either is Lite's per-row Python bookkeeping, not the scan.
EXACT_BELOW = 50_000
HNSW = {"M": 16, "efConstruction": 100}
MAX_TEXT = 65_535  # VARCHAR limit, in bytes


# On a server, a file in the index folder naming its collections' namespace.
NAMESPACE_FILE = "MILVUS_NAMESPACE"


def collection_name(folder: Path, namespace: str = "") -> str:
    """`gen-000007` -> `qa_gen_000007`, or `qa_gen_<namespace>_000007` (Milvus names: letters, digits, underscores)."""
    number = "".join(c if c.isalnum() else "_" for c in Path(folder).name.removeprefix("gen-"))
    return PREFIX + (f"{namespace}_" if namespace else "") + number


def namespace_of(root: Path) -> str:
    """The index folder's own namespace on a shared server, made once (random) and kept in the folder.

    Generation numbers restart in every index folder: without a namespace a
    second index folder pointed at the same server would reuse `qa_gen_000002`
    and, taking it for a killed build's leftover, drop another index's live
    collection. The caller holds the index lock, so the file is made once.
    """
    import uuid

    path = Path(root) / NAMESPACE_FILE
    try:
        ns = path.read_text(encoding="ascii").strip()
        if ns.isalnum():
            return ns
    except (OSError, UnicodeDecodeError):
        pass
    ns = uuid.uuid4().hex[:10]
    tmp = path.with_name(f".{NAMESPACE_FILE}.tmp-{os.getpid()}")
    tmp.write_text(ns + "\n", encoding="ascii")
    os.replace(tmp, path)
    return ns


def _clip(s: str) -> str:
    b = s.encode("utf-8")
    return s if len(b) <= MAX_TEXT else b[:MAX_TEXT].decode("utf-8", "ignore")


class MilvusBackend:
    kind = KIND

    def __init__(self, uri: str, token: str | None = None, analyzer: str = "qa"):
        if analyzer not in ("qa", "milvus"):
            raise ValueError("analyzer must be 'qa' (qa.lexical tokens) or 'milvus' (Milvus's own analyzer)")
        self.lite = not uri.startswith(SERVER_SCHEMES)
        self.uri = str(Path(uri).resolve()) if self.lite else uri
        if self.lite and not self.uri.endswith(".db"):
            raise ValueError(f"A Milvus Lite URI must end in .db (pymilvus's rule), not {uri!r}")
        self._token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.analyzer = analyzer
        self._client = None
        self._connect = threading.Lock()

    @property
    def client(self):
        with self._connect:
            if self._client is None:
                from pymilvus import MilvusClient

                if self.lite:
                    Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._client = MilvusClient(uri=self.uri, token=self._token)
                except Exception:
                    if self.lite and _held(Path(self.uri) / "LOCK"):
                        raise IndexLocked(
                            f"The Milvus Lite database {self.uri} is open in another process (Milvus Lite allows one "
                            "process per database). Stop that process (a web UI or another qa command) and try again."
                        ) from None
                    raise
            return self._client

    def close(self) -> None:
        """Disconnect; for Lite also stop this process's embedded server so another process may open the file."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.lite:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    def lock(self, name: str = "index", ttl_s: float = 60.0) -> MilvusLock:
        """The one-writer lock: an exact flock for Lite, a lease row on a server."""
        if self.lite:
            return MilvusLock(None, name, ttl_s, lock_file=Path(self.uri + ".lock"))
        return MilvusLock(self.client, name, ttl_s)

    # Writing -------------------------------------------------------------------

    def _schema(self, dimension: int):
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        if self.analyzer == "qa":
            analysis = {"tokenizer": "standard"}  # the text is already space-separated stems
        elif self.lite:  # Lite knows `standard` (\w+, lowercase) and `jieba` only: no stemmer
            from bm25s.stopwords import STOPWORDS_EN

            analysis = {"tokenizer": "standard", "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS_EN)}]}
        else:  # a server's built-in English analyzer: lowercase, English stop words, Snowball stemmer
            analysis = {"type": "english"}
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("document", DataType.VARCHAR, max_length=4096)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, analyzer_params=analysis)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("passage", DataType.JSON)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
        return schema

    def keyword_input(self, texts: Sequence[str]) -> list[str]:
        """What the `text` field (and a keyword question) holds for this analyzer."""
        if self.analyzer == "milvus":
            return list(texts)
        return [" ".join(t) for t in tokenize(texts)]

    def write(self, folder: Path, passages: Sequence[Passage], vectors: np.ndarray, previous=None) -> Written:
        # `previous` is unused: Milvus has nothing like an IVF quantizer worth carrying over.
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(passages) != len(vectors):
            raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
        # A Lite file belongs to one index folder; a server may hold several indexes.
        name = collection_name(folder, "" if self.lite else namespace_of(Path(folder).resolve().parent))
        dimension, c = int(vectors.shape[1]), self.client
        if c.has_collection(name):  # this index's, left by a writer killed before its commit: never live
            c.drop_collection(name)
        c.create_collection(name, schema=self._schema(dimension), consistency_level="Bounded")
        for start in range(0, len(passages), BATCH):
            chunk = passages[start : start + BATCH]
            texts = self.keyword_input([keyword_text(p.title, p.text, p.section) for p in chunk])
            c.insert(name, [
                {"row": start + i, "document": p.document, "text": _clip(t), "dense": v, "passage": p.to_dict()}
                for i, (p, t, v) in enumerate(zip(chunk, texts, vectors[start : start + BATCH]))
            ])
        c.flush(name)
        exact = len(passages) < EXACT_BELOW
        # Build parameters go nested under "params" (the older wire form): pymilvus 3
        # flattens them, which Milvus Lite 3.2 silently ignores (k1 and b fell back
        # to 1.5 and 0.75); servers still accept the nested form.
        index = c.prepare_index_params()
        if exact:
            index.add_index(field_name="dense", index_type="FLAT", metric_type="IP")
        else:
            index.add_index(field_name="dense", index_type="HNSW", metric_type="IP", params={"params": HNSW})
        bm25 = {"bm25_k1": K1, "bm25_b": B}
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"params": bm25})
        c.create_index(name, index)
        c.load_collection(name)
        params = {"uri": self.uri if self.lite else _without_credentials(self.uri), "collection": name, "rows": len(passages),
                  "dimension": dimension, "dense_index": "FLAT" if exact else {"HNSW": HNSW}, "analyzer": self.analyzer,
                  "bm25": {"k1": K1, "b": B}}
        return Written(kind=KIND, params=params, files=())

    def generations(self, namespace: str | None = None) -> list[str]:
        """Generation collections: all of them, or those of one index folder's namespace."""
        prefix = PREFIX if namespace is None else f"{PREFIX}{namespace}_"
        return sorted(n for n in self.client.list_collections() if n.startswith(prefix))

    def drop(self, collection: str) -> None:
        if self.client.has_collection(collection):
            self.client.drop_collection(collection)

    def drop_stale(self, keep: set[str], namespace: str | None = None) -> list[str]:
        """Drop every generation collection (of `namespace`, on a shared server) not in `keep`
        (the committed ones); returns the dropped names."""
        dropped = [n for n in self.generations(namespace) if n not in keep]
        for n in dropped:
            self.drop(n)
        return dropped

    def commit_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection` in one server call, for app servers that follow an alias."""
        c = self.client
        if alias in c.list_aliases(collection_name=collection).get("aliases", []):
            return
        try:
            c.alter_alias(collection, alias)
        except Exception:  # the alias does not exist yet
            c.create_alias(collection, alias)

    # Reading -------------------------------------------------------------------

    def open(self, folder: Path, written: Written):
        name, c = written.params["collection"], self.client
        if not c.has_collection(name):
            raise IndexNotFound(f"The Milvus collection {name} of {folder} is missing from {written.params['uri']}. Rebuild with: qa index --full")
        c.load_collection(name)
        n = int(c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"])
        if n != written.params["rows"]:
            raise IndexCorrupt(f"The Milvus collection {name} holds {n} rows, its manifest says {written.params['rows']}. Rebuild with: qa index --full")
        ix = MilvusIndex(self, name, n, int(written.params["dimension"]), written.params.get("dense_index") != "FLAT")
        if self.lite:
            # Lite keeps no BM25 index on disk: the first keyword search builds the
            # posting lists in Python (10 s at 100k rows). Start that now, off the
            # caller's thread, so the first question rarely pays for it.
            threading.Thread(target=ix.warm, name=f"qa-warm-{name}", daemon=True).start()
        return ix


def _without_credentials(uri: str) -> str:
    """The manifest keeps where the index lives, never a user:password in the URI."""
    from urllib.parse import urlsplit

    u = urlsplit(uri)
    return u._replace(netloc=u.netloc.rpartition("@")[2]).geturl()


def _held(path: Path) -> bool:
    """Whether another process holds Milvus Lite's own flock on its data folder."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
