"""OCR for PDF pages without a usable text layer: Debian's `tesseract` binary, results cached by image hash.

The binary is called with a timeout and asked for TSV, which gives every word
with its box and confidence; the boxes become the same `Line` records the text
layer produces, so running headers on a scanned book are found the same way.
Results are cached as JSON under $QA_CACHE_DIR/ocr (default ~/.cache/qa/ocr),
keyed by the sha256 of the rendered page's PNG bytes, so an unchanged scan is
never read twice: OCR costs seconds a page, the cache lookup microseconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .layout import Line, clean_line

HINT = "install tesseract-ocr: sudo apt-get install tesseract-ocr"
# 300 dpi is what Tesseract is trained for; fewer pixels lose small print, more only cost time.
DPI = 300
# A poster-sized page at 300 dpi would need gigabytes; cap the image and accept a lower resolution.
MAX_PIXELS = 40_000_000
CACHE_VERSION = 1


class OcrError(Exception):
    """OCR of one page failed (timeout, engine error); the message says which."""


@dataclass(frozen=True)
class OcrPage:
    """Tesseract's reading of one page image, in image pixels."""

    # (text, top, bottom, right, starts a paragraph) per line, in reading order
    lines: tuple[tuple[str, float, float, float, bool], ...]
    confidence: float | None  # mean word confidence, 0..100; None when no word was found


def tesseract() -> str | None:
    """The tesseract binary to use, or None when OCR is unavailable.

    $QA_TESSERACT overrides the PATH lookup; set it to "" (or a missing file)
    to turn OCR off.
    """
    env = os.environ.get("QA_TESSERACT")
    if env is not None:
        return env if env and os.path.isfile(env) and os.access(env, os.X_OK) else None
    return shutil.which("tesseract")


def _timeout() -> float:
    try:
        return max(1.0, float(os.environ.get("QA_OCR_TIMEOUT", "60")))
    except ValueError:
        return 60.0


def cache_dir() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa") / "ocr"


def render_png(page, scale: float, grayscale: bool = True) -> bytes:
    """A PDFium page rendered at `scale` (pixels per point) as PNG bytes."""
    bitmap = page.render(scale=scale, grayscale=grayscale)
    try:
        buf = io.BytesIO()
        # Level 1: the PNG only travels to Tesseract or a browser; speed beats size.
        bitmap.to_pil().save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    finally:
        bitmap.close()


def ocr_scale(page) -> float:
    """Pixels per point for OCR: DPI/72, reduced for huge pages so the image stays under MAX_PIXELS."""
    width, height = page.get_size()
    scale = DPI / 72
    area = max(width * height, 1.0)
    return min(scale, (MAX_PIXELS / area) ** 0.5)


def read_page(page, exe: str, lang: str | None = None) -> tuple[list[Line], float | None]:
    """OCR one PDFium page: its lines (geometry in points from the page top) and mean confidence."""
    scale = ocr_scale(page)
    result = read_png(render_png(page, scale), exe, lang)
    lines = []
    for text, top, bottom, right, para in result.lines:
        height = (bottom - top) / scale
        lines.append(Line(text=text, base=bottom / scale, size=height, x1=right / scale, para=para))
    return lines, result.confidence


def read_png(png: bytes, exe: str, lang: str | None = None) -> OcrPage:
    """OCR a PNG with the cache in front; raises OcrError when Tesseract fails or times out."""
    lang = lang or os.environ.get("QA_OCR_LANG") or "eng"
    digest = hashlib.sha256(png).hexdigest()
    path = cache_dir() / f"{digest}.{lang}.v{CACHE_VERSION}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        lines = tuple((str(t), float(a), float(b), float(r), bool(p)) for t, a, b, r, p in cached["lines"])
        conf = cached["confidence"]
        return OcrPage(lines, None if conf is None else float(conf))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no entry, or a damaged one: read the page again and overwrite it
    result = _run(png, exe, lang)
    _store(path, {"lines": [list(x) for x in result.lines], "confidence": result.confidence})
    return result


def _run(png: bytes, exe: str, lang: str) -> OcrPage:
    # One thread: with its OpenMP threads Tesseract read the test scan at 0.2 pages/s on this
    # 2-core machine, against 1.4 pages/s single-threaded.
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(
            [exe, "stdin", "stdout", "-l", lang, "--psm", "3", "tsv"],
            input=png,
            capture_output=True,
            timeout=_timeout(),
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OcrError(f"OCR gave up after {_timeout():.0f} s") from None
    except OSError as exc:
        raise OcrError(f"tesseract could not be started ({exc.strerror or exc})") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise OcrError(f"tesseract failed ({tail[0][:200]})")
    return parse_tsv(done.stdout.decode("utf-8", "replace"))


def parse_tsv(tsv: str) -> OcrPage:
    """Lines and mean word confidence from Tesseract's TSV (one row per word at level 5)."""
    lines: dict[tuple[int, int, int], list] = {}
    confs: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        word = clean_line(cols[11])
        if not word:
            continue
        if conf >= 0:
            confs.append(conf)
        entry = lines.setdefault((block, par, line), [[], top, top + height, left + width])
        entry[0].append(word)
        entry[1], entry[2], entry[3] = min(entry[1], top), max(entry[2], top + height), max(entry[3], left + width)
    out = []
    previous = None
    for (block, par, _), (words, top, bottom, right) in lines.items():
        out.append((" ".join(words), float(top), float(bottom), float(right), (block, par) != previous))
        previous = (block, par)
    return OcrPage(tuple(out), sum(confs) / len(confs) if confs else None)


def _store(path: Path, payload: dict) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a cache entry; failures are harmless."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
