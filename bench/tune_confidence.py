"""Fit qa/confidence.py on what `ask` itself computes, and report what `qa eval --questions` will.

    python -m bench.tune_confidence [rescale|refit|report] --indexes DIR [--cache DIR]

bench/tune_answers.py `confidence` rebuilds the confidence's inputs from its
own collection; this asks every tuning and report question through
`Searcher.ask` and keeps the feature row the confidence was given, whether the
answer's passage was moved up, and whether the first passage *shown* holds a
gold answer (the label `qa eval` scores calibration against). A fit on these
rows is a fit of the running system, so its figures are the ones `qa eval`
prints, to rounding. Questions: as tune_answers (`datasets`): SQuAD-tune with
off-topic copies asked against the other articles, the three manuals, the
sample's questions, shared-word off-topic and tuning questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.tune_answers import REPORT, SQUAD, TUNE, _norm, balanced, datasets, logistic, squad_questions


def ask_rows(searcher, items: list[dict]) -> list[dict]:
    """Per question: the confidence's feature row and `led` as `ask` passed them, and the label."""
    from qa import confidence
    from qa import search

    seen: list = []
    real = confidence.probability
    real_match = search.type_match
    judged: list = []

    def match_spy(question, sentence):
        judged.append((question, sentence))
        return real_match(question, sentence)

    def spy(x, led=False):
        seen.append((np.asarray(x, dtype=np.float64).tolist(), bool(led)))
        return real(x, led)

    confidence.probability = spy
    search.type_match = match_spy
    out = []
    try:
        for n, it in enumerate(items):
            seen.clear()
            judged.clear()
            a = searcher.ask(it["q"], documents=it.get("documents"))
            if not seen:
                continue
            gold = [_norm(g) for g in it.get("gold", [])]
            first = bool(a.passages) and any(g in _norm(a.passages[0].text) for g in gold)
            x, led = seen[-1]
            out.append(dict(q=it["q"], corpus=it["corpus"], split=it.get("split", "test"), answerable=bool(gold),
                            x=x, led=led, first=first, p=a.confidence, shared=bool(it.get("shares")),
                            searched=judged[-1][0], sentence=judged[-1][1]))
            if n % 500 == 0:
                print(f"  {it['corpus']}: {n}/{len(items)}", file=sys.stderr, flush=True)
    finally:
        confidence.probability = real
        search.type_match = real_match
    return out


def load(indexes: Path, cache: Path) -> list[dict]:
    from qa.search import Searcher

    rows = []
    cache.mkdir(parents=True, exist_ok=True)
    for name, qs in datasets(squad_questions(SQUAD)).items():
        path = cache / f"asked-{name}.json"
        if not path.exists():
            path.write_text(json.dumps(ask_rows(Searcher(indexes / f"idx-{name}"), qs)))
        rows += json.loads(path.read_text())
    return rows


def probabilities(X: np.ndarray, led: np.ndarray, w: np.ndarray, led_weight: float) -> np.ndarray:
    z = X @ w[:-1] + w[-1] + led_weight * led
    return 1 / (1 + np.exp(-np.clip(z, -40, 40)))


def figures(rows: list[dict], p: np.ndarray, answer_at: float) -> dict:
    """Per corpus and split, as `qa eval --questions` prints them; the sample's report split is its two files."""
    from qa.evaluation import calibration_error

    corpus = np.array([r["corpus"] for r in rows])
    split = np.array([r["split"] for r in rows])
    real = np.array([r["answerable"] for r in rows])
    shared = np.array([r.get("shared", False) for r in rows])
    y = np.array([r["first"] for r in rows])
    sets = [(f"tune {c}", (corpus == c) & (split == s)) for c, s in TUNE.items()]
    sets += [(f"report {c}", (corpus == c) & (split == s) & (real | (c != "squad"))) for c, s in REPORT.items() if c != "sample"]
    sets += [("report sample questions", (corpus == "sample") & (split == "test") & ~shared),
             ("report sample shared-word", (corpus == "sample") & (split == "test") & shared)]
    out = {}
    for name, m in sets:
        if not m.any():
            continue
        ece = calibration_error(list(p[m]), list(y[m]))
        off = m & ~real
        out[name] = dict(ece=ece, real_refused=float(np.mean(p[m & real] < answer_at)) if (m & real).any() else 0.0,
                         off_refused=float(np.mean(p[off] < answer_at)) if off.any() else float("nan"))
        print(f"  {name:34s} n={m.sum():4d} ECE {ece:.3f} mean p {p[m].mean():.2f} right {y[m].mean():.2f}"
              f"  real refused {out[name]['real_refused']:.3f}"
              + (f"  off-topic refused {out[name]['off_refused']:.2f} (n={off.sum()})" if off.any() else ""))
    return out


def _arrays(rows: list[dict]):
    X = np.array([r["x"] for r in rows])
    led = np.array([r["led"] for r in rows], dtype=float)
    corpus = np.array([r["corpus"] for r in rows])
    real = np.array([r["answerable"] for r in rows])
    tune = np.array([TUNE[c] == r["split"] for c, r in zip(corpus, rows)])
    return X, led, corpus, tune, balanced(tune, corpus, real), np.array([r["first"] for r in rows], dtype=float)


def rescale(rows: list[dict]) -> None:
    """Fit z' = a*z + b (+ c when the answer's passage was moved up) on the current logit z.

    A monotone map: every question refused or answered stays so once ANSWER_AT
    is mapped too; only the probabilities a person reads move.
    """
    from qa import confidence

    X, led, _, tune, weight, y = _arrays(rows)
    z = X @ confidence.WEIGHTS[:-1] + confidence.WEIGHTS[-1] + confidence.LED_WEIGHT * led
    a, c, b = logistic(np.column_stack([z, led])[tune], y[tune], weight[tune], l2=0.0)
    weights = np.append(a * confidence.WEIGHTS[:-1], a * confidence.WEIGHTS[-1] + b)
    led_weight = a * confidence.LED_WEIGHT + c
    answer_at = 1 / (1 + np.exp(-(a * np.log(confidence.ANSWER_AT / (1 - confidence.ANSWER_AT)) + b)))
    print(f"a={a:.3f} b={b:.3f} c={c:.3f}")
    print("WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in weights) + "], dtype=np.float64)")
    print(f"LED_WEIGHT = {led_weight:.3f}\nANSWER_AT = {answer_at:.3f}  # maps {confidence.ANSWER_AT}")
    print("rescaled:")
    figures(rows, probabilities(X, led, np.round(weights, 3), round(led_weight, 3)), round(answer_at, 3))


def refit(rows: list[dict], l2: float) -> None:
    """All weights afresh (feature set and l2 judged by leaving one corpus out), thresholds on a grid."""
    from qa.evaluation import calibration_error

    X, led, corpus, tune, weight, y = _arrays(rows)
    Xl = np.column_stack([X, led])
    for l2_try in (1e-4, 3e-4, 1e-3, 3e-3):
        eces = []
        for held in TUNE:  # fit on four corpora, judge the fifth: does it transfer?
            tr, te = tune & (corpus != held), tune & (corpus == held)
            w = logistic(Xl[tr], y[tr], weight[tr], l2=l2_try)
            eces.append(calibration_error(list(1 / (1 + np.exp(-(Xl[te] @ w[:-1] + w[-1])))), list(y[te] > 0)))
        print(f"  l2 {l2_try:g}: held-out corpus ECE {np.mean(eces):.3f} ({', '.join(f'{e:.3f}' for e in eces)})")
    w = logistic(Xl[tune], y[tune], weight[tune], l2=l2)
    weights, led_weight = np.append(w[:-2], w[-1]), w[-2]
    print("WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in weights) + "], dtype=np.float64)")
    print(f"LED_WEIGHT = {led_weight:.3f}")
    p = probabilities(X, led, weights, led_weight)
    for t in (0.1, 0.15, 0.2, 0.25, 0.3):
        print(f"refitted, answer at {t}:")
        figures(rows, p, t)


def main(argv: list[str] | None = None) -> int:
    from qa import confidence

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", nargs="?", default="rescale", choices=["rescale", "refit", "report"])
    ap.add_argument("--indexes", default="/tmp/qwork", help="folder with idx-squad, idx-sample, idx-<manual>")
    ap.add_argument("--cache", default="/tmp/qwork/asked", help="asked rows per corpus (delete to ask again)")
    ap.add_argument("--l2", type=float, default=1e-3)
    args = ap.parse_args(argv)
    rows = load(Path(args.indexes), Path(args.cache))
    X, led = _arrays(rows)[:2]
    print("current weights:")
    figures(rows, probabilities(X, led, confidence.WEIGHTS, confidence.LED_WEIGHT), confidence.ANSWER_AT)
    if args.stage == "rescale":
        rescale(rows)
    elif args.stage == "refit":
        refit(rows, args.l2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
