"""Real text for benchmarks: the SciFact corpus (../shared/eval/scifact), one file per abstract."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"


def write_scifact_documents(target: Path, limit: int | None = None, corpus: Path = SCIFACT / "corpus.jsonl") -> int:
    """Write each abstract as `<id>.txt` (title line, blank line, text); returns the count."""
    target.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and n >= limit:
                break
            doc = json.loads(line)
            (target / f"{doc['_id']}.txt").write_text(f"{doc.get('title', '').strip()}\n\n{doc['text'].strip()}\n", encoding="utf-8")
            n += 1
    return n


def cpu_name() -> str:
    """The processor's model name, for the header of every bench table."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def child_json(module: str, args: list[str]) -> dict:
    """`python -m module args` in a fresh process (its own memory and imports, measured alone); its last stdout line, as JSON."""
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
