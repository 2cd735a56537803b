"""Making the fast query path: the model exported to ONNX with torch.onnx, checked against torch.

Run once per set of weights, when an index is built; questions then never
need torch (see fast_encoder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from pathlib import Path

from .documents import file_sha256
from .embedding import Embedder
from .fast_encoder import CHECK_TEXTS, EXPORT_VERSION, INPUTS, MIN_COSINE, POOLINGS, FastEncoder, export_dir
from .manifest import ModelIdentity


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
    if pooling not in POOLINGS:
        say(f"Fast query path off: pooling {pooling!r} is not supported (questions use torch).")
        return None
    with staging(folder) as tmp:
        return _make(embedder, identity, pooling, tmp, folder, say)


@contextlib.contextmanager
def staging(folder: Path):
    """A fresh temporary folder beside `folder`, removed afterwards: an export is written there and
    renamed into place whole (`publish`), so a crash never leaves a half-written export."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, folder: Path) -> None:
    try:
        os.rename(tmp, folder)  # atomic; loses cleanly to a concurrent exporter
    except OSError:
        pass


def _make(embedder: Embedder, identity: ModelIdentity, pooling: str, tmp: Path, folder: Path, say) -> dict | None:
    try:
        meta = _export(embedder, identity, pooling, tmp)
        _write_json(tmp / "meta.json", meta)
        cosine = _check(embedder, tmp)
        meta["check"] = {"texts": len(CHECK_TEXTS), "min_cosine": cosine}
        if cosine < MIN_COSINE:
            say(f"Fast query path off: the ONNX export agrees with torch only to cosine {cosine:.6f}.")
            return None
        _write_json(tmp / "meta.json", meta)
        publish(tmp, folder)
        say(f"Fast query path: ONNX export checked against torch (min cosine {cosine:.6f}).")
        return meta
    except Exception as exc:  # the fast path is an optimisation, never a failure
        say(f"Fast query path off: export failed ({type(exc).__name__}: {exc}).")
        return None


def export_graph(transformer, tokenizer, path: Path) -> tuple[str, ...]:
    """Export a transformer's token states (last_hidden_state) to ONNX at `path`; returns its input names.

    The one export used for the question path, and by bench.embed_runtimes for its variants.
    """
    sample = tokenizer(["a short text", "and another, longer one"], padding=True, return_tensors="pt")
    return export_module(lambda inner, **kw: inner(**kw).last_hidden_state, transformer, tokenizer, sample,
                         ("last_hidden_state",), path)


def export_module(forward, module, tokenizer, sample, outputs: tuple[str, ...], path: Path) -> tuple[str, ...]:
    """Export `forward(module, **inputs)` to ONNX at `path` with batch and token axes free; returns the input names.

    `sample` (a padded tokenizer batch) is what the graph is traced with. Shared by the
    query encoder's export, the reader's, the relevance and the sentence model's (qa/reader_export.py).
    """
    import warnings

    import torch

    inputs = tuple(n for n in INPUTS if n in tokenizer.model_input_names)

    class Positional(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return forward(self.inner, **dict(zip(inputs, args)))

    axes = {n: {0: "batch", 1: "tokens"} for n in (*inputs, *outputs)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant shapes
        torch.onnx.export(Positional(module), tuple(sample[n] for n in inputs), str(path), input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes=axes, opset_version=17, dynamo=False)
    return inputs


def _export(embedder: Embedder, identity: ModelIdentity, pooling: str, folder: Path) -> dict:
    import torch

    model = embedder.model
    tokenizer = model.tokenizer
    inputs = export_graph(model[0].auto_model.eval(), tokenizer, folder / "model.onnx")
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


def _write_json(path: Path, data: dict) -> None:
    with open(path, "wb") as fh:
        fh.write(json.dumps(data, indent=2).encode())
        fh.flush()
        os.fsync(fh.fileno())
