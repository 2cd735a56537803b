"""Answering: from a question to ranked, cited passages and the answering sentence."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import confidence, followup
from .answer import (
    ANSWER_FROM, SCORED_OVER, Answer, AnswerSentence, Hit, answer_sentences, cite, cited_span, sentence_lines,
    with_what_follows,
)
from .backends import SearchIndex
from .current import Current
from .embedding import Embedder
from .errors import ModelMismatch
from .fast_encoder import open_fast
from .generation import Generation
from .manifest import Manifest
from .ranking import MODES, answer_leads, candidates, collapse, rescore
from .relevance import DEPTH, fuse, judge_sentences
from .rerank import Reranker, rerank
from .sentence_vectors import by_text, remembering
from .settings import MAX_K, check_documents, check_k
from .reader import SHOWN_SPAN_TOKENS, open_reader, prefetch_reader
from .span import answer_span, given_ranges, type_match
from .text import MAX_QUESTION_CHARS, normalise_question

log = logging.getLogger(__name__)

# "Not found" is decided by qa/confidence.py: a probability fitted across
# corpora, not an absolute cosine (0.20 on the top three, which refused 0-3 of
# 12 off-topic questions on the manuals).


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    title: str
    passages: int
    pages: int


@dataclass(frozen=True)
class IndexInfo:
    """What a person or a page needs to know about the served index."""

    generation: str
    built_at: str
    documents: tuple[DocumentInfo, ...]
    passages: int
    store: str
    store_params: dict
    model: str


def index_info(m: Manifest) -> IndexInfo:
    """The served generation in a person's terms, from its manifest alone (`qa info` opens no model)."""
    docs = tuple(DocumentInfo(k, d.title, d.passages, len(d.pages)) for k, d in sorted(m.documents.items()))
    return IndexInfo(m.generation, m.created, docs, m.counts.passages, m.store.kind, dict(m.store.params), m.model.name)


class Searcher:
    """An open index that answers questions and follows index updates.

    Each question first asks `Current` (one small file read) whether `qa index`
    has committed a new generation; questions already running keep the
    generation they started with.
    """

    def __init__(self, index: str | Path = "index", model: str | None = None, embedder: Embedder | None = None,
                 reranker: str | Path | Reranker | None = None):
        self.root = Path(index)
        self.current = Current(self.root)
        built = self.current.held.manifest.model
        if model is not None and model != built.name and embedder is None:
            raise ModelMismatch(
                f"The index in {self.root} was built with the model {built.name}, not {model}. "
                f"Rebuild it with: qa index --full --model {model} --index {self.root}"
            )
        # The checked ONNX export answers without importing torch; torch is
        # the fallback when there is none for these weights.
        self.embedder = embedder or open_fast(built.sha256) or Embedder(built.name)
        # The reader, relevance and sentence models (qa/reader.py) open in the background; the first answer waits.
        self._model_sha256 = built.sha256
        prefetch_reader(built.sha256)
        # An optional cross-encoder from a local folder orders the best passages again (qa.rerank).
        self.reranker = Reranker(reranker) if isinstance(reranker, (str, Path)) else reranker
        self._checked: str | None = None

    def reader(self):
        """The extractive reader for this index's model (qa/reader.py), or None: another model, or no export."""
        return open_reader(self._model_sha256)

    def _read(self, searched: str, question: str, passages) -> tuple[list, list]:
        """The reader's readings of `passages` (for `searched`), the sentence model's logits of their sentences
        (for the question's own words, as the sentence scorer's: it never saw a completed follow-up); or none."""
        try:
            reader = self.reader()
            readings = reader.read(searched, [p.text for p in passages]) if reader is not None else []
            return readings, judge_sentences(open_reader(self._model_sha256, "sentence"), question, passages)
        except Exception as exc:
            log.warning("The reader could not read these passages (%s); answering without it.", exc)
            return [], []  # the models help an answer, never stop one

    def _reorder(self, question: str, rows: list[int], passage_of, scores: list[float], *columns,
                 hybrid: bool = True) -> tuple:
        """The second stage's best passages read with the question: by a user's cross-encoder when given
        (qa/rerank.py), else by the shipped relevance model (qa/relevance.py) when these weights have it.
        Its weight was chosen on the hybrid score's scale, so the single-signal modes go without it."""
        if self.reranker is not None:
            return rerank(self.reranker, question, rows, lambda r: passage_of(r).text, scores, *columns)
        try:
            model = open_reader(self._model_sha256, "relevance") if hybrid else None
            return fuse(model, question, rows, passage_of, scores, *columns)
        except Exception as exc:  # it helps the order, never stops an answer
            log.warning("The relevance model could not read these passages (%s); ordering without it.", exc)
            return (rows, scores, *columns)

    @property
    def generation(self) -> Generation:
        return self.current.get()

    def info(self) -> IndexInfo:
        return index_info(self.generation.manifest)

    def documents(self) -> list[str]:
        return sorted(self.generation.manifest.documents)

    def rank(self, question: str, depth: int, mode: str = "hybrid") -> tuple[list, list[float]]:
        """Low level: the top `depth` passages and scores, no answer sentences (used by evaluation)."""
        if mode not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}")
        question = normalise_question(question)
        gen = self.generation
        q = self.embedder.encode([question])[0]
        rows, scores, dense = candidates(gen.index, question, q, depth, None, mode)
        if mode == "hybrid":
            rows, scores, _ = rescore(gen, rows, scores, dense, q)
        rows, scores = self._reorder(question, rows, gen.index.passage, scores, hybrid=mode == "hybrid")
        return [gen.index.passage(r) for r in rows[:depth]], scores[:depth]

    def ask(self, question: str, k: int = 5, documents: Iterable[str] | None = None, history: Sequence = ()) -> Answer:
        """The `k` best passages for `question`, each with its answering sentence.

        `history` holds the conversation so far, oldest first: questions, Answers, (question, Answer)
        or (question, short answer, sentence) as text (followup.turn). A follow-up that leans on it
        ("When was it adopted?") is searched with the previous question's key words and answer carried
        along; `Answer.interpreted_as` says so.
        """
        notices = []
        if isinstance(k, int) and not isinstance(k, bool) and k > MAX_K:
            notices.append(f"At most {MAX_K} passages are shown; {k} were asked for.")
        k = check_k(k)
        question = normalise_question(question, limit=None)
        if len(question) > MAX_QUESTION_CHARS:
            notices.append(f"The question is {len(question):,} characters long; only its first "
                           f"{MAX_QUESTION_CHARS:,} were read.")
            question = question[:MAX_QUESTION_CHARS]
        gen = self.generation
        documents = check_documents(documents, gen.manifest.documents)
        index = _Passages(gen.index)  # one question reads each passage once
        if self._checked != gen.name:
            _check_model(gen, self.embedder.identity())
            self._checked = gen.name
        n_tokens = self.embedder.count_tokens([question])[0]
        if n_tokens > self.embedder.max_tokens:
            notices.append(f"The question is {n_tokens} tokens long; only its first {self.embedder.max_tokens} "
                           "shape the meaning search.")
        resolved = followup.resolve(question, list(history or ()))
        searched = resolved.text if resolved else question
        q = self.embedder.encode([question])[0]
        if resolved:
            w = followup.CONTEXT_WEIGHT
            q = (1 - w) * q + w * self.embedder.encode([searched])[0]
            q = (q / (np.linalg.norm(q) or 1.0)).astype(np.float32)
        # The answer is chosen as if `k` were SCORED_OVER: asking for one passage, or
        # twenty, changes how many are shown, never the answer (past k=30 the candidate
        # pool widens, which can only add candidates: ranking.candidates).
        depth = max(k, SCORED_OVER)
        rows, fused, dense = candidates(index, searched, q, depth, documents)
        fused_of = dict(zip(rows, fused))
        rows, scores, dense = rescore(gen, rows, fused, dense, q)
        second = dict(zip(rows, scores))
        rows, scores, dense = self._reorder(searched, rows, index.passage, scores, dense)
        lift = {r: s - second[r] for r, s in zip(rows[:DEPTH], scores[:DEPTH])}  # what the passages read gained
        similarity = dict(zip(rows, dense))
        hits = collapse(index, rows, scores, depth)
        passages = [index.passage(r) for r, _, _ in hits]
        # the passages are found with the completed question; the sentence is judged by the question's own words
        stored = by_text(gen.sentences, [r for r, _, _ in hits], passages) if gen.sentences is not None else {}
        # Sentence vectors stored at build answer without a model call; any sentence
        # missing from them is embedded now, once (its vector is needed again below).
        encode = remembering(self.embedder.encode, stored)
        # the sentence scorer weighs each passage's fused score, as it was fitted, and what the relevance
        # model's reading added to it (on the same scale; a user's reranker adds nothing)
        weights = [fused_of[r] + lift.get(r, 0.0) for r, _, _ in hits]
        readings, judged = self._read(searched, question, passages[:ANSWER_FROM])
        chosen = answer_sentences(encode, question, q, passages[:SCORED_OVER], weights[:SCORED_OVER],
                                  everything=bool(stored), readings=readings, judged=judged)
        if len(passages) > SCORED_OVER:  # only each lower passage's own sentence to mark, none marked above again
            above = [(p, a, b) for p, (a, b, _) in zip(passages, chosen)]
            chosen += answer_sentences(encode, question, q, passages[SCORED_OVER:], weights[SCORED_OVER:],
                                       everything=bool(stored), marked=above)
        # Looked up per cited document: listing the paged ones cost ~29 ms a question at 230,000 documents.
        entries = gen.manifest.documents

        def citation(p, lines=None):
            a, b = lines or (p.line_start, p.line_end)
            entry = entries.get(p.document)
            return cite(p, a, b, entry.pages, entry.ocr) if entry is not None and entry.pages else cite(p, a, b)

        results = [
            Hit(rank=rank, score=float(score), text=p.text, citation=citation(p), answer_start=a,
                answer_end=with_what_follows(p, a, b), also_in=tuple(citation(index.passage(t)) for t in twins))
            for rank, ((_, score, twins), p, (a, b, _)) in enumerate(zip(hits, passages, chosen), start=1)
        ]
        best, p_answer, answer_at = None, 0.0, 0
        if results:
            top = max(range(min(ANSWER_FROM, len(results))), key=lambda i: chosen[i][2])
            hit = results[top]
            sentence = hit.answer_sentence
            # the confidence judges the chosen sentence itself, as it was fitted (not what a lead-in carries along)
            scored = passages[top].text[chosen[top][0]:chosen[top][1]]
            s_vec = encode([scored])[0]
            # the pool's fused scores, best first: the confidence was fitted on them, before the second stage
            x = confidence.features(index, searched, [r for r, _, _ in hits], [similarity[r] for r, _, _ in hits],
                                    fused, documents, float(s_vec @ q), type_match(searched, scored), rows)
            # the reader's best span over "no answer" in the passages it read (None without a reader), and
            # the place or year the question is kept to that these documents never mention ("... in Norway?")
            read_best = max((f[0] for r, p in zip(readings, passages) if (f := r.best(0, len(p.text)))), default=None)
            absent = confidence.unmentioned(index, question, documents)
            p_answer = confidence.doubted(confidence.probability(x), read_best, absent is not None)
            notices += [f'The searched documents never mention "{absent}".'] if absent else []
            if confidence.label(p_answer) != "weak":
                lines = sentence_lines(passages[top], hit.answer_start, hit.answer_end)
                # a follow-up's span is judged with the words it carried ("When was it adopted?" about the law
                # "On Combating Human Trafficking": the law's own name restates it, the date answers), and a
                # "who else" follow-up's is none of the answers it was already given
                told = followup.given(question, history or ())
                taken = given_ranges(passages[top].text, told, hit.answer_start, chosen[top][1])
                found = (readings[top].best(hit.answer_start, chosen[top][1], SHOWN_SPAN_TOKENS, taken)
                         if top < len(readings) else None)
                read = (found[1] - hit.answer_start, found[2] - hit.answer_start, found[3]) if found else None
                span = cited_span(answer_span(searched, sentence, read, told), passages[top], hit.answer_start,
                                  citation)
                best, answer_at = AnswerSentence(sentence, citation(passages[top], lines), chosen[top][2], span), top
                # the first passage a person reads then holds the answer shown above it
                # a reranker has already read the passages: its order stands
                if self.reranker is None and answer_leads([h.score for h in results], [c[2] for c in chosen], top):
                    order = [top] + [i for i in range(len(results)) if i != top]
                    results = [replace(results[i], rank=n) for n, i in enumerate(order, start=1)]
                    p_answer, answer_at = confidence.probability(x, led=True), 0
        if len(results) > k:  # fewer shown than the answer was chosen from: the answer's passage stays in sight
            shown = list(range(k - 1)) + [max(k - 1, answer_at)]
            results = [replace(results[i], rank=n) for n, i in enumerate(shown, start=1)]
        return Answer(question=question, answer=best, passages=tuple(results), notices=tuple(notices),
                      confidence=p_answer, label=confidence.label(p_answer),
                      interpreted_as=resolved.text if resolved else None)


class _Passages:
    """The index, with each passage parsed once per question (the pool is read by fusion, collapse and confidence)."""

    def __init__(self, index: SearchIndex):
        self._index, self._seen = index, {}

    def passage(self, row: int):
        if row not in self._seen:
            self._seen[row] = self._index.passage(row)
        return self._seen[row]

    def __len__(self) -> int:
        return len(self._index)

    def __getattr__(self, name):
        return getattr(self._index, name)


def _check_model(gen: Generation, identity) -> None:
    """Refuse to search vectors made by another model."""
    built = gen.manifest.model
    if built.dimension != identity.dimension or built.sha256 != identity.sha256:
        raise ModelMismatch(
            f"The index in {gen.path.parent} was built with the model {built.name} "
            f"(dimension {built.dimension}); the model {identity.name} (dimension {identity.dimension}) "
            f"makes other vectors. Rebuild with: qa index --full --model {identity.name} --index {gen.path.parent}"
        )
