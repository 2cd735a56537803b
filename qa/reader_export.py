"""Making the reader and the relevance model: each shipped adapter merged into the model's weights, exported to ONNX, checked against torch.

Run once per set of weights when an index is built (like onnx_export); only
the weights the adapter was trained on get a reader.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .documents import file_sha256
from .onnx_export import _write_json, export_module, publish, staging
from . import relevance
from .reader import KINDS, MAX_TOKENS, Reader, adapter_meta, adapter_sha256, reader_dir

# The export must give the logits torch gives, to this much, on these pairs.
MAX_DIFFERENCE = 1e-3
CHECK_PAIRS = (
    ("Who built the Old Harbour Lighthouse?",
     "The Old Harbour Lighthouse\n\nThe lighthouse was built in 1872 by the engineer Margaret Ellison."),
    ("When was the law adopted?", "x"),
    ("What does section 144(1) say?", " ".join(["Trafficking in persons is punishable by imprisonment."] * 60)),
)


def ensure_reader_export(embedder, say=lambda message: None, kind: str = "reader") -> dict | None:
    """Export the reader (or kind="relevance" or "sentence": qa/relevance.py's models) for `embedder`'s weights once;
    None when these weights have none."""
    adapter, version = KINDS[kind]
    meta = adapter_meta(adapter)
    identity = embedder.identity()
    if meta.get("base_model_sha256") != identity.sha256:
        return None  # trained for the default model only: other models answer without it
    folder = reader_dir(identity.sha256, kind)
    name = {"reader": "Reader", "relevance": "Relevance model"}.get(kind, "Sentence model")
    if (folder / "meta.json").exists():
        import json

        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        say(f"{name} off: onnxruntime is not installed.")
        return None
    with staging(folder) as tmp:
        try:
            model = _merged(embedder.model[0].auto_model, adapter, meta, kind)
            tokenizer = embedder.model.tokenizer
            # torch's outputs before exporting: tracing leaves the model's mask handling changed behind it
            reference = _reference(model, tokenizer, kind)
            inputs = _export(model, tokenizer, tmp / "model.onnx", kind)
            tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
            out = {f"{kind}_version": version, "model_sha256": identity.sha256,
                   "adapter_sha256": adapter_sha256(adapter), "inputs": list(inputs),
                   "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": str(tokenizer.pad_token or "[PAD]"),
                   "files": {n: file_sha256(tmp / n) for n in ("model.onnx", "tokenizer.json")}}
            _write_json(tmp / "meta.json", out)
            difference = _check(reference, tmp, kind)
            if difference > MAX_DIFFERENCE:
                say(f"{name} off: the ONNX export differs from torch by {difference:.5f}.")
                return None
            publish(tmp, folder)
            say(f"{name}: exported and checked against torch (largest difference {difference:.1e}).")
            return out
        except Exception as exc:  # the reader improves answers; an index never fails for want of it
            say(f"{name} off: export failed ({type(exc).__name__}: {exc}).")
            return None


def _merged(transformer, adapter: Path, meta: dict, kind: str):
    """A copy of `transformer` with W += (alpha / rank) * B @ A in every adapted layer, and the head on top:
    start and end logits per token (the reader), or one logit over the mean-pooled tokens (relevance)."""
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(adapter))
    scale = float(meta["alpha"]) / float(meta["rank"])
    inner = copy.deepcopy(transformer).float().eval()
    modules = dict(inner.named_modules())
    with torch.no_grad():
        for key in weights:
            if key.endswith(".lora_A"):
                name = key[: -len(".lora_A")]
                a, b = weights[key].float(), weights[name + ".lora_B"].float()
                modules[name].weight += scale * (b @ a)
    head = torch.nn.Linear(inner.config.hidden_size, weights["head.weight"].shape[0])
    with torch.no_grad():
        head.weight.copy_(weights["head.weight"].float())
        head.bias.copy_(weights["head.bias"].float())

    class SpanModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.head = inner, head

        def forward(self, **kw):
            states = self.inner(**kw).last_hidden_state
            if kind == "reader":
                logits = self.head(states)
                return logits[..., 0], logits[..., 1]
            mask = kw["attention_mask"].unsqueeze(-1).to(states.dtype)
            return (self.head((states * mask).sum(1) / mask.sum(1)).squeeze(-1),)

    return SpanModel().eval()


def _export(model, tokenizer, path: Path, kind: str) -> tuple[str, ...]:
    sample = tokenizer([("a question?", "a short passage"), ("another one", "and a longer passage, with more")],
                       padding=True, return_tensors="pt")
    outputs = ("start_logits", "end_logits") if kind == "reader" else ("relevance",)
    return export_module(lambda inner, **kw: inner(**kw), model, tokenizer, sample, outputs, path)


def _reference(model, tokenizer, kind: str) -> list[tuple[np.ndarray, ...]]:
    """torch's outputs for CHECK_PAIRS, in one padded batch: per pair, the reader's start and end logits
    cut to its own tokens, or the relevance logit."""
    import torch

    enc = tokenizer([q for q, _ in CHECK_PAIRS], [p for _, p in CHECK_PAIRS], truncation="only_second",
                    max_length=MAX_TOKENS if kind == "reader" else relevance.MAX_TOKENS, padding=True,
                    return_tensors="pt")
    with torch.no_grad():
        out = model(**{k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc})
    if kind != "reader":
        return [(out[0][k:k + 1].numpy(),) for k in range(len(CHECK_PAIRS))]
    lengths = enc["attention_mask"].sum(1).tolist()
    return [(out[0][k, :n].numpy(), out[1][k, :n].numpy()) for k, n in enumerate(lengths)]


def _check(reference: list[tuple[np.ndarray, ...]], folder: Path, kind: str) -> float:
    """Largest difference between torch's and the export's outputs over CHECK_PAIRS (the reader: inf if the tokens differ)."""
    if kind != "reader":
        model = relevance.Relevance(folder, kind)
        got = [model.scores(q, [p]) for q, p in CHECK_PAIRS]
        return max(float(np.abs(g - r[0]).max()) for g, r in zip(got, reference))
    reader = Reader(folder)
    worst = 0.0
    for (q, p), (ref_s, ref_e) in zip(CHECK_PAIRS, reference):
        r = reader.read(q, [p])[0]
        if len(r.start) != len(ref_s):
            return float("inf")  # the tokenizers disagree
        mask = np.isfinite(r.start)
        worst = max(worst, float(np.abs(r.start[mask] - ref_s[mask]).max()),
                    float(np.abs(r.end[mask] - ref_e[mask]).max()))
    return worst
