"""The LoRA set-up the shipped adapters share (bench/train_reader.py, bench/train_relevance.py).

All-MiniLM-L6-v2 frozen, a low-rank pair (A, B) beside every linear layer of its
encoder, and a linear head over its hidden states; what is saved is the pairs
and the head only, as float16 safetensors (no pickle), with metadata that binds
them to the base model's weight hash (qa/reader_export.py merges them).
"""

from __future__ import annotations

from pathlib import Path


def lora_model(path: str, rank: int, alpha: int, outputs: int):
    """(model, {layer name: (A, B)}, head): the frozen model with its adapters hooked in, and the head."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(path)
    for p in bert.parameters():
        p.requires_grad = False
    adapters: dict[str, tuple] = {}
    for name, module in bert.named_modules():
        if isinstance(module, torch.nn.Linear) and name.startswith("encoder."):
            a = torch.nn.Parameter(torch.randn(rank, module.in_features) * 0.01)
            b = torch.nn.Parameter(torch.zeros(module.out_features, rank))
            adapters[name] = (a, b)
            module.register_forward_hook(lambda m, i, o, a=a, b=b: o + (i[0] @ a.t() @ b.t()) * (alpha / rank))
    return bert, adapters, torch.nn.Linear(bert.config.hidden_size, outputs)


def trainable(adapters: dict, head) -> list:
    return [p for ab in adapters.values() for p in ab] + list(head.parameters())


def save_adapter(out: Path, adapters: dict, head, meta: dict[str, str]) -> None:
    from safetensors.torch import save_file

    weights = {"head.weight": head.weight, "head.bias": head.bias}
    for name, (a, b) in adapters.items():
        weights[f"{name}.lora_A"], weights[f"{name}.lora_B"] = a, b
    save_file({k: v.detach().half().contiguous() for k, v in weights.items()}, str(out), metadata=meta)
