"""Train the answer-sentence model's adapter (qa/models/sentence-minilm-l6-lora.safetensors).

    .venv/bin/python -m bench.train_sentence train     # ~22 min on 2 CPU cores
    .venv/bin/python -m bench.train_sentence choose    # its weight, on the held-out train articles (~15 min)

The same shape as the passage relevance model (bench/train_relevance.py: a
one-number head over the mean-pooled tokens of all-MiniLM-L6-v2, LoRA rank 16
on every linear layer of the encoder), read with one *sentence* instead of a
passage: the question, then the document's title line and the sentence. Each
training group is a question, the sentence of its paragraph that holds the
gold answer, and 7 that do not, drawn from the rest of its paragraph and from
the two paragraphs of its article that share most of its words (the
sentences a search puts beside it), with a softmax loss over the group.

Trained on the squad_tune *train* articles except FIT_ARTICLES: those four
(971 questions) are kept out so that the model's weight in the sentence
scorer can be fitted on questions it never saw (`choose`, below). 0.75
epochs (441 steps; the loss flattens by 200), 4 groups a step, AdamW at
5e-4 with 30 warm-up steps and a linear decay, seed 0.

`choose` asks every question of FIT_ARTICLES through `Searcher.ask` on a
squad_tune index (`qa index --documents ../shared/eval/squad_tune/documents
--index IDX`), keeps each candidate sentence's score without the model (the
fitted features and the reader), the model's logit and whether it holds a
gold answer, and prints the share of questions answered in the chosen
sentence at each weight. The reader was trained on these articles, so its
part (READER_WEIGHT) is held as it is: on them it is surer than on new text,
which can only make the chosen weight smaller.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from bench.train_relevance import NEGATIVES, train
from bench.tune_answers import SQUAD, squad_questions

OUT = Path(__file__).resolve().parent.parent / "qa" / "models" / "sentence-minilm-l6-lora.safetensors"
# Train articles held out of training to fit the model's weight on (4 of 11, by name).
FIT_ARTICLES = ("Economic_inequality.txt", "Immune_system.txt", "Oxygen.txt", "Scottish_Parliament.txt")
_WORD = re.compile(r"\w+")
_STOP = set("the a an of in on at to for by with is was were are be been what which who whom when where why how did "
            "do does and or that this as from it its".split())


def groups(folder: Path = SQUAD, seed: int = 0) -> list[tuple[str, list, list]]:
    from qa.text import sentences

    rng = random.Random(seed)
    corpus = {d["_id"]: d["text"] for d in map(json.loads, (folder / "beir/corpus.jsonl").read_text().splitlines())}
    by_article: dict[str, list[str]] = {}
    for pid in corpus:
        by_article.setdefault(pid.rsplit("_", 1)[0], []).append(pid)
    qrels = dict(line.split("\t")[:2] for line in (folder / "beir/qrels/test.tsv").read_text().splitlines()[1:])
    words = lambda t: {w for w in _WORD.findall(t.lower()) if w not in _STOP}  # noqa: E731
    out = []
    for item in squad_questions(folder):
        if item["split"] != "train" or item["doc"] in FIT_ARTICLES:
            continue
        title = (folder / "documents" / item["doc"]).read_text().split("\n", 1)[0].strip()
        paragraph = item["paragraph"]
        spans = [(s.start, s.end) for s in sentences(paragraph)]
        starts = [s for g in item["gold"] for s in item.get("answer_start", []) if paragraph[s:s + len(g)] == g]
        starts = starts or [paragraph.find(g) for g in item["gold"] if g in paragraph]
        if not starts:
            continue
        holds = lambda t: any(g in t for g in item["gold"])  # noqa: E731
        pos = [paragraph[a:b] for a, b in spans if a <= starts[0] < b and holds(paragraph[a:b])]
        if not pos:
            continue
        neg = [paragraph[a:b] for a, b in spans if not holds(paragraph[a:b])]
        q = words(item["q"])
        pid = qrels[item["id"]]
        others = sorted((p for p in by_article[pid.rsplit("_", 1)[0]] if p != pid), key=lambda p: -len(q & words(corpus[p])))
        for other in others[:2]:
            neg += [corpus[other][s.start:s.end] for s in sentences(corpus[other]) if not holds(corpus[other][s.start:s.end])]
        if len(neg) >= NEGATIVES:
            out.append((item["q"], [[item["doc"], title, s, 0.0] for s in pos],
                        [[item["doc"], title, s, 0.0] for s in neg]))
    rng.shuffle(out)
    return out


def candidates(index: Path, limit: int | None = None) -> list[dict]:
    """Per question of FIT_ARTICLES: each sentence the answer is chosen from (the leading passages'), with its
    score without the sentence model, the model's logit, and whether it holds a gold answer."""
    import numpy as np

    import qa.search
    from bench.tune_answers import _norm
    from qa.search import Searcher
    from qa.sentence_scorer import answer_sentences, sentence_scores

    seen: list = []

    def spy(encode, question, q, passages, scores=None, everything=False, marked=(), readings=(), judged=()):
        if judged and not seen:  # the call that chooses the answer
            zero = [np.zeros(len(x)) for x in judged]
            spans, base = sentence_scores(encode, question, q, passages, scores, everything, readings, zero)
            keep = [r for r, (i, _, _) in enumerate(spans) if i < len(judged)]
            logits = np.concatenate([np.asarray(x, dtype=np.float64) for x in judged])
            seen.append({"base": base[keep].tolist(), "logit": logits.tolist(),
                         "text": [passages[i].text[a:b] for i, a, b in (spans[r] for r in keep)]})
        return answer_sentences(encode, question, q, passages, scores, everything, marked, readings, judged)

    out = []
    qa.search.answer_sentences = spy
    try:
        searcher = Searcher(index)
        for item in squad_questions():
            if limit is not None and len(out) >= limit:
                break
            if item["doc"] in FIT_ARTICLES:
                seen.clear()
                searcher.ask(item["q"])
                if seen:
                    row = seen[0]
                    row["gold"] = [any(_norm(g) in _norm(t) for g in item["gold"]) for t in row.pop("text")]
                    out.append(row)
    finally:
        qa.search.answer_sentences = answer_sentences
    return out


def choose(rows: list[dict]) -> None:
    import numpy as np

    print(f"{len(rows)} questions of {', '.join(FIT_ARTICLES)}; answer in the chosen sentence:")
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
        right = sum(r["gold"][int(np.argmax(np.array(r["base"]) + weight * np.array(r["logit"])))] for r in rows)
        print(f"  weight {weight:<4}: {right / len(rows):.4f}")
    print(f"  any sentence: {np.mean([any(r['gold']) for r in rows]):.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["train", "choose"])
    ap.add_argument("--epochs", type=float, default=0.75)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--squad-index", type=Path, default=Path("/tmp/qwork/idx-squad"))
    ap.add_argument("--questions", type=int, help="choose: only the first N questions (a quick look)")
    args = ap.parse_args(argv)
    if args.stage == "choose":
        choose(candidates(args.squad_index, args.questions))
        return 0
    data = groups()
    print(f"{len(data)} groups")
    train(data, args.epochs, args.out,
          trained=f"bench/train_sentence.py: {len(data)} groups (squad_tune train, 7 of 11 articles), {args.epochs:g} epochs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
