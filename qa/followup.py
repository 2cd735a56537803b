"""Follow-up questions: "When was it adopted?" after "What does the trafficking law say?".

No model of dialogue: a question that leans on the conversation (a pronoun,
"and ...", "what about ...", or too few words of its own) is searched with
the previous question's key words and the previous answer's names carried
along, and the answer records what it took the question to mean.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .text import printable

_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|this|these|those|the same|such|the former|"
                      r"the latter)\b", re.I)
_LEADS = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|same for|what else|who else|else)\b", re.I)
_ELSE = re.compile(r"\b(else|too|also|other|another|again|instead)\b", re.I)
_WORD = re.compile(r"[\w$][\w'’./-]*\w|\w")
_NAME = re.compile(r"(?<![.!?]\s)\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|von|van|and)?\s*[A-Z][\w'’.-]*)*")
_COMMON = frozenset(
    """a an and are as at be been being by can could did do does doing for from had has have how i if in into is it
    its me my of on or our so than that the their them then there these they this those to was we were what when
    where which while who whom whose why will with would you your about after all also any before between both each
    more most no not only other over same should some such through under up very else too again instead tell know
    happen happened many much""".split()
)
# How much of the question vector comes from the question as completed (the rest is the bare question).
CONTEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class Resolved:
    """What a follow-up was taken to mean: `text` to show and embed, `carried` the words added to it."""

    text: str
    carried: tuple[str, ...]


def _content(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in _COMMON and len(w) > 1]


def is_followup(question: str) -> bool:
    """Whether the question leans on an earlier one."""
    own = _content(question)
    return bool(_PRONOUN.search(question) or _LEADS.search(question) or _ELSE.search(question)) or len(own) <= 1


def _last(history: Sequence[Any]) -> tuple[str, Any]:
    """The previous (question as searched, answer or None) from a history entry: a question, an
    Answer, (question, Answer), or (question, short answer, its kind, answering sentence) as text
    (followup.turn: the page's and a session file's)."""
    entry = history[-1]
    if isinstance(entry, str):
        return entry, None
    if isinstance(entry, (tuple, list)) and entry:
        question, answer = entry[0], (tuple(entry[1:4]) if len(entry) > 3 else entry[1] if len(entry) > 1 else None)
    else:  # an Answer on its own
        question, answer = getattr(entry, "question", ""), entry
    searched = getattr(answer, "interpreted_as", None) or question
    return str(searched), answer


def _said(answer: Any) -> tuple[str | None, str | None, str | None]:
    """(short answer, its kind, the answering sentence) of an Answer, of (short answer, kind, sentence)
    as text, or of a short answer's text alone (its kind unknown)."""
    if isinstance(answer, str):
        answer = (answer, "", "")
    if isinstance(answer, tuple):
        text, kind, sentence = (t.strip() if isinstance(t, str) else "" for t in answer)
        return (text or None), (kind or None), (sentence or None)
    best = getattr(answer, "answer", None)
    span = getattr(best, "span", None)
    return getattr(span, "text", None), getattr(span, "kind", None), getattr(best, "sentence", None)


def _names(text: str) -> list[str]:
    """Capitalised runs, without a leading question or function word ("Which NFL" -> "NFL")."""
    out = []
    for name in _NAME.findall(text):
        words = name.split()
        while words and words[0].lower() in _COMMON:
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def given(question: str, history: Sequence[Any]) -> tuple[str, ...]:
    """The short answers the conversation has already given, when the question asks for another one
    ("And who else attended?" after "Aziz Seyidov"): the answer must be someone else."""
    if not history or not _ELSE.search(question):
        return ()
    said = (_said(_last([entry])[1])[0] for entry in history[-3:])
    return tuple(dict.fromkeys(text for text in said if text))


def turn(answer: Any) -> list:
    """An Answer as one turn of text that JSON carries and `history` takes back (a browser's store, a
    session file): [the question as it was taken, its short answer, the answer's kind, its sentence],
    each but the first None when there is none."""
    best = answer.answer
    span = best.span if best is not None else None
    return [answer.interpreted_as or answer.question, span.text if span else None, span.kind if span else None,
            best.sentence if best else None]


def turns(value: Any, keep: int = 4) -> list:
    """The last `keep` turns in `value` read back from JSON, each a question or a `turn`, anything else
    dropped (the value is a client's or a file's); a lone surrogate becomes U+FFFD, so it can be written
    back as JSON."""
    out = [printable(t) if isinstance(t, str) else [printable(t[0]), *(printable(x) if x else None for x in t[1:])]
           for t in (value if isinstance(value, list) else [])
           if isinstance(t, str) or (isinstance(t, list) and len(t) == 4 and isinstance(t[0], str)
                                     and all(isinstance(x, (str, type(None))) for x in t[1:]))]
    return out[-keep:] if keep else []


def resolve(question: str, history: Sequence[Any]) -> Resolved | None:
    """The question completed from the conversation, or None when it stands on its own."""
    if not history or not is_followup(question):
        return None
    previous, answer = _last(history)
    context: list[str] = []
    about = re.search(r"\s*\(about: ([^)]*)\)\s*$", previous)
    if about:  # what the previous question was itself completed with still holds
        previous, context = previous[: about.start()], [c.strip() for c in about.group(1).split(",")]
    own = {w.lower() for w in _content(question)}
    carried: list[str] = []
    seen = set(own)
    # names first (they carry the topic), then the remaining key words of the previous question
    for phrase in _names(previous) + _content(previous) + context:
        phrase = phrase.strip()
        if phrase and phrase.lower() not in seen and phrase.lower() not in _COMMON and not _PRONOUN.fullmatch(phrase):
            seen.add(phrase.lower())
            seen.update(w.lower() for w in phrase.split())
            carried.append(phrase)
    said, kind, sentence = _said(answer)
    if said and kind in ("person", "place", "name") and said.lower() not in seen and _ELSE.search(question) is None:
        carried.append(said)
    elif _ELSE.search(question):
        # "who else ...": the names already given point at the same passage
        for name in _names(sentence or said or "")[:3]:
            if name.lower() not in seen:
                seen.add(name.lower())
                carried.append(name)
    carried = [c for c in carried if len(c) > 1][:8]
    if not carried:
        return None
    return Resolved(f"{question} (about: {', '.join(carried)})", tuple(carried))


def read_session(path: Path) -> list:
    """The turns kept in a session file (`qa ask --session`): [] for a missing or empty one; ValueError (why)
    for a file that is not one, OSError for one that cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    value = json.loads(text) if text.strip() else []
    if not isinstance(value, list):
        raise ValueError("not a list of turns")
    return turns(value)


def write_session(path: Path, kept: list) -> None:
    """Written whole, then renamed into place: never a half-written file (OSError if it cannot be)."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(part, path)
