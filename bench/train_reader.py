"""Train the extractive reader's adapter (qa/models/reader-minilm-l6-lora.safetensors).

    .venv/bin/python -m bench.train_reader            # ~25 min on 2 CPU cores

A span-extraction head (start/end logits per token) over all-MiniLM-L6-v2,
adapted with LoRA (rank 16, alpha 32, on every linear layer of the encoder;
the model's own weights stay frozen), trained on the squad_tune *train*
articles only (bench/tune_answers.squad_split: 11 of 16 articles, 3,410
questions). Each question is read once with its own paragraph (target: the
gold answer's tokens) and once with another paragraph of its article, the one
sharing most of its words 70% of the time (target: [CLS], "no answer here"),
so the reader's "no answer" score means something across passages. 2 epochs,
batch 16, AdamW at 1e-3 with 100 warm-up steps and a linear decay, seed 0.

Weights are stored as float16 safetensors (no pickle), with the base model's
weight hash in the metadata: qa.reader uses them only with those weights.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from pathlib import Path

from bench.lora import lora_model, save_adapter, trainable
from bench.tune_answers import SQUAD, squad_split

OUT = Path(__file__).resolve().parent.parent / "qa" / "models" / "reader-minilm-l6-lora.safetensors"
MAX_TOKENS, RANK, ALPHA = 320, 16, 32
_WORD = re.compile(r"\w+")
_STOP = set("the a an of in on at to for by with is was were are be been what which who whom when where why how did "
            "do does and or that this as from it its".split())


def examples(tokenizer, folder: Path = SQUAD, split: str = "train", seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    items = [json.loads(x) for x in (folder / "questions.jsonl").read_text().splitlines() if x.strip()]
    articles = sorted({i["doc"] for i in items})
    qrels = dict(line.split("\t")[:2] for line in (folder / "beir/qrels/test.tsv").read_text().splitlines()[1:])
    corpus = {d["_id"]: d["text"] for d in map(json.loads, (folder / "beir/corpus.jsonl").read_text().splitlines())}
    by_article: dict[str, list[str]] = {}
    for pid in corpus:
        by_article.setdefault(pid.rsplit("_", 1)[0], []).append(pid)
    words = lambda t: {w for w in _WORD.findall(t.lower()) if w not in _STOP}  # noqa: E731

    def encode(question, context, answer=None):
        e = tokenizer(question, context, truncation="only_second", max_length=MAX_TOKENS, return_offsets_mapping=True)
        offsets, seq = e.pop("offset_mapping"), e.sequence_ids()
        start = end = 0
        if answer is not None:
            a0, a1 = answer
            inside = [k for k, (o, s) in enumerate(zip(offsets, seq)) if s == 1 and o[1] > a0 and o[0] < a1]
            if not inside:
                return None  # the answer lies past the window
            start, end = inside[0], inside[-1]
        return dict(e, start=start, end=end)

    out = []
    for i in items:
        if squad_split(i["doc"], articles) != split:
            continue
        pid = qrels[i["id"]]
        context = corpus[pid]
        hits = [(s, g) for g in i["gold"] for s in i["answer_start"] if context[s:s + len(g)] == g]
        hits = hits or [(context.find(g), g) for g in i["gold"] if g in context]
        if not hits:
            continue
        s, g = hits[0]
        ex = encode(i["q"], context, (s, s + len(g)))
        if ex:
            out.append(ex)
        q = words(i["q"])
        others = sorted((p for p in by_article[pid.rsplit("_", 1)[0]] if p != pid), key=lambda p: -len(q & words(corpus[p])))
        if others:
            out.append(encode(i["q"], corpus[others[0] if rng.random() < 0.7 else rng.choice(others)]))
    return out


def train(epochs: float = 2.0, out: Path = OUT) -> None:
    import torch
    from transformers import AutoTokenizer

    from qa.embedding import Embedder
    from qa.settings import DEFAULT_MODEL

    torch.set_num_threads(2)
    random.seed(0)
    torch.manual_seed(0)
    embedder = Embedder(DEFAULT_MODEL)
    path = embedder.resolved
    tokenizer = AutoTokenizer.from_pretrained(path)
    data = examples(tokenizer)
    bert, adapters, head = lora_model(path, RANK, ALPHA, 2)
    params = trainable(adapters, head)
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    total = int(epochs * math.ceil(len(data) / 16))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, s / 100) * max(0.0, 1 - s / total))
    loss_of = torch.nn.CrossEntropyLoss()
    bert.train()
    step, started = 0, time.time()
    while step < total:
        order = list(range(len(data)))
        random.shuffle(order)
        chunks = [sorted(order[k:k + 320], key=lambda j: len(data[j]["input_ids"])) for k in range(0, len(order), 320)]
        batches = [c[k:k + 16] for c in chunks for k in range(0, len(c), 16)]
        random.shuffle(batches)
        for batch in batches:
            n = max(len(data[j]["input_ids"]) for j in batch)
            pad = lambda key: torch.tensor([data[j][key] + [0] * (n - len(data[j][key])) for j in batch])  # noqa: E731
            mask = pad("attention_mask")
            logits = head(bert(input_ids=pad("input_ids"), attention_mask=mask, token_type_ids=pad("token_type_ids"))
                          .last_hidden_state)
            blocked = (1 - mask) * -1e4
            loss = (loss_of(logits[..., 0] + blocked, torch.tensor([data[j]["start"] for j in batch]))
                    + loss_of(logits[..., 1] + blocked, torch.tensor([data[j]["end"] for j in batch]))) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{total}  loss {loss.item():.3f}  {time.time() - started:.0f} s", flush=True)
            if step >= total:
                break
    meta = {"format": "qa-reader-lora-1", "base_model": DEFAULT_MODEL, "base_model_sha256": embedder.identity().sha256,
            "rank": str(RANK), "alpha": str(ALPHA), "max_length": "384",
            "trained": f"bench/train_reader.py: squad_tune train articles ({len(data)} examples), {epochs:g} epochs"}
    save_adapter(out, adapters, head, meta)
    print(f"wrote {out} ({out.stat().st_size:,} bytes) in {time.time() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    train(args.epochs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
