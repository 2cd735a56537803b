"""Cost of adding one document to a big index, against a full build.

    python -m bench.update            # SciFact abstracts, ~26k passages of <= 64 tokens

Prints a table and writes bench/results/update.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import ROOT, write_scifact_documents

NEW_DOC = (
    "Okapi population survey\n\n"
    "A survey of the okapi reserve in Ituri counted tracks along 40 transects in the dry season. "
    "Population density was estimated at 0.4 animals per square kilometre, lower than in 1995. "
    "Poaching and mining were the main pressures identified by rangers.\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=None, help="abstracts to use (default: all 5,183)")
    parser.add_argument("--chunk-tokens", type=int, default=64)
    args = parser.parse_args()

    import qa
    from qa.embedding import Embedder

    with tempfile.TemporaryDirectory() as tmp:
        docs, index = Path(tmp) / "documents", Path(tmp) / "index"
        n_docs = write_scifact_documents(docs, args.docs)
        settings = qa.Settings(documents=docs, index=index, chunk_tokens=args.chunk_tokens)
        t = time.perf_counter()
        embedder = Embedder(settings.model)
        embedder.model
        load_s = time.perf_counter() - t
        full = qa.build_index(settings, embedder=embedder, progress=True)
        (docs / "zz-new.txt").write_text(NEW_DOC, encoding="utf-8")
        one = qa.build_index(settings, embedder=embedder)
        (docs / "zz-new-2.txt").write_text(NEW_DOC.replace("okapi", "bonobo"), encoding="utf-8")
        t = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(index),
             "--chunk-tokens", str(args.chunk_tokens), "--json"],
            capture_output=True, text=True, check=True,
        )
        cli_s = time.perf_counter() - t
        cli_report = json.loads(cli.stdout)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "index", "--documents", str(docs), "--index", str(index),
                        "--chunk-tokens", str(args.chunk_tokens), "--json"], capture_output=True, check=True)
        noop_s = time.perf_counter() - t
    rows = [
        ("documents", n_docs),
        ("passages", full.passages),
        ("full build, s (model already loaded)", round(full.seconds, 1)),
        ("model load, s", round(load_s, 1)),
        ("add one document, in process, s", round(one.seconds, 2)),
        ("passages embedded for it", one.embedded),
        ("add one document, `qa index` new process, s", round(cli_s, 1)),
        ("no change, `qa index` new process, s", round(noop_s, 2)),
        ("ratio add-one (in process) / full", f"{one.seconds / full.seconds:.2%}"),
        ("ratio add-one (new process) / full", f"{cli_s / full.seconds:.2%}"),
    ]
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "update.json").write_text(json.dumps({
        "machine": platform.platform(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"), **{k: v for k, v in rows}, "cli_report": cli_report,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
