"""The OpenVINO row of `python -m bench.embed_runtimes`; runs in a venv that has openvino, prints one JSON line.

OpenVINO is not a dependency of qa and is kept out of its venv; this script
needs only openvino, tokenizers and numpy, and never imports qa.

    python bench/openvino_side.py --onnx MODEL.onnx --tokenizer tokenizer.json --texts T.json \
        --threads 2 --batch 16 --precision f32 --vectors OUT.npy

Encodes the texts exactly as qa.fast_encoder does (the same tokenizer.json,
length-sorted batches, mean pooling over the attention mask, unit length),
once to warm up on the first batch and once timed, and saves the vectors in
input order for the agreement check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _name(value) -> str:
    to_string = getattr(value, "to_string", None)
    return to_string() if callable(to_string) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--precision", default="f32", help="f32, or 'default' for OpenVINO's own choice on this CPU")
    parser.add_argument("--vectors", required=True)
    args = parser.parse_args()

    import openvino as ov
    from tokenizers import Tokenizer

    texts = json.loads(open(args.texts, encoding="utf-8").read())
    tok = Tokenizer.from_file(args.tokenizer)
    tok.enable_truncation(args.max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    t = time.perf_counter()
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": args.threads}
    if args.precision != "default":
        config["INFERENCE_PRECISION_HINT"] = args.precision
    compiled = core.compile_model(args.onnx, "CPU", config)
    request = compiled.create_infer_request()
    names = [p.get_any_name() for p in compiled.inputs]
    load_s = time.perf_counter() - t

    def batch(chunk: list[str]) -> np.ndarray:
        enc = tok.encode_batch(chunk)
        arrays = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        hidden = request.infer({n: arrays[n] for n in names})[compiled.outputs[0]]
        mask = arrays["attention_mask"][:, :, None].astype(np.float32)
        v = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    warm = batch([texts[i] for i in order[: args.batch]])  # warm-up
    t = time.perf_counter()
    out = np.zeros((len(texts), warm.shape[1]), dtype=np.float32)
    for s in range(0, len(order), args.batch):
        idx = order[s : s + args.batch]
        out[idx] = batch([texts[i] for i in idx])
    seconds = time.perf_counter() - t
    np.save(args.vectors, out, allow_pickle=False)
    print(json.dumps({"seconds": seconds, "load_s": round(load_s, 2), "openvino": ov.__version__,
                      "precision": _name(compiled.get_property("INFERENCE_PRECISION_HINT")),
                      "threads": compiled.get_property("INFERENCE_NUM_THREADS")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
