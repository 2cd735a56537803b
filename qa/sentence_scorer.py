"""Choosing the sentence that answers inside the top passages: its features and learned weights."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .chunking import Passage
from .sentence_vectors import texts as sentence_texts
from .span import has_kind, question_terms, span_strength, wanted
# Sentences embedded per question to pick answer sentences; bounds latency.
MAX_SENTENCES = 48
# The answer is chosen among the sentences of this many best passages: a sentence
# that matches well inside a weak passage is often a decoy.
ANSWER_FROM = 3
# Sentences are scored against those of this many best passages (rarity of the
# question's words, the best cosine among them): the depth the weights were fitted
# at (bench/tune_answers.py collects k=5). `ask` scores this many whatever its k,
# so asking for fewer or more passages never changes the answer.
SCORED_OVER = 5

_STOPWORDS = frozenset(
    """a an and are as at be been being by can could did do does doing for from had has have how i if in
    into is it its me my of on or our so than that the their them then there these they this those to
    was we were what when where which while who whom whose why will with would you your about after
    against all also any before between both during each few more most no nor not only other over
    same should some such through under until up very""".split()
)
_TERM = re.compile(r"\w+")
# A sentence opening with one of these is about what the sentence before it named ("It is often found in...").
_PRONOUN = re.compile(r"^\W*(it|he|she|they|this|these|those|his|her|its|their|such|the latter|the former)\b", re.I)
_WORDS = re.compile(r"[^\W\d_][\w'’-]*|\d[\w.,/-]*")
_NUMBERS = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w.])")

# The sentence scorer: a linear score over these features, learned by
# bench/tune_answers.py (conditional logit: the gold-holding sentences against
# the other sentences of the top three passages, SQuAD-tune train articles,
# 3,410 questions, l2 1e-5 by cross-validation over train articles:
# `python -m bench.tune_answers sentence --indexes /tmp/qwork2 --cache /tmp/answers/v2/collected.json`, 2026-11-23).
SENTENCE_FEATURES = ("cosine", "overlap", "type_match", "novelty", "first", "log_words", "heading", "restates",
                     "passage_score", "rank2", "rank3", "rare_overlap", "pair_overlap", "span_strength", "cosine_gap",
                     "passage_cosine", "passage_overlap", "cosine_x_overlap", "best_overlap", "best_in_passage", "rank45",
                     "previous_cosine", "next_cosine", "previous_overlap", "pronoun", "pronoun_x_previous_overlap",
                     "pronoun_x_previous_cosine", "top_cosine", "overlap_x_gap")
SENTENCE_WEIGHTS = np.array([
    2.624, -6.823, 0.149, -0.324, -0.244, 0.025, -0.998, -1.452, 6.980, 0.023, -0.079, 13.506, 2.188, 0.549, 2.624,
    4.680, 1.379, -5.741, 0.126, 0.508, 0.000, 0.270, -0.013, 0.263, -0.745, 1.491, 0.799, 0.274, 2.206,
], dtype=np.float32)
# Large enough to put a heading or a restating sentence below every other one.
NEVER_PENALTY = 100.0


def _terms(text: str) -> set[str]:
    # A five-letter prefix is a cheap stemmer: "chairs"/"chairman", "adopted"/"adoption".
    return {t[:5] for t in _TERM.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1}


def _heading_like(text: str, p: Passage, j: int = -1) -> bool:
    """A title or heading rather than a statement: short, no closing punctuation, the title/section itself,
    or a headline (the `j`th sentence of `p` is the document's first line, a paragraph of its own)."""
    plain = " ".join(text.split()).strip()
    words = _WORDS.findall(plain)
    if plain.lower() in (p.title.strip().lower(), p.section.rsplit("/", 1)[-1].strip().lower()):
        return True
    if j == 0 and p.sentences[0][2:] == (1, 1) and (len(p.sentences) == 1 or p.sentences[1][2] >= 3):
        return True  # a news headline ends with a full stop but is still the title: "...held a meeting with US officials."
    # a table row is data, not a heading: cells joined by " | " (HTML, Word), or two numbers ("Heron Pool 0.3 2.5")
    row = " | " in plain or len(_NUMBERS.findall(plain)) >= 2
    if len(words) <= 12 and not plain.endswith((".", "!", "?", ":", ";", '"', "”", ")")) and not row:
        return True
    caps = sum(w[0].isupper() for w in words)
    return len(words) <= 8 and caps >= 0.7 * len(words)


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [t[:5] for t in _TERM.findall(text.lower())]
    return set(zip(words, words[1:]))


def sentence_matrix(question: str, passages: Sequence[Passage], cosines: np.ndarray,
                    scores: Sequence[float]) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """(passage index, start, end) of every sentence of `passages`, and its row of SENTENCE_FEATURES.

    `cosines` holds each sentence's cosine to the question, in the same order.
    Question words are weighted by how rare they are among these sentences.
    """
    q_terms, q_pairs, kind, q_words = _terms(question), _bigrams(question), wanted(question), question_terms(question)
    spans = [(i, j, a, b) for i, p in enumerate(passages) for j, (a, b, _, _) in enumerate(p.sentences)]
    texts = [passages[i].text[a:b] for i, _, a, b in spans]
    terms = [_terms(t) for t in texts]
    idf = {t: np.log((1 + len(texts)) / (1 + sum(t in ts for ts in terms))) + 1 for t in q_terms}
    total = sum(idf.values()) or 1.0
    top = float(np.max(cosines)) if len(cosines) else 0.0
    rows = np.zeros((len(spans), len(SENTENCE_FEATURES)), dtype=np.float32)
    for r, ((i, j, a, b), text, s_terms) in enumerate(zip(spans, texts, terms)):
        overlap = len(q_terms & s_terms) / len(q_terms) if q_terms else 0.0
        novelty = len(s_terms - q_terms) / len(s_terms) if s_terms else 0.0
        words = _WORDS.findall(text)
        rows[r] = (
            cosines[r], overlap, has_kind(kind, text, q_words), novelty, j == 0,
            np.log1p(len(words)), _heading_like(text, passages[i], j), novelty < 0.25, scores[i], i == 1, i == 2,
            sum(idf[t] for t in q_terms & s_terms) / total, len(q_pairs & _bigrams(text)) / max(1, len(q_pairs)),
            span_strength(question, text, kind), cosines[r] - top, *([0] * 5), i >= 3, *([0] * 8),
        )
    _context(rows, [i for i, _, _, _ in spans], [q_terms & t for t in terms], idf, total, texts)
    return [(i, a, b) for i, _, a, b in spans], rows


def _context(rows: np.ndarray, owner: list[int], shared: list[set[str]], idf: dict, total: float,
             texts: list[str]) -> None:
    """Fill the context columns: a sentence is judged with its neighbours and its passage.

    An answer sentence often matches the question less than the sentence
    before it, which names the subject the answer's pronoun stands for, and a
    passage whose sentences match as a whole is a better home than one lucky
    sentence in a weak passage.
    """
    f = SENTENCE_FEATURES.index
    cos, rare = rows[:, f("cosine")], rows[:, f("rare_overlap")]
    owner_a = np.asarray(owner)
    for r, i in enumerate(owner):
        mine = owner_a == i
        before = r > 0 and owner[r - 1] == i
        after = r + 1 < len(owner) and owner[r + 1] == i
        pronoun = bool(_PRONOUN.match(texts[r]))
        rows[r, f("passage_cosine")] = cos[mine].max() - cos.max()
        rows[r, f("passage_overlap")] = sum(idf[t] for t in set().union(*(shared[x] for x in np.flatnonzero(mine)))) / total
        rows[r, f("best_in_passage")] = cos[r] + rare[r] >= (cos[mine] + rare[mine]).max()
        rows[r, f("previous_cosine")] = cos[r - 1] if before else 0.0
        rows[r, f("next_cosine")] = cos[r + 1] if after else 0.0
        rows[r, f("previous_overlap")] = rare[r - 1] if before else 0.0
        rows[r, f("pronoun")] = pronoun
        rows[r, f("pronoun_x_previous_overlap")] = pronoun * rows[r, f("previous_overlap")]
        rows[r, f("pronoun_x_previous_cosine")] = pronoun * rows[r, f("previous_cosine")]
    rows[:, f("cosine_x_overlap")] = cos * rare
    if len(rows):
        rows[:, f("best_overlap")] = rare >= rare.max()
        rows[:, f("top_cosine")] = cos >= cos.max()
    rows[:, f("overlap_x_gap")] = rare * rows[:, f("cosine_gap")]


# The reader's part in the sentence score (qa/reader.py): its best span in the
# sentence minus its passage's "no answer" score, times this. Chosen on questions
# the reader never saw: the manuals' and the sample's tune halves (answer in the
# sentence 76 -> 80 of 122 at 0.5; 81 at 0.3, 80 at 1.0: flat), not SQuAD's dev.
READER_WEIGHT = 0.5
NO_SPAN = -30.0  # a sentence with no token inside the reader's window
# The answer-sentence model's part (qa/relevance.py, kind "sentence"): its logit for the
# question and the sentence, times this. Chosen on the squad_tune train articles the
# model never trained on (bench/train_sentence.FIT_ARTICLES, 750 questions; the other
# weights held; `python -m bench.train_sentence choose`): answer in the sentence
# 0.857 without it, 0.859 at 0.25 and 0.5, 0.856 at 1, 0.835 at 3. The reader
# trained on those articles, so the fit rates it too well and this weight too low.
JUDGED_WEIGHT = 0.5


def never_chosen(rows: np.ndarray, numbers: np.ndarray | None = None) -> np.ndarray:
    """A heading, or a sentence made only of the question's own words, is never the answer while a passage has another.

    Only *only*: the `restates` feature (under a quarter of its words new) merely weighs against a sentence,
    since one new word can be the answer ("Historically, the Methodist Church has supported the temperance
    movement."). Answer in the chosen sentence, the hard rule at under a quarter new -> at none new
    (`python -m bench.sentence_rules`): SQuAD-tune train (every fourth question, 853) 726 -> 730; reported
    after: dev 990 -> 995 of 1,214, the manuals 128 -> 127 of 209, the sample 44 of 47 both.
    `numbers`, per row, whether the sentence holds a number the question does not: then it says something
    new though its words are the question's ("Heron Pool 0.3 2.5" for the velocity at Heron Pool).
    """
    f = SENTENCE_FEATURES.index
    restates = rows[:, f("novelty")] == 0
    if numbers is not None:
        restates &= ~numbers
    return (rows[:, f("heading")] > 0) | restates


def sentence_scores(encode, question: str, q: np.ndarray, passages: list[Passage],
                    scores: Sequence[float] | None = None, everything: bool = False, readings: Sequence = (),
                    judged: Sequence[np.ndarray] = ()) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """(passage index, start, end) of every sentence of `passages`, and its score (see answer_sentences)."""
    scores = list(scores) if scores is not None else [0.0] * len(passages)
    texts = sentence_texts(passages)
    dense = np.zeros(len(texts), dtype=np.float32)
    limit = len(texts) if everything else min(len(texts), MAX_SENTENCES)
    if limit:
        dense[:limit] = encode(texts[:limit]) @ q
    spans, rows = sentence_matrix(question, passages, dense, scores)
    asked = set(_NUMBERS.findall(question))
    never = never_chosen(rows, np.array([bool(set(_NUMBERS.findall(t)) - asked) for t in texts], dtype=bool))
    scores_of = rows @ SENTENCE_WEIGHTS - NEVER_PENALTY * never
    nth = 0
    for r, (i, a, b) in enumerate(spans):
        nth = nth + 1 if r and spans[r - 1][0] == i else 0  # the sentence's place in its passage
        if i < len(readings):
            found = readings[i].best(a, b)
            scores_of[r] += READER_WEIGHT * (found[0] if found is not None else NO_SPAN)
        if i < len(judged):
            scores_of[r] += JUDGED_WEIGHT * float(judged[i][nth])
    return spans, scores_of


def answer_sentences(encode, question: str, q: np.ndarray, passages: list[Passage],
                     scores: Sequence[float] | None = None, everything: bool = False,
                     marked: Sequence[tuple[Passage, int, int]] = (),
                     readings: Sequence = (), judged: Sequence[np.ndarray] = ()) -> list[tuple[int, int, float]]:
    """Per passage: (start, end, score) of the sentence that best answers.

    The score is linear in SENTENCE_FEATURES: meaning (cosine of the
    sentence's vector to the question's), term overlap (plain, weighted by
    rarity, and of word pairs), whether the sentence holds the kind of answer
    asked for (a date for "when"...) near the question's words, how much it
    adds beyond them, its place and length, whether it looks like a heading,
    and the passage's own score and rank. Scores compare across passages, so
    the best of them is the answer. Only the first MAX_SENTENCES are
    embedded, unless `everything` (their vectors were stored at build time:
    scoring all of them costs nothing). `readings` (qa/reader.py), one per
    leading passage, add READER_WEIGHT times the best answer span each
    sentence holds, over its passage's "no answer" score; `judged`, per
    leading passage, the answer-sentence model's logit of each of its
    sentences, JUDGED_WEIGHT times it.
    """
    spans, scores_of = sentence_scores(encode, question, q, passages, scores, everything, readings, judged)
    lines = [sent[2:] for p in passages for sent in p.sentences]  # (line_start, line_end), in the order of `spans`
    # Passages can overlap in the file (a sentence carried over a passage boundary):
    # a sentence one passage shows is not shown again by a lower one, which shows
    # its next best. A sentence is known by its file, lines and text: character
    # offsets count cleaned text inside a passage but the raw file for its start.
    # Within the top ANSWER_FROM passages (those the answer is chosen from) the
    # higher passage keeps the better of the two scores, so the answer is the
    # sentence it would have been.
    # `marked`: sentences (passage, start, end) that passages above these already show
    shown: dict[tuple, int] = {(p.document, *ln, p.text[a:b]): -1 for p, a, b in marked
                               for s_a, s_b, *ln in p.sentences if (s_a, s_b) == (a, b)}
    best: list[tuple[int, int, float]] = []
    order = sorted(range(len(spans)), key=lambda r: -scores_of[r])  # stable: ties keep text order
    for i, p in enumerate(passages):
        mine = [r for r in order if spans[r][0] == i]
        if not mine:
            best.append((0, len(p.text), -1e9))
            continue
        where = {r: (p.document, *lines[r], p.text[spans[r][1]:spans[r][2]]) for r in mine}
        if shown.get(where[mine[0]], -1) >= 0 and i < ANSWER_FROM:
            j = shown[where[mine[0]]]
            best[j] = (*best[j][:2], max(best[j][2], float(scores_of[mine[0]])))
        r = next((r for r in mine if where[r] not in shown), mine[0])
        shown.setdefault(where[r], i)
        best.append((spans[r][1], spans[r][2], float(scores_of[r])))
    return best


# A sentence ending in a colon introduces what follows ("configure it permanently
# in ~/.devscripts:" -> "DEBSIGN_KEYID=KEY-ID"): alone it is never the answer.
# Shown as the answer, it carries the next sentence of its passage along,
# up to FOLLOWS_AT_MOST characters more.
FOLLOWS_AT_MOST = 400


def with_what_follows(p: Passage, start: int, end: int) -> int:
    """The end of the answer that starts at `start`: `end`, or past the next sentence if this one is a lead-in."""
    if not p.text[start:end].rstrip().endswith(":"):
        return end
    after = next((b for a, b, _, _ in p.sentences if a >= end), None)
    return after if after is not None and after - end <= FOLLOWS_AT_MOST else end
