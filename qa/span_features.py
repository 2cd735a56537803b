"""The features the span scorer weighs for each candidate short answer (qa/span_candidates.py finds them).

Features say how a candidate sits against the question's words in the
sentence, its shape against the kind of answer asked for, whether a name is
an institution's or hangs on another phrase by "of", and whether it looks
like code where the question asks for a command, file or option. qa/span.py
holds the learned weights and picks.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right

import numpy as np

from .span_candidates import FUNCTION, INSTITUTION, KINDS, SHAPES, WORD, _VERBISH, question_terms, stem

_PREP = {"date": ("in", "on", "since", "by", "until", "from"), "place": ("in", "at", "from", "near", "to"),
         "person": ("by", "with"), "number": ("of", "about", "approximately", "nearly", "over", "than"),
         "thing": ("the", "a", "an", "as", "called", "named"), "other": ("by", "to", "because", "through")}
_NAMED = re.compile(r"\b(name|called|company|team|group|organi[sz]ation|university|party|network|band)\b", re.I)
_DOES = re.compile(r"\bwhat (did|does|do|is|was|are|were)\b", re.I)
_WH = re.compile(r"\b(?:what|which|how many|how much)\s+((?:kinds?|types?|sorts?|forms?)\s+of\s+)?", re.I)
_LY = re.compile(r"[a-z]{3,}ly")  # an adverb at a candidate's edge ("specifically the move") is rarely in the answer
# "the Supreme Court of [the Republic of Azerbaijan]": a phrase hung on another by "of" describes it
_OF_BEFORE = re.compile(r"\bof\s+(?:the\s+)?$")
_AUX = frozenset("is are was were do does did has have had can could will would should may might must".split())


def _head(question: str) -> str:
    """The stem of the noun a what/which/how-many question names ("What yard line was..." -> "line"), "" when none.

    The wh-phrase runs from "what"/"which" (past "kind of") to the first function word or verb.
    """
    m = _WH.search(question)
    if not m:
        return ""
    head = ""
    for w in WORD.findall(question[m.end() :]):
        if w.lower() in FUNCTION or w.lower() in _AUX or _VERBISH.match(w):
            break
        head = stem(w)
    return head
_CALLED = ("called", "named", "as", "known", "termed")

NUMERIC = (
    "overlap", "any_overlap", "near", "dist1", "dist2", "dist_far", "no_anchor", "window", "log_len", "one_word",
    "long", "after_anchor", "prep_before", "capital", "in_parens", "comma_after", "head_near", "all_capital",
    "named:name", "verb_question:phrase", "left_q", "right_q", "left_count", "right_count",
    "sentence_start", "position", "has_digit", "called_before", "paren_after", "appositive", "head_inside", "quoted",
    "left_pair", "right_pair", "left_window", "right_window", "between", "end_punct", "after_article",
    "head_after", "head_last", "name_overlap", "adverb_edge", "institution", "person_institution",
    "of_before", "person_of_before", "named_after",
)
FEATURES = tuple(f"{k}:{s}" for k in KINDS for s in SHAPES) + NUMERIC + tuple(f"{k}:log_len" for k in KINDS) + tuple(
    f"{k}:one_word" for k in KINDS) + ("code", "code_wanted")
# A manual answers with a command, a path, an option or an address ("/etc/alternatives/",
# "who-uploads(1)", "Accept=yes", "team@security.debian.org"): one token with a technical mark.
# SQuAD holds few, so these two weights are fitted on the manuals' tune questions (see qa/span.py).
_CODE = re.compile(r"^(?:\S*(?:/|@|::|=|_|\w\.\w|[a-z0-9]-[a-z0-9])\S*|\S+\(\d\))$")
_WANTS_CODE = re.compile(
    r"\b(command|tool|program|utility|package|file|files|directory|folder|path|option|flag|setting|variable|field|"
    r"header|address|host|server|url|key|tag|prefix|suffix|value|script|daemon|service|unit|module|"
    r"library|suite|queue|entry|syntax|format|extension|keyword|parameter)\b|\bwhere\b", re.I)


def features(question: str, sentence: str, cands: list[tuple[int, int, str]], kind: str) -> np.ndarray:
    """One row of FEATURES per candidate; `kind` is one of KINDS."""
    q = question_terms(question)
    # the question's word pairs (function words included): "free from", "known as" either side of a candidate
    q_words = [stem(w) for w in WORD.findall(question)]
    q_pairs = set(zip(q_words, q_words[1:]))
    head = _head(question)
    words = [(m.start(), m.end(), stem(m.group(0))) for m in WORD.finditer(sentence)]
    content = [i for i, w in enumerate(words) if w[2] not in FUNCTION]
    anchors = [i for i, (_, _, s) in enumerate(words) if s in q]
    starts, ends = [w[0] for w in words], [w[1] for w in words]
    rows = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    k0 = KINDS.index(kind) * len(SHAPES)
    n0 = len(KINDS) * len(SHAPES)
    named, does = bool(_NAMED.search(question)), bool(_DOES.search(question))
    wants_code = bool(_WANTS_CODE.search(question))
    for r, (a, b, shape) in enumerate(cands):
        inside = list(range(bisect_left(starts, a), bisect_right(ends, b)))
        mine = [words[i][2] for i in inside if words[i][2] not in FUNCTION] or [words[i][2] for i in inside]
        overlap = sum(s in q for s in mine) / max(1, len(mine))
        first, last = (inside[0], inside[-1]) if inside else (0, 0)
        outside = [i for i in anchors if i < first or i > last]
        dist = min((first - i if i < first else i - last) for i in outside) if outside else 99
        window = len({words[i][2] for i in outside if abs(i - first) <= 4 or abs(i - last) <= 4}) / max(1, len(q))
        near_head = any(words[i][2] == head for i in range(max(0, first - 2), min(len(words), last + 3))) if head else False
        before = sentence[:a].split()[-1:] or [""]
        # the nearest content word on each side within three words: does the question hold it?
        left = [i for i in content if first - 3 <= i < first]
        right = [i for i in content if last < i <= last + 3]
        n_in = len(inside)
        of_before = bool(_OF_BEFORE.search(sentence[max(0, a - 8) : a]))
        # "the Chairman of the Military Chamber, [Aziz Seyidov]": a comma closes the clause holding the
        # question's words, and the candidate names what it described
        before_a = sentence[:a].rstrip()
        named_after = before_a.endswith(",") and any(
            i < first and "," not in sentence[words[i][1] : len(before_a) - 1] for i in anchors)
        institution = any(sentence[words[i][0]].isupper() and sentence[words[i][0]:words[i][1]].lower() in INSTITUTION
                          for i in inside)
        rows[r, k0 + SHAPES.index(shape)] = 1
        rows[r, n0 : n0 + len(NUMERIC)] = (
            overlap, overlap > 0, 1.0 / (1.0 + dist), dist == 1, dist == 2, dist > 6, not outside, window,
            math.log1p(n_in), n_in == 1, n_in > 6, bool(outside) and min(outside) < first,
            before[0].lower() in _PREP[kind], sentence[a].isupper(), sentence[max(0, a - 1) : a] == "(",
            sentence[b : b + 1] == ",", near_head,
            bool(inside) and all(sentence[words[i][0]].isupper() or sentence[words[i][0]].isdigit() for i in inside),
            shape == "name" and named, shape == "phrase" and does,
            bool(left) and words[left[-1]][2] in q, bool(right) and words[right[0]][2] in q,
            sum(words[i][2] in q for i in left) / 3, sum(words[i][2] in q for i in right) / 3,
            first == 0, a / max(1, len(sentence)), any(c.isdigit() for c in sentence[a:b]),
            before[0].lower() in _CALLED, sentence[b : b + 2].strip()[:1] == "(",
            before_a.endswith(",") and sentence[b:].lstrip()[:1] in (",", "."),
            bool(head) and head in mine, sentence[max(0, a - 1) : a] in ('"', '“', '‘'),
            first >= 2 and (words[first - 2][2], words[first - 1][2]) in q_pairs,
            last + 2 < len(words) and (words[last + 1][2], words[last + 2][2]) in q_pairs,
            len({words[i][2] for i in anchors if first - 6 <= i < first}) / max(1, len(q)),
            len({words[i][2] for i in anchors if last < i <= last + 6}) / max(1, len(q)),
            any(first - 6 <= i < first for i in anchors) and any(last < i <= last + 6 for i in anchors),
            sentence[b:].lstrip()[:1] in (".", ";", ":", ""), before[0].lower() in ("the", "a", "an"),
            bool(head) and last + 1 < len(words) and words[last + 1][2] == head,  # "[manufacturing] sector"
            bool(head) and bool(mine) and mine[-1] == head, overlap * (shape == "name"),
            bool(inside) and any(_LY.fullmatch(sentence[words[i][0] : words[i][1]]) for i in (first, last)),
            institution, institution and kind == "person", of_before, of_before and kind == "person", named_after,
        )
        m0 = n0 + len(NUMERIC)
        rows[r, m0 + KINDS.index(kind)] = math.log1p(n_in)
        rows[r, m0 + len(KINDS) + KINDS.index(kind)] = n_in == 1
        code = bool(_CODE.match(sentence[a:b].strip()))
        rows[r, -2:] = code, code and wants_code
    return rows


def looks_like_code(text: str) -> bool:
    """One token with a path, option, address or man-page mark, as the "code" feature reads it."""
    return bool(_CODE.match(text.strip()))
