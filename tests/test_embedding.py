"""The embedding model: devices, and the same vectors wherever it runs."""

from __future__ import annotations

import numpy as np
import pytest

import qa
from qa.embedding import Embedder, devices


def test_auto_means_the_cpu_on_a_machine_without_gpus():
    import torch

    expected = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else ["cpu"]
    assert devices("auto") in (expected, ["mps"])
    assert devices("cuda:1") == ["cuda:1"]


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "CPU", ""])
def test_unknown_devices_are_refused_with_the_choices(bad):
    with pytest.raises(qa.InvalidArgument, match="auto, cpu, cuda"):
        qa.Settings(device=bad)


def test_an_explicit_cpu_device_gives_the_same_vectors(embedder):
    texts = ["The okapi reserve was founded in 1992.", "Section 144(1) covers trafficking."]
    cpu = Embedder(device="cpu")
    assert cpu.devices == ["cpu"]
    assert np.allclose(cpu.encode(texts), embedder.encode(texts), atol=1e-6)
