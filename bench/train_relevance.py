"""Train the passage relevance model's adapter (qa/models/relevance-minilm-l6-lora.safetensors) and choose its weight.

    .venv/bin/python -m bench.train_relevance train     # ~25 min on 2 CPU cores
    .venv/bin/python -m bench.train_relevance choose    # the weight and depth, on held-out train claims

A one-number head over the mean-pooled tokens of all-MiniLM-L6-v2, adapted
with LoRA (rank 16, alpha 32, every linear layer of the encoder; the model's
own weights stay frozen). Each training group is a question, one passage
that answers it and 7 that do not, drawn from the passages our own hybrid
search ranks highest for it (the passages the model will be asked to order:
the 7 from the best 30; the answering one from the best 30 for SQuAD, the
best 60 for SciFact, whose relevant abstract is more often further down),
with a softmax loss over the group:
  - SciFact *train* claims (4 in 5 of them, by a hash of the claim id; the
    fifth is held out to choose the weight), a passage of a relevant abstract
    against passages of other abstracts;
  - 1,000 squad_tune *train* questions, a passage holding a gold answer
    against passages that hold none.
1.5 epochs, 4 groups a step, AdamW at 5e-4 with 30 warm-up steps and a linear
decay, seed 0. Weights are float16 safetensors (no pickle) with the base
model's weight hash in the metadata.

The candidates come from indexes built by the normal pipeline: SciFact's by
`qa eval ../shared/eval/scifact` (its work folder), squad_tune's by
`qa index --documents ../shared/eval/squad_tune/documents --index IDX`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import zlib
from pathlib import Path

from bench.lora import lora_model, save_adapter, trainable
from bench.tune_answers import SQUAD, squad_questions

SCIFACT = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "scifact"
OUT = Path(__file__).resolve().parent.parent / "qa" / "models" / "relevance-minilm-l6-lora.safetensors"
RANK, ALPHA, NEGATIVES, GROUPS, SQUAD_QUESTIONS, POOL = 16, 32, 7, 4, 1000, 30


def held_out(qid: str) -> bool:
    """The fifth of SciFact's train claims kept out of training, to choose the weight on."""
    return zlib.crc32(qid.encode()) % 5 == 0


def scifact_candidates(split: str, work: Path | None = None) -> list[dict]:
    from qa.evaluation import file_name, read_beir, work_dir
    from qa.search import Searcher

    corpus, queries, qrels = read_beir(SCIFACT, split)
    names = {file_name(d): d for d in corpus}
    searcher = Searcher((work or work_dir(SCIFACT)) / "index", reranker=_Off())
    out = []
    for qid, text in queries.items():
        passages, scores = searcher.rank(text, depth=800)
        out.append({"qid": qid, "q": text, "rel": qrels[qid],
                    "cands": [[names.get(p.document), p.title, p.text, float(s)] for p, s in zip(passages[:60], scores)]})
    return out


def squad_candidates(index: Path, split: str = "train") -> list[dict]:
    from qa.search import Searcher

    searcher = Searcher(index, reranker=_Off())
    return [{"q": i["q"], "gold": i["gold"],
             "cands": [[p.document, p.title, p.text, float(s)] for p, s in zip(*searcher.rank(i["q"], depth=POOL))]}
            for i in squad_questions(SQUAD) if i["split"] == split]


class _Off:
    """A `reranker` that keeps the second stage's order: candidates as the hybrid search ranks them."""

    def order(self, question, texts):
        return list(range(len(texts)))


def text(c) -> str:
    return f"{c[1]}\n{c[2]}" if c[1] else c[2]


def groups(scifact: list[dict], squad: list[dict]) -> list[tuple[str, list, list]]:
    out = []
    for d in scifact:
        pos = [c for c in d["cands"] if c[0] in d["rel"]]
        neg = [c for c in d["cands"][:POOL] if c[0] not in d["rel"]]
        if not held_out(d["qid"]) and pos and len(neg) >= NEGATIVES:
            out.append((d["q"], pos, neg))
    picked = list(squad)
    random.Random(1).shuffle(picked)
    for d in picked[:SQUAD_QUESTIONS]:
        pos = [c for c in d["cands"][:POOL] if any(g in c[2] for g in d["gold"])]
        neg = [c for c in d["cands"][:POOL] if not any(g in c[2] for g in d["gold"])]
        if pos and len(neg) >= NEGATIVES:
            out.append((d["q"], pos, neg))
    return out


def train(data: list[tuple[str, list, list]], epochs: float = 1.5, out: Path = OUT, trained: str | None = None) -> None:
    """Fit the adapter on (question, answering candidates, other candidates) groups; `trained` says how, in its metadata."""
    import torch
    from transformers import AutoTokenizer

    from qa.embedding import Embedder
    from qa.relevance import MAX_TOKENS
    from qa.settings import DEFAULT_MODEL

    torch.set_num_threads(2)
    rng = random.Random(0)
    torch.manual_seed(0)
    embedder = Embedder(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(embedder.resolved)
    bert, adapters, head = lora_model(embedder.resolved, RANK, ALPHA, 1)
    params = trainable(adapters, head)
    total = int(epochs * math.ceil(len(data) / GROUPS))
    opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, s / 30) * max(0.0, 1 - s / total))
    bert.train()
    step, started = 0, time.time()
    while step < total:
        rng.shuffle(data)
        for k in range(0, len(data), GROUPS):
            batch, questions, passages = data[k:k + GROUPS], [], []
            for q, pos, neg in batch:
                questions += [q] * (NEGATIVES + 1)
                passages += [text(rng.choice(pos))] + [text(c) for c in rng.sample(neg, NEGATIVES)]
            enc = tokenizer(questions, passages, truncation="only_second", max_length=MAX_TOKENS, padding=True,
                            return_tensors="pt")
            states = bert(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            scores = head((states * mask).sum(1) / mask.sum(1)).view(len(batch), NEGATIVES + 1)
            loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(batch), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 20 == 0:
                print(f"step {step}/{total}  loss {loss.item():.3f}  {time.time() - started:.0f} s", flush=True)
            if step >= total:
                break
    meta = {"format": "qa-relevance-lora-1", "base_model": DEFAULT_MODEL,
            "base_model_sha256": embedder.identity().sha256, "rank": str(RANK), "alpha": str(ALPHA),
            "max_length": str(MAX_TOKENS),
            "trained": trained or f"bench/train_relevance.py: {len(data)} groups (SciFact train 4/5, squad_tune train), {epochs:g} epochs"}
    save_adapter(out, adapters, head, meta)
    print(f"wrote {out} ({out.stat().st_size:,} bytes) in {time.time() - started:.0f} s")


def choose(scifact: list[dict]) -> None:
    """nDCG@10 of the held-out train claims over depths and weights (the shipped model, exported by `qa index`)."""
    import numpy as np

    from qa.embedding import Embedder
    from qa.evaluation import ndcg_at
    from qa.reader import open_reader
    from qa.settings import DEFAULT_MODEL

    model = open_reader(Embedder(DEFAULT_MODEL).identity().sha256, "relevance")
    if model is None:
        raise SystemExit("No relevance export for the default model: run qa index first.")
    held = [d for d in scifact if held_out(d["qid"])]
    for d in held:
        d["ce"] = model.scores(d["q"], [text(c) for c in d["cands"][:POOL]]).tolist()
    print(f"{len(held)} held-out SciFact train claims, nDCG@10:")
    for depth in (10, 20, 30):
        row = []
        for weight in (0.0, 0.01, 0.02, 0.03, 0.05, 0.1):
            total = 0.0
            for d in held:
                s = np.array([c[3] for c in d["cands"]]) - np.where(np.arange(len(d["cands"])) < depth, 0, 1e3)
                s[:depth] += weight * np.array(d["ce"][:depth])
                ranked = list(dict.fromkeys(d["cands"][i][0] for i in np.argsort(-s, kind="stable")))
                total += ndcg_at(ranked[:10], d["rel"])
            row.append(f"w {weight:<4}: {total / len(held):.4f}")
        print(f"depth {depth}: " + "  ".join(row))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["train", "choose"])
    ap.add_argument("--squad-index", type=Path, default=Path("/tmp/qwork/idx-squad"))
    ap.add_argument("--epochs", type=float, default=1.5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.stage == "choose":
        choose(scifact_candidates("train"))
    else:
        train(groups(scifact_candidates("train"), squad_candidates(args.squad_index)), args.epochs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
