"""Built-in evaluation: BEIR retrieval metrics, and gold answers over a documents folder."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .documents import file_sha256
from .embedding import Embedder
from .errors import InvalidArgument
from .build import build_index
from .search import MODES, Searcher
from .settings import Settings

Log = Callable[[str], None]


@dataclass(frozen=True)
class BeirReport:
    mode: str
    split: str
    queries: int
    documents: int
    passages: int
    ndcg_10: float
    recall_1: float
    recall_10: float
    recall_100: float
    mrr_10: float
    latency_ms_p50: float

    def to_dict(self) -> dict:
        d = asdict(self)
        return {
            "mode": d["mode"], "split": d["split"], "queries": d["queries"], "documents": d["documents"],
            "passages": d["passages"], "ndcg@10": d["ndcg_10"], "recall@1": d["recall_1"],
            "recall@10": d["recall_10"], "recall@100": d["recall_100"], "mrr@10": d["mrr_10"],
            "latency_ms_p50": d["latency_ms_p50"],
        }


def read_beir(folder: Path, split: str) -> tuple[dict[str, dict], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus, queries, qrels) from the standard BEIR layout, unchanged."""
    folder = Path(folder)
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = d
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                queries[str(d["_id"])] = d["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        rows = csv.reader(fh, delimiter="\t")
        next(rows, None)  # header
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return corpus, {q: queries[q] for q in qrels if q in queries}, qrels


def work_dir(folder: Path) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa-eval"
    # Keyed by the corpus's content, not its path or mtime: a moved or
    # re-copied corpus reuses the cached index and embeddings.
    key = file_sha256(Path(folder) / "corpus.jsonl")[:12]
    return base / f"{Path(folder).name}-{key}"


def file_name(doc_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", doc_id)[:80]
    return f"{safe}-{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}.txt"


def evaluate_beir(
    folder: Path,
    split: str = "test",
    mode: str = "hybrid",
    settings: Settings | None = None,
    work: Path | None = None,
    embedder: Embedder | None = None,
    log: Log | None = None,
    reranker: str | Path | None = None,
) -> BeirReport:
    """Index a BEIR corpus through the normal pipeline and score retrieval.

    Each corpus document becomes a file (title line, blank line, text) in a
    work folder, so long documents are chunked like any other; a document's
    score is its best passage's. The work folder keeps the index and the
    embedding cache, so a second run embeds nothing.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    say = log or (lambda m: None)
    corpus, queries, qrels = read_beir(folder, split)
    work = Path(work) if work else work_dir(folder)
    docs = work / "documents"
    docs.mkdir(parents=True, exist_ok=True)
    names = {}
    for doc_id, d in corpus.items():
        name = file_name(doc_id)
        names[name] = doc_id
        path = docs / name
        content = f"{(d.get('title') or '').strip()}\n\n{d.get('text', '').strip()}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    base = settings or Settings()
    settings = Settings(documents=docs, index=work / "index", model=base.model,
                        chunk_tokens=base.chunk_tokens, overlap_sentences=base.overlap_sentences)
    say(f"Indexing {len(corpus)} documents in {work} (cached after the first run).")
    report = build_index(settings, embedder=embedder, progress=True, log=say)
    searcher = Searcher(settings.index, embedder=embedder, reranker=reranker)
    depth = 100
    ndcg = r1 = r10 = r100 = mrr = 0.0
    latencies = []
    for qid, text in queries.items():
        start = time.perf_counter()
        passages, scores = searcher.rank(text, depth=depth * 8, mode=mode)
        ranked: list[str] = []
        seen = set()
        for p in passages:  # a document scores as its best passage
            doc_id = names.get(p.document)
            if doc_id is not None and doc_id not in seen:
                seen.add(doc_id)
                ranked.append(doc_id)
                if len(ranked) == depth:
                    break
        latencies.append((time.perf_counter() - start) * 1000)
        rel = qrels[qid]
        ndcg += ndcg_at(ranked[:10], rel)
        r1 += recall_at(ranked[:1], rel)
        r10 += recall_at(ranked[:10], rel)
        r100 += recall_at(ranked[:100], rel)
        mrr += next((1 / (i + 1) for i, d in enumerate(ranked[:10]) if d in rel), 0.0)
    n = max(1, len(queries))
    return BeirReport(
        mode=mode, split=split, queries=len(queries), documents=report.documents, passages=report.passages,
        ndcg_10=round(ndcg / n, 4), recall_1=round(r1 / n, 4), recall_10=round(r10 / n, 4),
        recall_100=round(r100 / n, 4), mrr_10=round(mrr / n, 4),
        latency_ms_p50=round(statistics.median(latencies), 1) if latencies else 0.0,
    )


def ndcg_at(ranked: list[str], rel: dict[str, int]) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(rel.values(), reverse=True)[: len(ranked) or 10]))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], rel: dict[str, int]) -> float:
    return len(set(ranked) & set(rel)) / len(rel) if rel else 0.0


# Gold answers over a documents folder --------------------------------------------------


@dataclass(frozen=True)
class QuestionsReport:
    questions: int
    answerable: int
    off_topic: int
    answer_in_first: float
    answer_in_top5: float
    answer_in_sentence: float
    unanswered: float
    answered_when_answerable: float
    refused_when_off_topic: float
    failures: tuple[str, ...]
    # SQuAD exact match and token F1 of the short answer span (no span scores 0)
    short_exact_match: float = 0.0
    short_f1: float = 0.0
    # share of answered real questions that came with a span
    spans_shown: float = 0.0
    # expected calibration error of `confidence` against "the top passage holds a gold answer"
    calibration_error: float = 0.0
    refused_when_answerable: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["failures"] = list(self.failures)
        return d


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


_PUNCT = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalise(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", _PUNCT.sub("", text.lower())).split())


def exact_match(prediction: str, gold: list[str]) -> float:
    return float(any(squad_normalise(prediction) == squad_normalise(g) for g in gold))


def token_f1(prediction: str, gold: list[str]) -> float:
    """SQuAD token F1, the best over the gold strings."""
    pred = squad_normalise(prediction).split()
    best = 0.0
    for g in gold:
        ref = squad_normalise(g).split()
        common = sum(min(pred.count(t), ref.count(t)) for t in set(pred) & set(ref))
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def calibration_error(confidences: list[float], outcomes: list[bool], bins: int = 10) -> float:
    """Expected calibration error: |mean confidence - share right| per equal-width bin, weighted by size."""
    total, n = 0.0, len(confidences)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if idx:
            total += len(idx) / n * abs(sum(confidences[i] for i in idx) / len(idx) - sum(outcomes[i] for i in idx) / len(idx))
    return total


def evaluate_questions(path: Path, searcher: Searcher, k: int = 5, split: str | None = None) -> QuestionsReport:
    """Score answers against gold strings; `"gold": []` marks an off-topic question.

    With `split`, only questions whose "split" is that value (or that have
    none) are asked.
    """
    items = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [i for i in items if split is None or i.get("split", split) == split]
    if not items:
        raise InvalidArgument(f"{path} holds no questions" + (f" of split {split!r}." if split else "."))
    first = top5 = sentence = unanswered = answered_ok = refused_ok = 0
    answerable = off = spans = 0
    em = f1 = 0.0
    confidences: list[float] = []
    outcomes: list[bool] = []
    failures = []
    for item in items:
        answer = searcher.ask(item["q"], k=k)
        gold = [_norm(g) for g in item.get("gold", [])]
        has = lambda text: any(g in _norm(text) for g in gold)  # noqa: E731
        confidences.append(answer.confidence)
        outcomes.append(bool(answer.passages) and has(answer.passages[0].text))
        if not answer.answered:
            unanswered += 1
        if not gold:
            off += 1
            if answer.answered:
                failures.append(f"off-topic but answered: {item['q']}")
            else:
                refused_ok += 1
            continue
        answerable += 1
        in_first = bool(answer.passages) and has(answer.passages[0].text)
        in_top5 = any(has(h.text) for h in answer.passages[:5])
        in_sentence = answer.answered and has(answer.answer.sentence)
        short = answer.answer.span.text if answer.answered and answer.answer.span is not None else ""
        spans += bool(short)
        em += exact_match(short, item["gold"]) if short else 0.0
        f1 += token_f1(short, item["gold"]) if short else 0.0
        first += in_first
        top5 += in_top5
        sentence += in_sentence
        answered_ok += answer.answered
        if not (in_first and in_sentence and answer.answered):
            failures.append(
                f"{item['q']} (first={in_first} top5={in_top5} sentence={in_sentence} answered={answer.answered})"
            )
    a = max(1, answerable)
    return QuestionsReport(
        questions=len(items), answerable=answerable, off_topic=off,
        answer_in_first=round(first / a, 4), answer_in_top5=round(top5 / a, 4),
        answer_in_sentence=round(sentence / a, 4), unanswered=round(unanswered / max(1, len(items)), 4),
        answered_when_answerable=round(answered_ok / a, 4),
        refused_when_off_topic=round(refused_ok / max(1, off), 4), failures=tuple(failures),
        short_exact_match=round(em / a, 4), short_f1=round(f1 / a, 4), spans_shown=round(spans / max(1, answered_ok), 4),
        calibration_error=round(calibration_error(confidences, outcomes), 4),
        refused_when_answerable=round(1 - answered_ok / a, 4) if answerable else 0.0,
    )
