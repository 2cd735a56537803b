"""The fast query path: the same model exported to ONNX, run without torch.

Answering a question needs one short text encoded. With torch that costs a
~9 s import and ~22 ms per query on this class of CPU; ONNX Runtime with the
model's own `tokenizers` tokenizer needs neither torch nor transformers.

The export is made by `onnx_export` from the local weights (never
downloaded), when an index is built, and is only used after it has been
checked against the torch encoder on a fixed set of texts (cosine >= MIN_COSINE). It lives in a cache
folder keyed by the hash of the weights, so every index built with a model
shares one export. Anything missing or wrong falls back to torch.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .documents import file_sha256
from .manifest import ModelIdentity

log = logging.getLogger("qa")

EXPORT_VERSION = 1
MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLINGS = ("mean", "cls", "max")
# Short, long (over the model limit), punctuation-heavy, non-English, numbers:
# the export must agree with torch on all of them, padded together in one batch.
CHECK_TEXTS = (
    "When was the law on combating human trafficking adopted?",
    "Who chairs the Military Chamber of the Supreme Court?",
    "x",
    "section 144(1) of the Criminal Code; UNTOC, 2005 -- and 28th of June!",
    "Die Würde des Menschen ist unantastbar. 人身売買 ¿Qué pasó? Ελληνικά",
    " ".join(["The Council reaffirmed its commitment to the protection of victims of trafficking in persons."] * 30),
    "Mitochondrial DNA copy number is associated with cardiovascular disease in large cohorts.",
)


def cache_root() -> Path:
    base = os.environ.get("QA_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa"
    return Path(base) / "onnx"


def export_dir(model_sha256: str) -> Path:
    return cache_root() / f"{model_sha256[:16]}-v{EXPORT_VERSION}"


def checked_meta(folder: Path, version_key: str, version: int) -> dict:
    """An export folder's meta.json, once its version and its files' checksums hold (ValueError if not)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get(version_key) != version:
        raise ValueError(f"{version_key.replace('_', ' ')} {meta.get(version_key)} is not {version}")
    for name in ("model.onnx", "tokenizer.json"):
        if not _verified(folder / name, meta["files"][name]):
            raise ValueError(f"{folder / name} does not match its checksum")
    return meta


class FastEncoder:
    """Encodes queries like `Embedder` does, with ONNX Runtime and `tokenizers` only."""

    def __init__(self, folder: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        meta = checked_meta(folder, "export_version", EXPORT_VERSION)
        self.meta = meta
        self.name = meta["name"]
        self.max_tokens = int(meta["max_tokens"])
        self.dimension = int(meta["dimension"])
        self._inputs = tuple(meta["inputs"])
        self._pooling = meta["pooling"]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        self._folder = folder
        # An untruncated twin, loaded only for a text the tokenizer above cuts (~40 ms a load).
        self._counter = None
        self._session = _session(folder, ort)

    def identity(self) -> ModelIdentity:
        # The export was made from, and checked against, exactly these weights.
        return ModelIdentity(self.name, self.meta["model_sha256"], self.dimension, self.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without special tokens, never cut at the model's limit."""
        texts = list(texts)
        # The real (unpadded, non-special) tokens of an encoding that was not cut are all of them.
        counts = [None if e.overflowing else sum(a and not m for a, m in zip(e.attention_mask, e.special_tokens_mask))
                  for e in self._tokenizer.encode_batch(texts)] if texts else []
        long = [i for i, c in enumerate(counts) if c is None]
        if long:
            found = self._untruncated().encode_batch([texts[i] for i in long], add_special_tokens=False)
            for i, e in zip(long, found):
                counts[i] = len(e.ids)
        return counts

    def _untruncated(self):
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
            counter.no_truncation()
            counter.no_padding()
            self._counter = counter
        return self._counter

    def vocabulary(self) -> set[str]:
        """Whole words the tokenizer knows, for hyphen repair (the same set as Embedder's)."""
        return {w for w in self._tokenizer.get_vocab() if w.isalpha() and w.islower()}

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors; each distinct text is embedded once."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique: dict[str, int] = {}
        for t in texts:
            unique.setdefault(t, len(unique))
        distinct = sorted(unique, key=len)  # similar lengths per batch: little padding
        out = np.zeros((len(distinct), self.dimension), dtype=np.float32)
        for start in range(0, len(distinct), batch_size):
            out[start : start + batch_size] = self._encode_batch(distinct[start : start + batch_size])
        where = {t: i for i, t in enumerate(distinct)}
        return out[[where[t] for t in texts]]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        arrays = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        hidden = self._session.run(None, {k: arrays[k] for k in self._inputs})[0]
        mask = arrays["attention_mask"][:, :, None].astype(np.float32)
        if self._pooling == "cls":
            vectors = hidden[:, 0]
        elif self._pooling == "max":
            vectors = np.where(mask > 0, hidden, -1e9).max(axis=1)
        else:
            vectors = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


_opened: dict[str, FastEncoder] = {}
_open_lock = threading.Lock()


def open_fast(model_sha256: str) -> FastEncoder | None:
    """The checked export for these weights, or None (then torch is used)."""
    folder = export_dir(model_sha256)
    if not (folder / "meta.json").exists():
        return None
    with _open_lock:
        if model_sha256 not in _opened:
            try:
                encoder = FastEncoder(folder)
                if encoder.meta["model_sha256"] != model_sha256:
                    raise ValueError("it was exported from other weights")
            except ImportError:
                return None
            except Exception as exc:
                log.warning("Not using the ONNX query encoder in %s (%s); falling back to torch.", folder, exc)
                return None
            _opened[model_sha256] = encoder
        return _opened[model_sha256]


def prefetch(model_sha256: str) -> None:
    """Start opening the export for these weights in a background thread.

    Creating the ONNX Runtime session (~0.3 s) runs in C++ without the GIL: a
    new `qa ask` process overlaps it with importing the answer code and
    opening the index. `open_fast` then waits for it (one lock) and returns it.
    Not a daemon: a process that exits early (a bad argument) waits for it, as
    ONNX Runtime aborts the process ("terminate called...") when the
    interpreter is torn down under a session being made.
    """
    threading.Thread(target=open_fast, args=(model_sha256,), name="qa-onnx-open").start()


def _session(folder: Path, ort):
    """An inference session, from a graph optimised once per runtime version and kept beside the export.

    Optimising the graph (fusing attention, GELU and layer norm) takes ~0.3 s
    at every session start; a new `qa ask` process would pay it each time.
    """
    def options(level):
        o = ort.SessionOptions()
        o.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        o.graph_optimization_level = level
        return o

    levels = ort.GraphOptimizationLevel
    opt = folder / f"model.opt-{ort.__version__}.onnx"
    stamp = opt.with_suffix(".sha256")
    try:
        if opt.exists() and _verified(opt, stamp.read_text(encoding="utf-8").strip()):
            return ort.InferenceSession(str(opt), options(levels.ORT_DISABLE_ALL), providers=["CPUExecutionProvider"])
    except Exception as exc:  # a damaged or stale optimised file: optimise again
        log.warning("Re-optimising the ONNX model in %s (%s).", folder, exc)
    tmp = folder / f".{opt.name}.{os.getpid()}.tmp"
    o = options(levels.ORT_ENABLE_EXTENDED)  # not ALL: its layout rewrites are machine-specific
    o.optimized_model_filepath = str(tmp)
    session = ort.InferenceSession(str(folder / "model.onnx"), o, providers=["CPUExecutionProvider"])
    try:  # best effort: a read-only cache just optimises every time
        stamp.write_text(file_sha256(tmp), encoding="utf-8")
        os.replace(tmp, opt)
    except OSError:
        tmp.unlink(missing_ok=True)
    return session


def _verified(path: Path, sha256: str) -> bool:
    """Whether `path` holds the bytes with `sha256`, hashing only when the file changed.

    Hashing the 90 MB model costs ~0.2 s in every new process that answers a
    question. A file's (size, mtime, inode) is remembered beside it once its
    hash was checked; any write in place changes the mtime and forces a new hash.
    """
    st = path.stat()
    key = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{sha256}"
    stamp = path.parent / f".{path.name}.verified"
    try:
        if stamp.read_text(encoding="utf-8") == key:
            return True
    except OSError:
        pass
    if file_sha256(path) != sha256:
        return False
    try:  # best effort: a read-only cache just hashes every time
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(key, encoding="utf-8")
        os.replace(tmp, stamp)
    except OSError:
        pass
    return True


class PairModel:
    """An export that reads (question, text) pairs: the reader and the relevance model (ONNX Runtime, `tokenizers`).

    A question keeps its first `question_chars` (a long one must leave the text room);
    the text is cut to fit `max_tokens`, as they were trained.
    """

    def __init__(self, folder: Path, version_key: str, version: int, max_tokens: int, question_chars: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        meta = checked_meta(folder, version_key, version)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        self._inputs = tuple(meta["inputs"])
        self._session = _session(folder, ort)
        self._question_chars = question_chars

    def _run(self, outputs: list[str], question: str, texts) -> tuple[list, list]:
        """The tokenized pairs and the named outputs, in one batch."""
        encoded = self._tokenizer.encode_batch([(question[:self._question_chars], t) for t in texts])
        feeds = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
        return encoded, self._session.run(outputs, {n: feeds[n] for n in self._inputs})
