"""Which sentences `ask` must never choose: the hard rule compared on the answer sentence's hit rate.

    .venv/bin/python -m bench.sentence_rules [--indexes /tmp/qwork] [--every 4]    # ~20 min on 2 cores

Every `--every`-th SQuAD-tune train question (bench/tune_answers.squad_split)
and every question of the manuals and the sample is asked through
`Searcher.ask`; each candidate sentence of the leading passages keeps its
score without the rule (the fitted features, the reader's and the sentence
model's parts). The share answered in the chosen sentence is printed for each
rule: "quarter" (under a quarter of its words new to the question, the rule
before 2026-11-25) and "none" (no new word: qa.sentence_scorer.never_chosen).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.tune_answers import MANUALS, ROOT, _norm, squad_questions


def rows(index: Path, items: list[dict]) -> list[list[tuple[float, bool, bool, bool]]]:
    """Per question, per candidate sentence: (its score without the rule, a heading, its novelty, holds gold)."""
    import qa.search as S
    from qa.sentence_scorer import NEVER_PENALTY, SENTENCE_FEATURES as F, never_chosen

    seen: dict = {}
    real = S.answer_sentences

    def spy(encode, question, q, passages, scores=None, everything=False, marked=(), readings=(), judged=()):
        if not marked:
            seen.update(passages=passages, encode=encode, question=question, q=q, scores=scores,
                        readings=readings, judged=judged, everything=everything)
        return real(encode, question, q, passages, scores, everything, marked, readings, judged)

    S.answer_sentences = spy
    from qa.sentence_scorer import sentence_matrix, sentence_scores, sentence_texts

    searcher, out = S.Searcher(index), []
    try:
        for it in items:
            searcher.ask(it["q"])
            s = seen
            spans, scores = sentence_scores(s["encode"], s["question"], s["q"], s["passages"], s["scores"],
                                            s["everything"], s["readings"], s["judged"])
            texts = sentence_texts(s["passages"])
            _, X = sentence_matrix(s["question"], s["passages"], s["encode"](texts) @ s["q"], list(s["scores"]))
            scores = scores + NEVER_PENALTY * never_chosen(X)  # the score before the rule
            gold = [_norm(g) for g in it["gold"]]
            out.append([(float(scores[r]), bool(X[r, F.index("heading")]), float(X[r, F.index("novelty")]),
                         any(g in _norm(texts[r]) for g in gold)) for r, (i, _, _) in enumerate(spans) if i < 3])
    finally:
        S.answer_sentences = real
    return out


def hit_rate(questions, rule) -> tuple[int, int]:
    hits = 0
    for cands in questions:
        if cands:
            best = max(cands, key=lambda c: c[0] - 100.0 * (c[1] or rule(c[2])))
            hits += best[3]
    return hits, len(questions)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--indexes", type=Path, default=Path("/tmp/qwork"))
    ap.add_argument("--every", type=int, default=4)
    args = ap.parse_args()
    train = [i for i in squad_questions() if i["split"] == "train" and i["gold"]][:: args.every]
    sets = {"squad train": ("squad", train)}
    for m in ("developers-reference", "debian-policy", "debian-reference"):
        qs = [json.loads(x) for x in (MANUALS / m / "questions.jsonl").read_text().splitlines() if x.strip()]
        sets[m] = (m, [q for q in qs if q.get("gold")])
    sample = [json.loads(x) for f in ("sample_questions.jsonl", "sample_tune.jsonl")
              for x in (ROOT / "tests" / "data" / f).read_text().splitlines() if x.strip()]
    sets["sample"] = ("sample", [q for q in sample if q.get("gold")])
    rules = {"quarter": lambda n: n < 0.25, "none": lambda n: n == 0}
    print(f"{'set':<22}" + "".join(f"{r:>14}" for r in rules))
    for name, (corpus, items) in sets.items():
        got = rows(args.indexes / f"idx-{corpus}", items)
        print(f"{name:<22}" + "".join(f"{'%d/%d' % hit_rate(got, rule):>14}" for rule in rules.values()), flush=True)


if __name__ == "__main__":
    main()
