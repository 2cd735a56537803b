"""Which encoder a build uses: the checked ONNX export for a few passages, torch only for bulk.

Importing torch and loading the model costs ~10 s on this class of CPU, more
than embedding a new file takes. A build that has nothing to embed (a removal,
a rename, a revert, passages all in the cache) never loads a model; one with
a few hundred passages embeds them with the ONNX export that questions already
use (checked against torch at cosine >= 0.9999 when it was made); torch is
loaded only when there are more passages than that saves time for.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .embedding import Embedder, resolve, weights_sha256
from .fast_encoder import FastEncoder, open_fast
from .manifest import ModelIdentity

# ONNX Runtime embeds ~39 passages/s here against torch's ~45 once torch is
# loaded (~10 s): torch only pays for itself beyond ~3,000 passages.
TORCH_FROM = 2000


class BuildEncoder:
    """Embedder-compatible: identity, tokens and vocabulary from the ONNX export, vectors from whichever is cheaper."""

    def __init__(self, model: str, fast: FastEncoder, device: str = "auto"):
        self.name = model
        self.device = device
        self._fast = fast
        self._torch: Embedder | None = None

    @property
    def loaded_torch(self) -> bool:
        return self._torch is not None

    @property
    def max_tokens(self) -> int:
        return self._fast.max_tokens

    @property
    def dimension(self) -> int:
        return self._fast.dimension

    def identity(self) -> ModelIdentity:
        fast = self._fast.identity()
        return ModelIdentity(self.name, fast.sha256, fast.dimension, fast.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._fast.count_tokens(texts)

    def vocabulary(self) -> set[str]:
        return self._fast.vocabulary()

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if len(set(texts)) < TORCH_FROM and self.device in ("auto", "cpu"):
            return self._fast.encode(texts, batch_size=batch_size)
        if self._torch is None:
            self._torch = Embedder(self.name, self.device)
        return self._torch.encode(texts, batch_size=batch_size, progress=progress)

    @property
    def model(self):
        """The torch model (loads it): only the ONNX export step asks, and it has one already."""
        if self._torch is None:
            self._torch = Embedder(self.name, self.device)
        return self._torch.model


def for_build(model: str, device: str = "auto") -> Embedder | BuildEncoder:
    """The encoder for a build of `model`: BuildEncoder when a checked export exists, else torch."""
    try:
        fast = open_fast(weights_sha256(resolve(model)))
    except Exception:  # the model is not on disk: Embedder says so, clearly, when it is used
        fast = None
    return BuildEncoder(model, fast, device) if fast is not None else Embedder(model, device)
