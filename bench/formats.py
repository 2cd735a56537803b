"""Formats: extraction speed (PDF text layer, OCR), reading vs embedding in a build, and PDF vs HTML agreement.

    python -m bench.formats [--ocr-pages 6]

Uses Debian's manuals (make test installs them): debmake-doc (143-page PDF)
and developers-reference (the same manual as PDF and single-page HTML, asked
the questions of tests/data/manuals/developers-reference).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import ROOT

DEBMAKE = Path("/usr/share/doc/debmake-doc/debmake-doc.en.pdf")
DEVREF = Path("/usr/share/developers-reference")
QUESTIONS = ROOT / "tests" / "data" / "manuals" / "developers-reference" / "questions.jsonl"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def pdf_speed() -> dict:
    from qa.readers import read_file

    data = DEBMAKE.read_bytes()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        e = read_file(DEBMAKE.name, DEBMAKE, data)
        times.append(time.perf_counter() - t)
    best = min(times)
    return {"pdf_pages": len(e.pages), "pdf_read_s": round(best, 2), "pdf_pages_per_s": round(len(e.pages) / best)}


def ocr_speed(pages: int) -> dict:
    """Render manual pages to images, save them as an image-only PDF, read it with OCR (cache off)."""
    import pypdfium2 as pdfium
    from PIL import Image

    from qa.readers import read_file

    if not shutil.which("tesseract"):
        return {"ocr": "tesseract not installed"}
    doc = pdfium.PdfDocument(str(DEBMAKE))
    images = [doc[i].render(scale=300 / 72).to_pil().convert("L") for i in range(10, 10 + pages)]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=300)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["QA_CACHE_DIR"] = cache
        t = time.perf_counter()
        e = read_file("scan.pdf", Path("scan.pdf"), buf.getvalue())
        first = time.perf_counter() - t
        t = time.perf_counter()
        read_file("scan.pdf", Path("scan.pdf"), buf.getvalue())
        again = time.perf_counter() - t
        del os.environ["QA_CACHE_DIR"]
    conf = [c for c in e.ocr if c is not None]
    return {"ocr_pages": pages, "ocr_pages_per_s": round(pages / first, 2), "ocr_cached_pages_per_s": round(pages / again, 1),
            "ocr_mean_confidence": round(sum(conf) / max(1, len(conf)), 1)}


def build_and_ask(folder: Path, name: str, questions: list[dict], embedder) -> tuple[dict, list]:
    import qa
    from qa.documents import read, scan

    t = time.perf_counter()
    for s in scan(folder).files:
        read(s)
    read_s = time.perf_counter() - t
    report = qa.build_index(qa.Settings(documents=folder, index=folder.parent / f"index-{name}"), embedder=embedder)
    searcher = qa.Searcher(folder.parent / f"index-{name}", embedder=embedder)
    answers = [searcher.ask(q["q"], k=5) for q in questions]
    return {"passages": report.passages, "build_s": round(report.seconds, 1), "read_s": round(read_s, 2),
            "read_share": round(read_s / report.seconds, 3)}, answers


def agreement(embedder) -> dict:
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [q for q in questions if q["gold"]]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        answers = {}
        for kind, src in (("pdf", DEVREF / "developers-reference.pdf"), ("html", DEVREF / "developers-reference.html")):
            folder = Path(tmp) / kind / "documents"
            folder.mkdir(parents=True)
            shutil.copy(src, folder / src.name)
            out[kind], answers[kind] = build_and_ask(folder, kind, questions, embedder)
    found = {k: [any(_norm(g) in _norm(a.passages[0].text) for g in q["gold"]) for q, a in zip(questions, v)] for k, v in answers.items()}
    top5 = {k: [any(_norm(g) in _norm(h.text) for h in a.passages for g in q["gold"]) for q, a in zip(questions, v)] for k, v in answers.items()}
    same = sum(p == h for p, h in zip(found["pdf"], found["html"]))
    # the PDF's running header as it prints it (a curly apostrophe), not the manual's name in its own text
    # ("This is Debian Developer's Reference version 12.18"), and a bare page number
    header = re.compile(r"Debian Developer['’]s Reference, Release|^\d+$")
    leaks = sum(bool(header.search(h.text)) for a in answers["pdf"] for h in a.passages)
    out.update({
        "questions": len(questions),
        "pdf_first": round(sum(found["pdf"]) / len(questions), 3), "html_first": round(sum(found["html"]) / len(questions), 3),
        "pdf_top5": round(sum(top5["pdf"]) / len(questions), 3), "html_top5": round(sum(top5["html"]) / len(questions), 3),
        "same_outcome_first": round(same / len(questions), 3),
        "pdf_passages_with_running_header": leaks,
    })
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ocr-pages", type=int, default=6)
    args = parser.parse_args()
    if not DEBMAKE.exists() or not DEVREF.exists():
        print("error: needs Debian's debmake-doc and developers-reference (make test installs them)", file=sys.stderr)
        return 2
    from qa.encoders import for_build

    embedder = for_build("all-MiniLM-L6-v2")
    r = {**pdf_speed(), **ocr_speed(args.ocr_pages), **agreement(embedder)}
    print(f"\nFormats, {dt.date.today()}, {platform.platform()}, {os.cpu_count()} CPUs\n")
    print("| measure | value |\n|---|---|")
    rows = [
        ("PDF text layer: debmake-doc pages / s (best of 3)", f"{r['pdf_pages']} pages in {r['pdf_read_s']} s = {r['pdf_pages_per_s']} pages/s"),
        ("OCR (tesseract, 300 dpi A4 pages) pages / s", r.get("ocr_pages_per_s", r.get("ocr"))),
        ("OCR again from its cache, pages / s", r.get("ocr_cached_pages_per_s")),
        ("OCR mean confidence", r.get("ocr_mean_confidence")),
        ("developers-reference PDF: passages, build s, reading share", f"{r['pdf']['passages']}, {r['pdf']['build_s']} s, {r['pdf']['read_share']:.1%}"),
        ("developers-reference HTML: passages, build s, reading share", f"{r['html']['passages']}, {r['html']['build_s']} s, {r['html']['read_share']:.1%}"),
        (f"answer in first passage, PDF / HTML ({r['questions']} questions)", f"{r['pdf_first']} / {r['html_first']}"),
        ("answer in top 5, PDF / HTML", f"{r['pdf_top5']} / {r['html_top5']}"),
        ("same outcome for the first passage, PDF vs HTML", r["same_outcome_first"]),
        ("PDF passages holding the running header", r["pdf_passages_with_running_header"]),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "formats.json").write_text(json.dumps({"date": str(dt.date.today()), "machine": platform.platform(), **r}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
