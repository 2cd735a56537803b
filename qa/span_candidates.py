"""Candidate short answers inside a sentence: spans a pattern can find, none made only of the question's words.

No tagger: dates, numbers with their unit, numbered parts such as "section
144(1)", capitalised runs, quoted titles, runs of content words, "X of Y"
phrases and comma lists. A date or a numbered part is one candidate, never
cut; connectives and abbreviations are never offered. qa/span_features.py
says how each sits against the question; qa/span.py picks.
"""

from __future__ import annotations

import re

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_NUMWORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
            r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
            r"million|billion|trillion|dozen|half|several)")
_NUM = rf"(?:[$£€]\s?)?-?\d+(?:,\d{{3}})*(?:\.\d+)?(?:\s?[–-]\s?\d+(?:,\d{{3}})*(?:\.\d+)?)?(?:\s?(?:%|percent|per cent))?(?![A-Za-z0-9])|\b{_NUMWORD}(?:[- ]{_NUMWORD})*\b"
_YEAR = r"(?:1[0-9]|20)\d\d"
_DATE_RE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,\s*\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|\d{{4}}s|\d{{1,2}}(?:st|nd|rd|th) century"
    rf"|{_YEAR}(?:\s*[–-]\s*\d{{2,4}})?)\b", re.I)
_NUM_RE = re.compile(rf"(?<![\w.])(?:{_NUM})(?:\s+(?:{_NUM}))?", re.I)
_CAP = r"[A-Z][\w'’.-]*"
_NAME_RE = re.compile(rf"{_CAP}(?:\s+(?:(?:of|the|de|del|da|von|van|der|and|&|for|on)\s+)*{_CAP})*")
# A numbered reference: "144(1)", "section 4.9.1", "§ 4.9", "article 5(2)(b)", "10.1.3" (a law's or a
# manual's part). A bracketed part is one or two digits, a letter or a small roman numeral, so "(see)"
# or a telephone's "(555)" is not one.
_DESIGNATOR = r"(?:section|article|chapter|clause|paragraph|part|rule|appendix|annex|subsection|§)"
_REF_RE = re.compile(rf"(?<![\w.])(?:{_DESIGNATOR}\s*)?\d+(?:\.\d+)*(?:\((?:\d{{1,2}}|[a-z]|[ivx]{{2,4}})\))+"
                     rf"|(?<![\w.§]){_DESIGNATOR}\s*\d+(?:\.\d+)+|(?<![\w.])\d+(?:\.\d+){{2,}}(?![\w.])", re.I)
_YEAR_RE = re.compile(_YEAR)
_DESIGNATOR_RE = re.compile(rf"{_DESIGNATOR}\s*", re.I)
# Words that make a capitalised run an institution, a body or a document, not a person.
INSTITUTION = frozenset(
    """republic kingdom state states nation nations union court chamber ministry department office embassy council
    committee commission agency bureau university college school institute academy bank company corporation party
    government parliament assembly congress senate service services army navy police church museum association society
    foundation board federation organization organisation authority tribunal code act law treaty
    convention protocol plan programme program centre center group team club""".split())
_QUOTED_RE = re.compile(r"\"([^\"]{2,80})\"|“([^”]{2,80})”|‘([^’]{2,80})’")
WORD = re.compile(r"[\w$£€%](?:[\w'’.$%/-]|,(?=\d{3}))*[\w%]|[\w$%]")
FUNCTION = frozenset(
    """a an the and or but nor so yet of in on at by for to from with without into onto upon over under about above
    below between among through during before after since until as than that which who whom whose what when where why
    how this these those it its they them their he him his she her we us our you your i me my is are was were be been
    being am do does did doing have has had having will would shall should can could may might must not no also only
    very more most such there here then thus however although though while if because both either neither each every
    all any some other another same own just even still again further once""".split()
)
# A verb-looking word ends a noun phrase (no tagger: endings and a few auxiliaries).
_VERBISH = re.compile(r"^\w+(ed|ing)$|^(said|says|made|became|become|began|known|called|named|used|led|won|held)$", re.I)
SHAPES = ("date", "number", "name", "phrase", "quote", "list")
KINDS = ("date", "number", "person", "place", "thing", "other")


def stem(word: str) -> str:
    # A five-letter prefix is a cheap stemmer: "chairs"/"chairman", "adopted"/"adoption".
    return word.lower()[:5]


def question_terms(question: str) -> set[str]:
    return {stem(w) for w in WORD.findall(question) if w.lower() not in FUNCTION}


def _runs(sentence: str) -> list[list[tuple[int, int, str]]]:
    """Runs of content words (a poor man's noun chunk): broken by function words, verb-looking words, punctuation."""
    runs, run, prev = [], [], ""
    for m in WORD.finditer(sentence):
        w = (m.start(), m.end(), m.group(0))
        broken = run and sentence[run[-1][1] : w[0]].strip() not in ("", "-")
        if broken:
            runs.append(run)
            run = []
        after_det = prev.lower() in ("the", "a", "an", "its", "their", "his", "her", "our")
        prev = w[2]
        if w[2].lower() in FUNCTION or (_VERBISH.match(w[2]) and not after_det):
            if run:
                runs.append(run)
            run = []
        else:
            run.append(w)
    return runs + ([run] if run else [])


_ADVERB = re.compile(r"[A-Z][a-z]{4,}ly\b")


def candidates(sentence: str, question: str = "") -> list[tuple[int, int, str]]:
    """(start, end, shape) of every candidate span; shape is one of SHAPES.

    With the question, no candidate is made only of the question's words, and a name that opens with the question's own words also
    offers its rest: "Chairman of the Military Chamber Aziz Seyidov" for "Who
    chairs the Military Chamber?" offers "Aziz Seyidov".
    """
    q = question_terms(question) if question else set()
    out: dict[tuple[int, int], str] = {}
    dates = [m.span() for m in _DATE_RE.finditer(sentence)]
    for d in dates:
        out.setdefault(d, "date")
    for m in _NUM_RE.finditer(sentence):
        a, b = m.span()
        out.setdefault((a, b), "number")
        # the number with its unit or counted noun: "3.2 million people", "24 points"
        unit = re.match(r"\s+([A-Za-z][\w-]*)(\s+[A-Za-z][\w-]*)?", sentence[b:])
        if unit and unit.group(1).lower() not in FUNCTION:
            out.setdefault((a, b + unit.end(1)), "number")
            if unit.group(2) and unit.group(2).strip().lower() not in FUNCTION:
                out.setdefault((a, b + unit.end(2)), "number")
    for m in _NAME_RE.finditer(sentence):
        a, b = m.span()
        text = sentence[a:b].rstrip(".")
        b = a + len(text)
        words = text.split()
        while words and words[0].lower() in FUNCTION:  # "The", "In" at the start of the sentence
            a += len(words[0]) + (len(sentence[a + len(words[0]):]) - len(sentence[a + len(words[0]):].lstrip()))
            words = words[1:]
        if not words or b <= a or (a == 0 and len(words) == 1 and _ADVERB.fullmatch(words[0])):
            continue  # "Shortly, ..." is capitalised because it opens the sentence
        if b - a < 2:
            continue  # "S" of "S/2017/198", "A" opening a sentence
        out.setdefault((a, b), "name")
        inner = [m2 for m2 in WORD.finditer(sentence, a, b)]
        k = 0
        while k < len(inner) and (stem(inner[k].group(0)) in q or inner[k].group(0).lower() in FUNCTION):
            k += 1
        # ...but not a rest hung on them by "of the": in "Chairman of the Military Chamber of the
        # Supreme Court", the Court says which chamber; it is not who chairs it
        if 0 < k < len(inner) and inner[k - 1].group(0).lower() not in FUNCTION:
            out.setdefault((inner[k].start(), b), "name")
    refs = []
    for m in _REF_RE.finditer(sentence):
        a, b = m.span()
        bare = _DESIGNATOR_RE.match(sentence, a)
        refs.append((a, b, (a, bare.end()) if bare else (a,)))
        for start in refs[-1][2]:
            out[(start, b)] = "number"
    for m in _QUOTED_RE.finditer(sentence):  # a quoted title or term, without its quotes
        g = next(i for i in (1, 2, 3) if m.group(i) is not None)
        a, b = m.span(g)
        text = sentence[a:b].strip(" ,.")
        a = sentence.index(text, a)
        out.setdefault((a, a + len(text)), "quote")
    runs = _runs(sentence)
    for run in runs:  # the run and its last one to three words (the head noun with its modifiers)
        for i in range(max(0, len(run) - 3), len(run)):
            out.setdefault((run[i][0], run[-1][1]), "phrase")
        out.setdefault((run[0][0], run[-1][1]), "phrase")
    for r1, r2 in zip(runs, runs[1:]):
        gap = sentence[r1[-1][1] : r2[0][0]]
        # "X of (the) Y": the kind of phrase a what-question names as a whole
        if re.fullmatch(r"\s+(of|for|in|de)\s+(the\s+|a\s+|an\s+)?", gap):
            out.setdefault((r1[0][0], r2[-1][1]), "phrase")
            if len(r1) > 1:
                out.setdefault((r1[-1][0], r2[-1][1]), "phrase")
    i = 0
    while i < len(runs):  # "A, B, and C": a list is answered as a whole
        j = i
        while j + 1 < len(runs) and re.fullmatch(r"\s*(,|,?\s+and|,?\s+or)\s+", sentence[runs[j][-1][1] : runs[j + 1][0][0]]):
            j += 1
        if j > i:
            out.setdefault((runs[i][0][0], runs[j][-1][1]), "list")
        i = j + 1
    # "144", "1" and "section 144" are pieces of "section 144(1)"
    pieces = {k for k in out for a, b, starts in refs
              if (k[0] in starts and k[1] < b) or (a < k[0] and k[1] <= b and k[0] not in starts)
              or k[0] < a < k[1] < b}  # or reach into it from outside: "items 1" of "items 1(a)"
    # a date is whole too: "28th" of "28th of June 2005" is no answer to "How was the taskforce created?",
    # nor is a run reaching into one; its year stays ("What year...": SQuAD-tune gold sentences, EM +0.001)
    pieces |= {k for k in out for a, b in dates if k != (a, b) and not _YEAR_RE.fullmatch(sentence[k[0]:k[1]])
               and (a <= k[0] < k[1] <= b or k[0] < a < k[1] < b or a < k[0] < b < k[1])}
    return [(a, b, s) for (a, b), s in sorted(out.items())
            if b > a and (a, b) not in pieces and not (q and _restates(sentence[a:b], q)) and not _never(sentence[a:b])]


# Words that open, link or point, and are never an answer themselves: a manual's "Furthermore, you
# need..." offered "Furthermore" as a name, "to e.g. 800Kib/sec" offered "e.g" (SQuAD-tune gold
# sentences without them: F1 0.545/0.532 -> 0.546/0.534 train/dev).
_NEVER = frozenset("""furthermore moreover however therefore thus hence also otherwise instead meanwhile nevertheless
    nonetheless additionally finally firstly secondly thirdly lastly generally usually normally typically whether e.g
    i.e etc cf vs viz following above below respectively namely""".split())


def _never(text: str) -> bool:
    """A connective, an abbreviation such as "e.g", or no letter or digit at all (a quoted "--")."""
    plain = text.strip(" .").lower()
    return plain in _NEVER or not re.search(r"[^\W_]", plain)


def _restates(text: str, q: set[str]) -> bool:
    """Whether every content word of `text` is one of the question's: such a span repeats the question, never answers it.

    A hard rule because it costs nothing (SQuAD-tune dev, gold sentence: F1 0.489 -> 0.492); spans made
    *mostly* of question words are only demoted by the learned `overlap` weight, since dropping them
    cost 0.016 exact match.
    """
    words = [stem(w) for w in WORD.findall(text)]
    content = [w for w in words if w not in FUNCTION] or words
    return bool(content) and all(w in q for w in content)
