"""Fit the answer-picking constants of qa/span.py, qa/answer.py and qa/confidence.py.

    python -m bench.tune_answers span        # short-answer scorer (SQuAD-tune train articles)
    python -m bench.tune_answers sentence    # sentence scorer (needs the squad index, see --help)
    python -m bench.tune_answers confidence  # "not found" probability and thresholds
    python -m bench.tune_answers scope       # what the out-of-scope rule refuses, over every question set

Every fit uses tuning data only: the SQuAD-tune *train* articles (squad_split),
the manuals' "split": "tune" questions, and tests/data/sample_offtopic.jsonl.
Each stage prints the constants to paste into the module and the figures on
its own training data; reported figures come from `qa eval --questions` on
the dev/test files (bench/tune_answers.py dev writes the dev file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "squad_tune"
ROOT = Path(__file__).resolve().parent.parent


def squad_split(doc: str, articles: list[str]) -> str:
    """'dev' for every third article in name order starting with the second (5 of 16), else 'train'."""
    return "dev" if sorted(articles).index(doc) % 3 == 1 else "train"


def squad_questions(folder: Path = SQUAD) -> list[dict]:
    items = [json.loads(x) for x in (folder / "questions.jsonl").read_text().splitlines() if x.strip()]
    articles = sorted({i["doc"] for i in items})
    qrels = {}
    for line in (folder / "beir" / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, pid, _ = line.split("\t")
        qrels[qid] = pid
    corpus = {}
    for line in (folder / "beir" / "corpus.jsonl").read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            corpus[d["_id"]] = d["text"]
    for i in items:
        i["split"] = squad_split(i["doc"], articles)
        i["paragraph"] = corpus[qrels[i["id"]]]
    return items


def conditional_logit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 1e-3) -> np.ndarray:
    """Weights w maximising sum over groups of log(sum of softmax(X w) over the target rows)."""
    from scipy.optimize import minimize

    dim = groups[0][0].shape[1]

    def loss(w):
        total, grad = 0.0, np.zeros(dim)
        for X, target in groups:
            z = X @ w
            z = z - z.max()
            e = np.exp(z)
            p = e / e.sum()
            if target.dtype == bool:  # any of the target rows
                pt = p[target].sum()
                total -= np.log(pt + 1e-12)
                q = np.where(target, p / max(pt, 1e-12), 0.0)
            else:  # cross-entropy against a target distribution
                q = target
                total -= q @ np.log(p + 1e-12)
            grad -= X.T @ (q - p)
        n = len(groups)
        return total / n + l2 * w @ w, grad / n + 2 * l2 * w

    return minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B").x


def logistic(X: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weighted logistic regression; the last weight is the intercept."""
    from scipy.optimize import minimize

    X1 = np.hstack([X, np.ones((len(X), 1))])
    weight = weight / weight.sum()

    def loss(w):
        z = X1 @ w
        p = 1 / (1 + np.exp(-z))
        ll = -(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum()
        reg = l2 * (w[:-1] @ w[:-1])
        return ll + reg, X1.T @ (weight * (p - y)) + np.r_[2 * l2 * w[:-1], 0.0]

    return minimize(loss, np.zeros(X1.shape[1]), jac=True, method="L-BFGS-B").x


# Short answers ----------------------------------------------------------------------------


def span_groups(items: list[dict]):
    """Per question: candidate features, F1 of each candidate, and the gold-holding sentence."""
    from qa import span
    from qa.evaluation import token_f1
    from qa.text import sentences

    out = []
    for it in items:
        par, start = it["paragraph"], it["answer_start"][0]
        sent = next(((s.start, s.end) for s in sentences(par) if s.start <= start < s.end), None)
        if sent is None or span.span_kind(it["q"]) is None:
            continue
        text = par[sent[0] : sent[1]]
        cands = span.candidates(text, it["q"])
        if not cands:
            continue
        f1 = np.array([token_f1(text[a:b], it["gold"]) for a, b, _ in cands])
        out.append((span.features(it["q"], text, cands), f1, it, text, cands))
    return out


def span_on_sentences(pairs) -> dict:
    """Short-answer EM/F1 (no span scores 0, as in `qa eval --questions`) over (question, sentence, gold) triples."""
    from qa import span
    from qa.evaluation import exact_match, token_f1

    em = f1 = shown = 0.0
    for q, sentence, gold in pairs:
        s = span.best_span(q, sentence)
        if s is not None:
            shown += 1
            em += exact_match(s.text, gold)
            f1 += token_f1(s.text, gold)
    n = max(1, len(pairs))
    return {"n": len(pairs), "exact_match": round(em / n, 3), "f1": round(f1 / n, 3), "spans_shown": round(shown / n, 3)}


def gold_sentences(items: list[dict]) -> list[tuple[str, str, list[str]]]:
    """(question, the paragraph's sentence holding the first gold answer, gold) per question."""
    from qa.text import sentences

    out = []
    for it in items:
        par, start = it["paragraph"], it["answer_start"][0]
        sent = next(((s.start, s.end) for s in sentences(par) if s.start <= start < s.end), None)
        if sent is not None:
            out.append((it["q"], par[sent[0] : sent[1]], it["gold"]))
    return out


def chosen_sentences(cache: Path, split: str) -> list[tuple[str, str, list[str]]]:
    """(question, the sentence `ask` chooses, gold) per answerable SQuAD question, from the collected cache.

    The sentence scorer's span_strength column is recomputed with the current span weights: it is what
    `ask` would see. Questions the confidence refuses are counted as answered (under 1% on dev).
    """
    from qa import answer as ans
    from qa import span

    F = ans.SENTENCE_FEATURES
    out = []
    for d in _load_rows(cache.with_name(f"{cache.stem}-squad.json")):
        if d["split"] != split or not d["answerable"] or not d["sentences"]:
            continue
        X = d["X"]
        X[:, F.index("span_strength")] = [span.span_strength(d["q"], s, span.wanted(d["q"])) for s in d["sentences"]]
        out.append((d["q"], d["sentences"][chosen_row(d, ans.SENTENCE_WEIGHTS)], d["gold"]))
    return out


def fit_span(items: list[dict], cache: Path | None = None) -> None:
    from qa import span

    train = span_groups([i for i in items if i["split"] == "train"])
    groups = [(X, f1 >= f1.max() - 1e-9) for X, f1, *_ in train if f1.max() > 0]
    # l2 1e-4: best of 1e-4..1e-2 in 3-fold cross-validation by article inside train (F1 0.526 vs 0.520 at 1e-3)
    w = conditional_logit(groups, l2=1e-4)
    print("span.WEIGHTS = np.array([" + ", ".join(f"{x:.3f}" for x in w) + "], dtype=np.float32)")
    print("  features:", ", ".join(f"{n}={x:+.2f}" for n, x in zip(span.FEATURES, w)))
    best_f1 = np.mean([f1.max() for _, f1, *_ in train])
    probs, f1s = [], []
    for X, f1, *_ in train:
        z = X @ w
        p = np.exp(z - z.max())
        p /= p.sum()
        i = int(np.argmax(p))
        probs.append(p[i])
        f1s.append(f1[i])
    probs, f1s = np.array(probs), np.array(f1s)
    kinds = np.array([span.span_kind(it["q"]) for _, _, it, _, _ in train])
    print("  F1 by kind:", ", ".join(f"{k} {f1s[kinds == k].mean():.2f} (n={int((kinds == k).sum())})" for k in span.KINDS))
    print(f"train, gold sentence given: {len(train)} questions, oracle F1 {best_f1:.3f}, picked F1 {f1s.mean():.3f}")
    for t in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
        kept = probs >= t
        print(f"  MIN_PROBABILITY {t:.2f}: spans shown {kept.mean():.3f}, F1 where shown {f1s[kept].mean():.3f}, "
              f"F1 counting withheld as 0 {np.where(kept, f1s, 0).mean():.3f}")
    # What qa/span.py does with these weights (paste them first to see the fitted ones): dev is read, never fitted.
    before, span.WEIGHTS = span.WEIGHTS, w.astype(np.float32)  # also when FEATURES changed since the last paste
    span._scored.cache_clear()  # logits remembered under the old weights
    try:
        for split in ("train", "dev"):
            print(f"{split}, gold sentence given (all questions, no span = 0):",
                  span_on_sentences(gold_sentences([i for i in items if i["split"] == split])))
        if cache is not None and cache.with_name(f"{cache.stem}-squad.json").exists():
            chosen = chosen_sentences(cache, "dev")
            right = np.mean([any(g.lower() in s.lower() for g in gold) for _, s, gold in chosen])
            print(f"dev, sentence as ask chooses it (gold in it {right:.3f}):", span_on_sentences(chosen))
    finally:
        span.WEIGHTS = before
        span._scored.cache_clear()


# Sentences and confidence: one pass over each tuning set collects everything both fits need ----------


MANUALS = ROOT / "tests" / "data" / "manuals"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


class CachedEncoder:
    """The searcher's encoder with every sentence vector kept: questions share paragraphs."""

    def __init__(self, encode):
        self._encode, self._memo = encode, {}

    def __call__(self, texts):
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            for t, v in zip(todo, self._encode(todo)):
                self._memo[t] = v
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def collect(searcher, items: list[dict], encode, k: int = 5) -> list[dict]:
    """Per question: sentence feature rows of the top 3 passages with gold labels, and confidence inputs.

    `first` is the first passage before `ask` may move the answer's passage up
    (`qa.ranking.answer_leads`): the confidence is computed, and fitted, on that order.
    """
    from qa import answer as ans
    from qa import confidence
    from qa.ranking import candidates, collapse, rescore
    from qa.search import normalise_question
    
    index = searcher.generation.index
    out = []
    for n, it in enumerate(items):
        question = normalise_question(it["q"])
        docs = it.get("documents")
        q = encode([question])[0]
        rows, fused, dense = candidates(index, question, q, k, docs)
        fused_of = dict(zip(rows, fused))
        rows, scores, dense = rescore(searcher.generation, rows, fused, dense, q)  # as `ask` ranks
        sim = dict(zip(rows, dense))
        hits = collapse(index, rows, scores, k)
        if not hits:
            continue
        passages = [index.passage(r) for r, _, _ in hits]
        gold = [_norm(g) for g in it.get("gold", [])]
        has = lambda t: any(g in _norm(t) for g in gold)  # noqa: E731
        # as in `ask`: the sentences of all k passages are scored together; the answer comes from the top 3
        texts = [p.text[a:b] for p in passages for a, b, _, _ in p.sentences]
        spans, X = ans.sentence_matrix(question, passages, encode(texts) @ q if texts else np.zeros(0),
                                       [fused_of[h[0]] for h in hits])
        # every passage's sentences are kept, with their passage's rank: the fit can try answering from more of them
        pidx = [i for i, _, _ in spans]
        y = [has(t) for t in texts]
        top_rows = [r for r, _, _ in hits]
        rare = confidence.rare_terms(index, question, top_rows[0], docs, rows[:100])
        foreign = confidence.foreign_name(index, question, rows[: confidence.NAMES_IN])
        out.append(dict(q=question, corpus=it["corpus"], split=it["split"], answerable=bool(gold), X=np.array(X),
                        y=np.array(y, dtype=bool), first=has(passages[0].text), top3=any(has(p.text) for p in passages[:3]),
                        top5=any(has(p.text) for p in passages[:5]), top_dense=[sim[r] for r in top_rows],
                        pool=list(fused[:20]), rare=rare, foreign=foreign, size=len(index) if docs is None else len(index.rows_of(docs)),
                        rows=list(rows[:100]), top_rows=top_rows, gold=it.get("gold", []),
                        sentences=texts, pidx=pidx))
        if n % 500 == 0:
            print(f"  {it['corpus']}: {n}/{len(items)}", file=sys.stderr)
    return out


def datasets(items: list[dict], negatives_per_article: int = 40) -> dict[str, list[dict]]:
    """Question sets by corpus (index folder name -> questions with split and corpus)."""
    sets: dict[str, list[dict]] = {}
    articles = sorted({i["doc"] for i in items})
    squad = [dict(i, corpus="squad") for i in items]
    rng = np.random.default_rng(0)
    for a in articles:  # off-topic: an article's questions against the other articles only
        own = [i for i in items if i["doc"] == a]
        for j in rng.choice(len(own), min(negatives_per_article, len(own)), replace=False):
            squad.append(dict(own[j], gold=[], corpus="squad", documents=[x for x in articles if x != a]))
    sets["squad"] = squad
    for m in ("developers-reference", "debian-policy", "debian-reference"):
        lines = (MANUALS / m / "questions.jsonl").read_text().splitlines()
        sets[m] = [dict(json.loads(x), corpus=m) for x in lines if x.strip()]
    sample = [dict(json.loads(x), corpus="sample", split="test") for x in
              (ROOT / "tests" / "data" / "sample_questions.jsonl").read_text().splitlines() if x.strip()]
    for extra in ("sample_offtopic.jsonl", "sample_tune.jsonl"):  # shared-word off-topic; real tuning questions
        sample += [dict(json.loads(x), corpus="sample") for x in
                   (ROOT / "tests" / "data" / extra).read_text().splitlines() if x.strip()]
    sets["sample"] = sample
    return sets


def _save_rows(path: Path, rows: list[dict]) -> None:
    """Collected rows as JSON: no pickle anywhere, not even in a tuning cache."""
    def plain(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(type(o))

    path.write_text(json.dumps(rows, default=plain))


def _load_rows(path: Path, passages: int = 3) -> list[dict]:
    """Rows with the sentences of the first `passages` passages (`ask` answers from the top 3)."""
    rows = json.loads(path.read_text())
    for r in rows:
        r["X"] = np.array(r["X"], dtype=np.float64).reshape(len(r["y"]), -1)
        r["y"] = np.array(r["y"], dtype=bool)
        keep = np.asarray(r.get("pidx", [0] * len(r["y"])), dtype=int) < passages
        r["X"], r["y"], r["sentences"] = r["X"][keep], r["y"][keep], [t for t, k in zip(r["sentences"], keep) if k]
    return rows


def _load_memo(path: Path) -> dict:
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as z:
        return dict(zip(json.loads(str(z["texts"])), z["vectors"]))


def _save_memo(path: Path, memo: dict) -> None:
    texts = list(memo)
    vectors = np.stack([memo[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
    with path.open("wb") as f:
        np.savez(f, texts=np.array(json.dumps(texts)), vectors=vectors)


def load_collected(indexes: Path, items: list[dict], cache: Path, passages: int = 3) -> list[dict]:
    """Collected rows of every tuning set, cached per set (delete a set's file to collect it again)."""
    from qa.search import Searcher

    data = []
    for name, qs in datasets(items).items():
        path = cache.with_name(f"{cache.stem}-{name}.json")
        if not path.exists():
            searcher = Searcher(indexes / f"idx-{name}")
            encoder = CachedEncoder(searcher.embedder.encode)
            memo = cache.with_name(f"vectors-{name}.npz")  # sentence vectors survive a change of features
            encoder._memo = _load_memo(memo)
            _save_rows(path, collect(searcher, qs, encoder))
            _save_memo(memo, encoder._memo)
        data += _load_rows(path, passages)
    return data


def chosen_row(d: dict, weights: np.ndarray) -> int:
    """The row `ask` chooses: the best score, a heading or restating sentence last."""
    from qa import answer as ans
    from qa.sentence_scorer import never_chosen

    return int(np.argmax(d["X"] @ weights - ans.NEVER_PENALTY * never_chosen(d["X"])))


def fit_sentence(data: list[dict], l2: float = 1e-5) -> np.ndarray:
    """Conditional logit on SQuAD-tune train: the gold-holding sentences against the others of the top passages.

    l2 1e-5: best of 1e-3/1e-4/1e-5 in 3-fold cross-validation by article inside train (2026-11-23:
    gold in the chosen sentence 0.776 / 0.782 / 0.784).
    """
    from qa import answer as ans

    train = [d for d in data if d["corpus"] == "squad" and d["split"] == "train" and d["answerable"] and d["y"].any()]
    w = conditional_logit([(d["X"], d["y"]) for d in train], l2=l2)
    print("SENTENCE_WEIGHTS = np.array([" + ", ".join(f"{x:.3f}" for x in w) + "], dtype=np.float32)")
    print("  features:", ", ".join(f"{n}={x:+.2f}" for n, x in zip(ans.SENTENCE_FEATURES, w)))
    for name, ws in (("current", ans.SENTENCE_WEIGHTS), ("fitted", w)):
        for corpus, split in (("squad", "train"), ("squad", "dev"), ("developers-reference", "tune"),
                              ("debian-policy", "tune"), ("debian-reference", "tune"), ("sample", "test")):
            ds = [d for d in data if d["corpus"] == corpus and d["split"] == split and d["answerable"]]
            right = np.mean([d["y"][chosen_row(d, ws)] for d in ds if len(d["y"])] or [np.nan])
            print(f"  {name:8s} {corpus}/{split}: answer in chosen sentence {right:.3f} (n={len(ds)})")
    return w

def confidence_rows(data: list[dict], sentence_weights: np.ndarray):
    """(features, label = the top passage holds a gold answer, corpus, split, answerable) per question."""
    from qa import answer as ans
    from qa import confidence

    X, y, corpus, split, answerable = [], [], [], [], []
    for d in data:
        chosen = d["X"][int(np.argmax(d["X"] @ sentence_weights))] if len(d["X"]) else np.zeros(len(ans.SENTENCE_FEATURES))
        pool = np.asarray(d["pool"], dtype=np.float64)
        in_top, in_corpus, all_known = d["rare"]
        if "foreign" not in d:
            raise SystemExit("the collected cache predates the foreign-name feature: delete its collected-*.json and run again")
        X.append([d["top_dense"][0], max(d["top_dense"][:3]), pool[0], pool[0] - float(np.median(pool)), in_top,
                  chosen[0], chosen[2], confidence.missing(in_corpus, d["size"]),
                  d["foreign"] * confidence.names_weight(d["size"])])
        y.append(d["answerable"] and d["first"])
        corpus.append(d["corpus"])
        split.append(d["split"])
        answerable.append(d["answerable"])
    assert len(X[0]) == len(confidence.FEATURES)
    return np.array(X), np.array(y, dtype=float), np.array(corpus), np.array(split), np.array(answerable)


TUNE = {"squad": "train", "developers-reference": "tune", "debian-policy": "tune", "debian-reference": "tune",
        "sample": "tune"}
REPORT = {"squad": "dev", "developers-reference": "test", "debian-policy": "test", "debian-reference": "test",
          "sample": "test"}


def balanced(tune: np.ndarray, corpus: np.ndarray, answerable: np.ndarray) -> np.ndarray:
    """Fit weights: each corpus weighs the same, and within it answerable and off-topic questions weigh the same."""
    weight = np.zeros(len(corpus))
    for c in set(corpus[tune]):
        for a in (True, False):
            m = tune & (corpus == c) & (answerable == a)
            if m.any():
                weight[m] = 1.0 / m.sum()
    return weight


def fit_confidence(data: list[dict], sentence_weights: np.ndarray, only: str | None = None) -> None:
    """All weights, or with `only` that feature's weight alone, the others held at confidence.WEIGHTS."""
    from qa import confidence
    from qa.evaluation import calibration_error

    X, y, corpus, split, answerable = confidence_rows(data, sentence_weights)
    tune = np.array([TUNE.get(c) == s for c, s in zip(corpus, split)])
    weight = balanced(tune, corpus, answerable)
    if only is None:
        w = logistic(X[tune], y[tune], weight[tune], l2=1e-3)
    else:
        from scipy.optimize import minimize_scalar

        j, held = confidence.FEATURES.index(only), confidence.WEIGHTS.copy()
        rest = X[tune] @ held[:-1] - X[tune, j] * held[j] + held[-1]

        def loss(v):
            p = 1 / (1 + np.exp(-(rest + v * X[tune, j])))
            t = y[tune]
            return -np.sum(weight[tune] * (t * np.log(p + 1e-12) + (1 - t) * np.log(1 - p + 1e-12))) + 1e-3 * v * v

        w = held
        w[j] = minimize_scalar(loss).x
    print("confidence.WEIGHTS = np.array([" + ", ".join(f"{x:.3f}" for x in w) + "], dtype=np.float64)")
    print("  features:", ", ".join(f"{n}={x:+.2f}" for n, x in zip(confidence.FEATURES + ("intercept",), w)))
    p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
    print("threshold choice on tune data (real refused / off-topic refused per corpus):")
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        parts = []
        for c in TUNE:
            m = tune & (corpus == c)
            real, off = m & answerable, m & ~answerable
            parts.append(f"{c[:10]} {np.mean(p[real] < t):.2f}/{np.mean(p[off] < t) if off.any() else float('nan'):.2f}")
        print(f"  {t:.2f}: " + "  ".join(parts))
    for name, sel in (("tune", tune), ("report", np.array([REPORT.get(c) == s for c, s in zip(corpus, split)]))):
        for c in TUNE:
            m = sel & (corpus == c)
            if m.any():
                ece = calibration_error(list(p[m]), list(y[m].astype(bool)))
                print(f"  {name} {c}: n={m.sum()} ECE {ece:.3f}, mean p {p[m].mean():.2f}, top passage right {y[m].mean():.2f}")

def report(indexes: Path, items: list[dict], out: Path, squad: bool = True) -> None:
    """`qa eval --questions` figures on the report splits (SQuAD dev unless not `squad`, manuals test, sample),
    and the follow-ups."""
    from qa.evaluation import evaluate_questions
    from qa.search import Searcher

    split_file = out / "squad_split.jsonl"
    split_file.write_text("".join(json.dumps({k: i[k] for k in ("q", "gold", "doc", "split")}) + "\n" for i in items))
    runs = [("squad", split_file, "dev")] if squad else []
    runs += [(m, MANUALS / m / "questions.jsonl", "test") for m in ("developers-reference", "debian-policy", "debian-reference")]
    runs += [("sample", ROOT / "tests" / "data" / "sample_questions.jsonl", None),
             ("sample", ROOT / "tests" / "data" / "sample_offtopic.jsonl", "test")]
    for name, path, split in runs:
        r = evaluate_questions(path, Searcher(indexes / f"idx-{name}"), split=split).to_dict()
        r.pop("failures")
        print(f"{name} {path.name} split={split}: {json.dumps(r)}", flush=True)
    print("follow-ups:", followups(indexes))


def followups(indexes: Path) -> dict:
    """Share of follow-up turns whose answer sentence (and passage) holds a gold string."""
    from qa.search import Searcher

    talks = [json.loads(x) for x in (ROOT / "tests" / "data" / "followups.jsonl").read_text().splitlines() if x.strip()]
    searchers = {c: Searcher(indexes / f"idx-{c}") for c in {t["corpus"] for t in talks}}
    n = in_sentence = in_passage = 0
    for talk in talks:
        history: list = []
        for turn in talk["turns"]:
            answer = searchers[talk["corpus"]].ask(turn["q"], history=history)
            if history:
                n += 1
                has = lambda t: any(_norm(g) in _norm(t) for g in turn["gold"])  # noqa: E731
                if answer.answered:
                    in_sentence += has(answer.answer.sentence)
                    in_passage += any(has(h.text) and h.answer_sentence == answer.answer.sentence for h in answer.passages)
            history.append((turn["q"], answer))
    return {"follow_ups": n, "answer_in_sentence": round(in_sentence / n, 3), "answer_in_passage": round(in_passage / n, 3)}

def reader_veto(indexes: Path, items: list[dict]) -> None:
    """The reader's veto (qa.confidence.READER_REFUSE_AT): refusals per threshold, tune and test halves.

    Per question of the manuals and the sample (SQuAD is left out: the reader was trained on its
    train articles): the confidence `ask` reports without the veto, and the reader's best span over
    "no answer" in the first three passages. Choose on the tune rows; the test rows are for reporting.
    Then two candidate second vetoes, the sentence model's best logit and the relevance model's logit
    of the first passage. Neither earns a place (2026-11-24): each refuses real questions before it
    refuses one more shared-word off-topic one (the relevance model: at -1, tune real 3 -> 7 of 122
    refused for no tune off-topic one more).
    """
    from qa import confidence
    from qa.reader import open_reader
    from qa.relevance import passage_text, sentence_texts
    from qa.search import Searcher

    rows = []
    for name, qs in datasets(items).items():
        if name == "squad":
            continue
        searcher = Searcher(indexes / f"idx-{name}")
        for it in qs:
            saved = confidence.READER_REFUSE_AT
            confidence.READER_REFUSE_AT = float("-inf")  # the confidence without the veto
            try:
                a = searcher.ask(it["q"])
            finally:
                confidence.READER_REFUSE_AT = saved
            reader = searcher.reader()
            texts = [h.text for h in a.passages[:3]]
            best = max((f[0] for r, t in zip(reader.read(a.interpreted_as or it["q"], texts), texts)
                        if (f := r.best(0, len(t)))), default=-30.0) if reader else None
            judge = open_reader(searcher.generation.manifest.model.sha256, "sentence")
            passages = searcher.rank(a.interpreted_as or it["q"], depth=3)[0] if judge else []
            judged = max((float(judge.scores(it["q"], sentence_texts(p)).max())
                          for p in passages if p.sentences), default=None)
            relevance = open_reader(searcher.generation.manifest.model.sha256, "relevance")
            related = float(relevance.scores(it["q"], [passage_text(passages[0])])[0]) if relevance and passages else None
            rows.append((name, it.get("split"), bool(it.get("gold")), a.confidence, best, judged, related))
    _veto_table(rows, (-2.0, -3.0, -4.0, -5.0), (0.5, 0.6), 4,
                lambda r: r[3] < confidence.ANSWER_AT)
    print("The sentence model's best logit in the three leading passages, as a second veto (after the reader's):")
    _veto_table(rows, (-1.0, 0.0, 1.0, 2.0), (0.5, 0.7), 5,
                lambda r: confidence.doubted(r[3], r[4]) < confidence.ANSWER_AT)
    print("The relevance model's logit of the first passage, as a second veto (after the reader's):")
    _veto_table(rows, (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0), (0.5, 0.7), 6,
                lambda r: confidence.doubted(r[3], r[4]) < confidence.ANSWER_AT)


def _veto_table(rows: list[tuple], ats: tuple, unders: tuple, column: int, refused) -> None:
    """Refusals of real and off-topic questions, tune and test halves, before and with a veto on rows[column]
    (refuse when it is under `at` and the confidence under `under`); `refused(row)`: refused before it."""
    for at in ats:
        for under in unders:
            cells = []
            for split in ("tune", "test"):
                for real in (True, False):
                    mine = [r for r in rows if r[1] == split and r[2] == real]
                    now = sum(refused(r) for r in mine)
                    vetoed = sum(refused(r) or (r[column] is not None and r[column] < at and r[3] < under)
                                 for r in mine)
                    cells.append(f"{split} {'real' if real else 'off-topic'} refused {now}->{vetoed}/{len(mine)}")
            print(f"at {at:+.0f}, under {under}: " + "; ".join(cells))


def scope(indexes: Path, items: list[dict]) -> None:
    """Which tuning and report questions `confidence.unmentioned` refuses (a place or year the documents never
    mention), per corpus, real and off-topic apart, each listed; with each question's own document filter."""
    from qa.confidence import unmentioned
    from qa.search import Searcher

    for name, questions in datasets(items).items():
        index = Searcher(indexes / f"idx-{name}").generation.index
        hits = [(q, bool(q.get("gold")), u) for q in questions if (u := unmentioned(index, q["q"], q.get("documents")))]
        real = sum(len(q.get("gold", [])) > 0 for q in questions)
        print(f"{name}: real refused {sum(r for _, r, _ in hits)} of {real}, "
              f"off-topic refused {sum(not r for _, r, _ in hits)} of {len(questions) - real}")
        for q, r, u in hits:
            print(f"  {'REAL' if r else 'off-topic'} [{q.get('split', '')}] {q['q']!r}: never mentions {u!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["span", "sentence", "confidence", "dev", "veto", "scope"])
    ap.add_argument("--squad", default=str(SQUAD))
    ap.add_argument("--indexes", default="/tmp/qwork", help="folder with idx-squad, idx-sample, idx-<manual> (qa index)")
    ap.add_argument("--cache", default="/tmp/qwork/collected.json", help="collected features (delete to recollect)")
    ap.add_argument("--only", help="confidence: fit this feature's weight alone, the others held")
    ap.add_argument("--no-squad", action="store_true", help="dev: leave SQuAD dev out (~15 of its ~18 minutes)")
    args = ap.parse_args(argv)
    ap_cache = Path(args.cache)
    items = squad_questions(Path(args.squad))
    if args.stage == "dev":
        report(Path(args.indexes), items, ap_cache.parent, squad=not args.no_squad)
        return 0
    if args.stage == "veto":
        reader_veto(Path(args.indexes), items)
        return 0
    if args.stage == "scope":
        scope(Path(args.indexes), items)
        return 0
    if args.stage == "span":
        fit_span(items, ap_cache)
        return 0
    data = load_collected(Path(args.indexes), items, ap_cache)
    if args.stage == "sentence":
        fit_sentence(data)
    if args.stage == "confidence":
        from qa import answer as ans

        fit_confidence(data, ans.SENTENCE_WEIGHTS, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
