"""What the web page needs from the library: safe rendering of answers, and adding texts.

Document text is untrusted. Everything taken from a document is HTML-escaped
and Markdown-escaped here before it reaches the page, so a document holding
`<script>` or a `javascript:` link is shown as those characters and nothing runs.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from bisect import bisect_right
from urllib.parse import quote
from dataclasses import dataclass
from pathlib import Path
from typing import Container, Iterable, Sequence

from .answer import Answer, Citation, Hit
from .readers import Read, Unreadable, read_file, read_path, registration, size_problem, suffix_list

_SURROUNDING_LINES = 4
_WORDS = re.compile(r"[^\W_]{3,}")


def escape(text: str) -> str:
    """Untrusted text → HTML that displays the same characters, on one source line: the reply is one HTML
    block with no newline characters, and Markdown does not parse inside an HTML block until a blank line,
    so escaping HTML is enough and no document text can end the block and be read as Markdown."""
    return html.escape(text, quote=True).replace("\r", "").replace("\n", "&#10;")


def _passage_html(hit: Hit, mark: bool = True) -> str:
    a, b = (hit.answer_start, hit.answer_end) if mark else (0, 0)
    body = escape(hit.text[:a]) + ("<mark>" + escape(hit.text[a:b]) + "</mark>" if b else "") + escape(hit.text[b:])
    return body.replace("&#10;&#10;", "<br><br>").replace("&#10;", " ")


def file_lines(documents: Path, hit: Hit) -> Read | None:
    """The passage's original file read (only inside `documents`), or None: also when its cited lines
    no longer hold the passage (the file was edited since the index was built; at least half its words)."""
    path = (Path(documents) / hit.citation.document).resolve()
    try:  # a file removed or replaced meanwhile is shown without its surrounding lines
        read = read_path(path) if Path(documents).resolve() in path.parents else None
    except (Unreadable, OSError):
        return None
    c, words = hit.citation, set(_WORDS.findall(hit.text.lower()))
    ok = read and c.line_end <= len(read.lines) and len(words & set(_WORDS.findall(
        "\n".join(read.lines[c.line_start - 1 : c.line_end]).lower()))) >= len(words) / 2
    return read if ok else None


def numbered_lines(lines: Sequence[str], a: int, b: int, window: int, pages: Sequence[int] = (),
                   paragraphs: Container[int] = ()) -> str:
    """Lines `a` to `b` (1-based) marked, with `window` more on each side, each a row beside its number:
    a wrapped line stays right of the numbers (in a <pre> it wrapped under them on a phone). With
    `pages` (the line each page starts on) a row's number is its line on its page, as the citation
    counts it ("p. 3, lines 12-14"), under "Page N" where the rows reach a page. A line in `paragraphs`
    starts one with no blank line before it (a PDF's paragraph gap): it is set apart by space, not a line."""
    first, last = max(1, a - window), min(len(lines), b + window)
    out = ['<div class="qa-lines">']
    if first > 1:
        out.append(f'<p class="qa-more">… {first - 1} lines before</p>')
    for n in range(first, last + 1):
        hl, page = " qa-hl" if a <= n <= b else "", bisect_right(pages, n)
        hl += " qa-para" if n in paragraphs and n != first else ""
        if page and (n == first or pages[page - 1] == n):
            out.append(f'<p class="qa-more qa-page-start">Page {page}</p>')
        shown = n - pages[page - 1] + 1 if page else n
        out.append(f'<div class="qa-line{hl}" data-line="{n}"><span class="qa-ln" aria-hidden="true">{shown}</span>'
                   f'<span class="qa-lt">{escape(lines[n - 1]) or "&#160;"}</span></div>')
    if last < len(lines):
        out.append(f'<p class="qa-more">… {len(lines) - last} lines after</p>')
    out.append("</div>")
    return "".join(out)


def strength(answer: Answer, hit: Hit) -> str:
    """The one rule for a source's plain strength label: strong, partial or weak.

    Not answered: every passage is weak. Otherwise the passage the answer
    comes from has the answer's own calibrated label (it sat below a passage
    scored higher, "weak" beside a "strong" answer); another scoring at least
    three quarters of the best one is strong, half of it partial, less weak,
    and none is stronger than the answer's label.
    """
    if answer.answer is None or not answer.passages:
        return "weak"
    if hit.rank == _marker(answer):
        return answer.label
    top = max(h.score for h in answer.passages) or 1.0
    ratio = hit.score / top
    own = "strong" if ratio >= 0.75 else "partial" if ratio >= 0.5 else "weak"
    # never stronger than the answer itself: a "partial" answer with a "strong" source contradicts itself
    return min(own, answer.label, key=("weak", "partial", "strong").index)


def _cite_button(c: Citation, rank: int, text: str) -> str:
    """A `[n]` marker or citation the page's script opens in the document panel: the target is in the
    link's fragment (the chat's sanitiser keeps `href="#..."` but drops data attributes); no script here."""
    page = c.page_start if c.page_start is not None else ""
    target = quote(f"{c.document}|{c.line_start}|{c.line_end}|{page}", safe="")
    return (f'<a class="qa-cite" role="button" href="#qa-cite={target}" title="Open source {rank}: {escape(str(c))}">'
            f"{text}</a>")


def _best_html(answer: Answer) -> str:
    best = answer.answer
    text, span = best.sentence, best.span
    if span is not None and 0 <= span.start < span.end <= len(text):
        a, b = span.start, span.end
        # the span's own line(s), so a person can check the short answer where it stands
        where = f' title="{escape(str(span.citation))}"' if span.citation is not None else ""
        return escape(text[:a]) + f'<mark class="qa-span"{where}>' + escape(text[a:b]) + "</mark>" + escape(text[b:])
    return escape(text)


def plain_text(answer: Answer) -> str:
    """What the copy button copies: the answer and its citation as plain text, never HTML."""
    if answer.answer is None:
        lines = ["The documents do not seem to answer this question.", "Nearest passages:"]
        lines += [f"[{h.rank}] {h.citation}" for h in answer.passages]
        return "\n".join(lines)
    rank = _marker(answer)
    return f"{answer.answer.sentence} [{rank}] {answer.answer.citation}"


def _marker(answer: Answer) -> int:
    return next((h.rank for h in answer.passages if h.answer_sentence == answer.answer.sentence), 1)


def _where(c: Citation, rank: int, label: str) -> str:
    """The answer's citation line, "— title · section · file, lines · strong match", in parts page.css
    keeps on one line: the title and section shorten first, then the file name (each whole in its
    tooltip), never the page and lines nor the label."""
    named = escape(c.title + (f" · {c.section}" if c.section else ""))
    chip = (f'<span class="qa-cite-file" title="{escape(c.document)}">{escape(c.document)}</span>'
            f'<span class="qa-cite-lines">{escape(", " + c.place)}</span>')
    return (f'<p class="qa-where"><small><span class="qa-where-name" title="{named}">— {named}</span>'
            f'<span class="qa-sep"> · </span>{_cite_button(c, rank, chip)}<span class="qa-sep"> · </span>'
            f'<span class="qa-label qa-{escape(label)}">{escape(label)} match</span></small></p>')


def render_answer(answer: Answer, documents: Path | None = None) -> str:
    """The chat reply as one HTML block: the short answer and its citation first, then compact source cards."""
    out: list[str] = ['<div class="qa-answer" role="article" aria-label="Answer">']
    if answer.answer is not None:
        rank, c = _marker(answer), answer.answer.citation
        label = answer.label  # calibrated: strong, partial, or weak
        out.append(f'<p class="qa-best"><strong>{_best_html(answer)}</strong> {_cite_button(c, rank, f"[{rank}]")}</p>')
        out.append(_where(c, rank, label))
    else:
        out.append('<p class="qa-best qa-none"><strong>Not found: the documents do not seem to answer this question.</strong></p>')
    out.append(f'<p class="qa-tools"><a class="qa-copy" role="button" href="#qa-copy">Copy answer</a>'
               f'<span class="qa-plain">{escape(plain_text(answer))}</span></p>')
    if answer.interpreted_as:  # a follow-up: say what was searched, so a wrong reading is visible
        out.append(f'<p class="qa-searched"><small>Searched as: {escape(answer.interpreted_as)}</small></p>')
    for notice in answer.notices:
        out.append(f"<p><em>Note: {escape(notice)}</em></p>")
    if answer.answer is not None:
        out.append(f'<details class="qa-sources" open><summary><strong>Sources</strong> ({len(answer.passages)})</summary>')
    else:
        out.append(f'<details class="qa-sources"><summary>Nearest passages ({len(answer.passages)}), all weak matches</summary>')
    for h in answer.passages:
        out.append(_card(answer, h, documents))
    out.append("</details></div>")
    return "".join(out)


def _card(answer: Answer, h: Hit, documents: Path | None) -> str:
    c, label = h.citation, strength(answer, h)
    section = f" · {escape(c.section)}" if c.section else ""
    out = [f'<div class="qa-source"><p>{_cite_button(c, h.rank, f"[{h.rank}]")} <strong>{escape(c.title)}</strong>{section}<br>'
           f'<small>Passage: {escape(str(c))} · <span class="qa-label qa-{escape(label)}"><em>{escape(label)} match</em></span></small></p>']
    sentence = escape(h.answer_sentence)
    out.append("<blockquote>" + (f"<mark>{sentence}</mark>" if answer.answer is not None else sentence) + "</blockquote>")
    for other in h.also_in:
        out.append(f"<p><small>Same text also in {escape(str(other))}</small></p>")
    context = file_lines(documents, h) if documents is not None else None
    # the passage in its file, marked among the lines around it; its text alone when the file cannot be read
    # (both, one under the other, showed the passage twice and its sentence a third time)
    out.append("<details><summary>Context</summary>")
    if context:
        out.append(f"<p><small>Surrounding text in the file, the passage marked</small></p>"
                   + numbered_lines(context.lines, c.line_start, c.line_end, _SURROUNDING_LINES, context.pages,
                                    context.paragraphs))
    else:
        out.append("<blockquote>" + _passage_html(h, answer.answer is not None) + "</blockquote>")
    out.append("</details></div>")
    return "".join(out)


def error_reply(message: str) -> str:
    """A chat reply saying what went wrong, in words (announced to screen readers as an alert)."""
    return f'<div class="qa-answer qa-error" role="alert"><p class="qa-best">⚠️ {escape(message)}</p></div>'


def unexpected(exc: Exception) -> str:
    """The page's words for a bug: never a traceback on the page; the terminal running it gets one."""
    import traceback

    traceback.print_exception(exc)
    return "Something went wrong on the server while answering; the terminal running the page has the details."


# Adding texts ------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """The outcome for one uploaded file: saved under `name`, or refused with `error`."""

    original: str
    name: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def safe_name(original: str) -> str | None:
    """A plain file name inside the documents folder, or None if nothing usable is left."""
    base = re.split(r"[\\/]", original)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    base = re.sub(r"\s+", " ", base)
    if not base or base in {".", ".."}:
        return None
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        return base[:120]
    return f"{stem[:110]}.{suffix[:10]}"


def _taken(target: Path, data: bytes) -> str:
    """Why an upload whose name is taken was not saved. Never overwritten (another person's file, on a shared page)."""
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return f"{target.name} is already in the documents, unchanged"
    except OSError:
        pass
    return f"another document named {target.name} exists; remove it first to replace it, or rename the file"


def add_files(documents: Path, files: Iterable[tuple[str, Path]], each=None) -> list[Upload]:
    """Copy uploaded files (original name, temp path) into `documents`.

    Each file passes the same checks as a build (type, size, and its reader
    must extract text from it); refusals say why. Never overwrites and never
    writes outside `documents`; saved files get normal permissions. `each(i, n,
    name)` is called before each file: reading a scanned PDF takes seconds.
    """
    documents = Path(documents)
    documents.mkdir(parents=True, exist_ok=True)
    results = []
    files = list(files)
    for i, (original, temp) in enumerate(files):
        if each is not None:
            each(i, len(files), original)
        name = safe_name(original)
        if name is None:
            results.append(Upload(original, None, "the file name is empty after removing unsafe characters"))
            continue
        if registration(name) is None:
            results.append(Upload(original, None, f"only {suffix_list()} files can be added"))
            continue
        problem = size_problem(name, Path(temp).stat().st_size)
        if problem:
            results.append(Upload(original, None, problem))
            continue
        data = Path(temp).read_bytes()
        try:
            if not read_file(name, Path(temp), data).text.strip():
                raise Unreadable("empty (no text)")
        except Unreadable as exc:
            results.append(Upload(original, None, str(exc)))
            continue
        target = documents / name
        if target.resolve().parent != documents.resolve():
            results.append(Upload(original, None, "the file name points outside the documents folder"))
            continue
        if target.exists():
            results.append(Upload(original, None, _taken(target, data)))
            continue
        fd, tmp = tempfile.mkstemp(dir=documents, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            # mkstemp makes the file private (0600); a document is an ordinary file.
            os.chmod(tmp, 0o644)
            # link() fails if the name appeared meanwhile: never overwrite.
            os.link(tmp, target)
        except FileExistsError:
            results.append(Upload(original, None, _taken(target, data)))
            continue
        finally:
            Path(tmp).unlink(missing_ok=True)
        results.append(Upload(original, name))
    return results
