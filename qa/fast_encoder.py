"""The fast query path: the same model exported to ONNX, run without torch.

Answering a question needs one short text encoded. With torch that costs a
~9 s import and ~22 ms per query on this class of CPU; ONNX Runtime with the
model's own `tokenizers` tokenizer needs neither torch nor transformers.

The export is made here from the local weights (never downloaded), when an
index is built, and is only used after it has been checked against the torch
encoder on a fixed set of texts (cosine >= MIN_COSINE). It lives in a cache
folder keyed by the hash of the weights, so every index built with a model
shares one export. Anything missing or wrong falls back to torch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .documents import file_sha256
from .embedding import Embedder
from .manifest import ModelIdentity

log = logging.getLogger("qa")

EXPORT_VERSION = 1
MIN_COSINE = 0.9999
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_POOLINGS = ("mean", "cls", "max")
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


class FastEncoder:
    """Encodes queries like `Embedder` does, with ONNX Runtime and `tokenizers` only."""

    def __init__(self, folder: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("export_version") != EXPORT_VERSION:
            raise ValueError(f"export version {meta.get('export_version')} is not {EXPORT_VERSION}")
        for name in ("model.onnx", "tokenizer.json"):
            if not _verified(folder / name, meta["files"][name]):
                raise ValueError(f"{folder / name} does not match its checksum")
        self.meta = meta
        self.name = meta["name"]
        self.max_tokens = int(meta["max_tokens"])
        self.dimension = int(meta["dimension"])
        self._inputs = tuple(meta["inputs"])
        self._pooling = meta["pooling"]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def identity(self) -> ModelIdentity:
        # The export was made from, and checked against, exactly these weights.
        return ModelIdentity(self.name, self.meta["model_sha256"], self.dimension, self.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def vocabulary(self) -> set[str]:
        """Whole words the tokenizer knows, for hyphen repair (the same set as Embedder's)."""
        return {w for w in self._counter.get_vocab() if w.isalpha() and w.islower()}

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


def ensure_export(embedder: Embedder, say=lambda message: None) -> dict | None:
    """Export `embedder`'s model to ONNX and check it, once per set of weights.

    Returns the export's metadata, or None when this model cannot take the
    fast path (the reason is said); the index works either way.
    """
    identity = embedder.identity()
    folder = export_dir(identity.sha256)
    if (folder / "meta.json").exists():
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        say("Fast query path off: onnxruntime is not installed (questions use torch).")
        return None
    model = embedder.model
    modules = [type(m).__name__ for m in model]
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]):
        say(f"Fast query path off: modules {modules} are not Transformer + Pooling (questions use torch).")
        return None
    pooling = model[1].get_config_dict().get("pooling_mode")
    if pooling not in _POOLINGS:
        say(f"Fast query path off: pooling {pooling!r} is not supported (questions use torch).")
        return None
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        meta = _export(embedder, identity, pooling, tmp)
        _write_json(tmp / "meta.json", meta)
        cosine = _check(embedder, tmp)
        meta["check"] = {"texts": len(CHECK_TEXTS), "min_cosine": cosine}
        if cosine < MIN_COSINE:
            say(f"Fast query path off: the ONNX export agrees with torch only to cosine {cosine:.6f}.")
            return None
        _write_json(tmp / "meta.json", meta)
        try:
            os.rename(tmp, folder)  # atomic; loses cleanly to a concurrent exporter
        except OSError:
            pass
        say(f"Fast query path: ONNX export checked against torch (min cosine {cosine:.6f}).")
        return meta
    except Exception as exc:  # the fast path is an optimisation, never a failure
        say(f"Fast query path off: export failed ({type(exc).__name__}: {exc}).")
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _export(embedder: Embedder, identity: ModelIdentity, pooling: str, folder: Path) -> dict:
    import warnings

    import torch

    model = embedder.model
    transformer = model[0].auto_model.eval()
    tokenizer = model.tokenizer
    inputs = tuple(n for n in _INPUTS if n in tokenizer.model_input_names)

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(inputs, args))).last_hidden_state

    sample = tokenizer(["a short text", "and another, longer one"], padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in inputs}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant shapes
        torch.onnx.export(
            Hidden(transformer),
            tuple(sample[n] for n in inputs),
            str(folder / "model.onnx"),
            input_names=list(inputs),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    import onnxruntime

    return {
        "export_version": EXPORT_VERSION,
        "name": identity.name,
        "model_sha256": identity.sha256,
        "dimension": identity.dimension,
        "max_tokens": identity.max_tokens,
        "max_seq_length": int(model.max_seq_length),
        "pooling": pooling,
        "inputs": list(inputs),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "files": {n: file_sha256(folder / n) for n in ("model.onnx", "tokenizer.json")},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
    }


def _check(embedder: Embedder, folder: Path) -> float:
    """Smallest cosine between torch and ONNX vectors over CHECK_TEXTS (-1 if token counts differ)."""
    fast = FastEncoder(folder)
    reference = embedder.encode(list(CHECK_TEXTS))
    got = fast.encode(list(CHECK_TEXTS), batch_size=len(CHECK_TEXTS))
    if fast.count_tokens(CHECK_TEXTS) != embedder.count_tokens(CHECK_TEXTS):
        return -1.0
    return float((reference * got).sum(axis=1).min())


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


def _write_json(path: Path, data: dict) -> None:
    with open(path, "wb") as fh:
        fh.write(json.dumps(data, indent=2).encode())
        fh.flush()
        os.fsync(fh.fileno())
