"""The `qa` command: `qa index` builds or updates the index, `qa ask` answers."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Sequence

from . import followup
from .errors import QAError
from .settings import DEFAULT_MODEL, Settings
from .text import counted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions of a folder of documents; every answer is a cited passage.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build the index, or update it after texts were added, changed or removed")
    p.add_argument("--documents", default="documents", help="folder of documents (default: documents)")
    p.add_argument("--index", default="index", help="index folder (default: index)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"sentence-transformers model name or local path (default: {DEFAULT_MODEL})")
    p.add_argument("--chunk-tokens", type=int, default=Settings.chunk_tokens, help="passage size limit in model tokens")
    p.add_argument("--overlap-sentences", type=int, default=Settings.overlap_sentences, help="sentences shared by consecutive passages of a long paragraph")
    p.add_argument("--batch-size", type=int, default=Settings.batch_size, help="passages embedded per batch")
    p.add_argument("--backend", choices=["faiss", "milvus"], default=Settings.backend,
                   help="where the searchable index lives (default: faiss, files in --index); changing it migrates without re-embedding")
    p.add_argument("--device", default=Settings.device, help="where bulk embedding runs: auto (every GPU, else CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--uri", help="Milvus: a server URL (token from QA_MILVUS_TOKEN) or a Milvus Lite file (default: INDEX/milvus.db)")
    p.add_argument("--full", action="store_true", help="rebuild everything instead of updating")
    p.add_argument("--clear-cache", action="store_true", help="forget cached embeddings first (they are kept across builds)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("verify", help="check the index: checksums, counts, model, and every citation against the files")
    p.add_argument("--index", default="index", help="index folder (default: index)")
    p.add_argument("--documents", default="documents", help="documents folder to check citations against (default: documents)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("info", help="list the index's documents (the IDs --document takes), its model and size")
    p.add_argument("--index", default="index", help="index folder (default: index)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("eval", help="measure retrieval on a BEIR folder, or answers against a gold questions file")
    p.add_argument("beir", nargs="?", help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)")
    p.add_argument("--split", default=None,
                   help='BEIR: qrels split (default: test); --questions: only questions whose "split" is this (default: all)')
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "bm25"], help="retrieval to measure (default: hybrid)")
    p.add_argument("--work", help="folder for the BEIR corpus files, index and embedding cache (default: ~/.cache/qa-eval/...)")
    p.add_argument("--questions", help='JSON lines of {"q": ..., "gold": [...]}; "gold": [] marks an off-topic question')
    p.add_argument("--documents", default="documents", help="documents for --questions (default: documents)")
    p.add_argument("--index", default="index", help="index for --questions, built or updated first (default: index)")
    p.add_argument("-k", type=int, default=5, help="passages per question for --questions (default: 5)")
    p.add_argument("--reranker", metavar="FOLDER", help=RERANKER_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("ask", help="answer a question from the index")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--index", default="index", help="index folder (default: index)")
    p.add_argument("-k", type=int, default=Settings.k, help="how many passages (default: 5)")
    p.add_argument("--document", action="append", dest="documents", metavar="ID", help="only search this document (repeatable)")
    p.add_argument("--reranker", metavar="FOLDER", help=RERANKER_HELP)
    p.add_argument("--session", metavar="FILE", help="a conversation kept in this JSON file: the question may lean "
                   "on its last turns (\"When was it adopted?\") and is added to it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


RERANKER_HELP = ("a sentence-transformers CrossEncoder saved in this folder orders the best passages again "
                 "(off by default; loads torch)")


def settings_of(args: argparse.Namespace) -> Settings:
    """Flags map one to one onto Settings fields (dashes become underscores)."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    return Settings(**{k: v for k, v in vars(args).items() if k in fields and v is not None})


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Library warnings (a damaged generation, a repaired pointer) are one line
    # for a person, like errors, not a source location.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = _run(args)
            sys.stdout.flush()  # inside the try: a closed pipe is found here, not at exit
            return code
        except BrokenPipeError:
            # `qa ask ... | head`: the reader of our output left; that is not an error to show
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        finally:
            for w in {str(w.message): w for w in caught}:
                print(f"warning: {w}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    try:
        return {"index": _index, "verify": _verify, "info": _info, "eval": _eval, "ask": _ask}[args.command](args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _index(args: argparse.Namespace) -> int:
    from .build import build_index

    settings = settings_of(args)
    log = None if args.json else (lambda m: print(m, file=sys.stderr))
    if args.clear_cache:
        from .cache import clear

        clear(Path(args.index))
    report = build_index(settings, full=args.full, progress=not args.json, log=log)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    if report.up_to_date:
        print(f"Index is up to date: {counted(report.documents, 'document')}, {counted(report.passages, 'passage')} "
              f"({report.seconds:.1f} s).")
    else:
        parts = [f"{len(report.added)} added", f"{len(report.changed)} changed", f"{len(report.removed)} removed", f"{report.unchanged} unchanged"]
        print(f"Indexed {counted(report.documents, 'document')} into {counted(report.passages, 'passage')} "
              f"({report.embedded} embedded; files: {', '.join(parts)}) in {report.seconds:.1f} s.")
        from .store import EXACT_BELOW

        params = report.store_params
        search = ("exact search" if report.store == "faiss-flat-ip" else
                  f"approximate search (IVF: {params.get('nlist')} cells, {params.get('nprobe')} scanned per question)")
        # say what a person notices: whether a question loads torch (seconds) or not
        encoder = ("the fast path (ONNX Runtime, without torch; its vectors checked against the model's)" if report.fast_query
                   else "the model itself (torch)")
        print(f"Vectors: {search}, {counted(report.passages, 'passage')} (exact below {EXACT_BELOW:,}); questions are encoded by {encoder}.")
    for s in report.skipped:
        print(f"  skipped {s.document}: {s.reason}")
    for n in report.notes:
        print(f"  note {n.document}: {n.reason}")
    if report.ignored:
        print(f"  not read (no reader for their type): {', '.join(f'{n} {s}' for s, n in report.ignored.items())}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from . import evaluation

    log = None if args.json else (lambda m: print(m, file=sys.stderr))
    if args.questions:
        from .build import build_index
        from .search import Searcher

        build_index(settings_of(args), log=log)
        report = evaluation.evaluate_questions(Path(args.questions), Searcher(args.index, reranker=args.reranker), k=args.k, split=args.split)
        result = report.to_dict()
    elif args.beir:
        result = evaluation.evaluate_beir(
            Path(args.beir), split=args.split or "test", mode=args.mode, work=Path(args.work) if args.work else None, log=log,
            reranker=args.reranker,
        ).to_dict()
    else:
        print("error: give a BEIR folder or --questions FILE", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            if isinstance(value, list):
                print(f"{key:<{width}}  {len(value)}")
                for item in value:
                    print(f"{'':<{width}}  - {item}")
            else:
                print(f"{key:<{width}}  {value}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify

    report = verify(Path(args.index), Path(args.documents))
    if args.json:
        print(json.dumps({"ok": report.ok, "generation": report.generation, "passages": report.passages,
                          "problems": list(report.problems), "stale": list(report.stale)}))
    elif report.ok:
        print(f"Index {args.index} is sound: generation {report.generation}, {report.passages} passages, every citation checked.")
    else:
        if report.problems:
            print(f"Index {args.index} has {len(report.problems)} problem(s):")
            for problem in report.problems:
                print(f"  - {problem}")
        if report.stale:
            sound = "is sound but " if report.sound else ""
            print(f"Index {args.index} {sound}does not match {args.documents} ({len(report.stale)} difference(s)):")
            for line in report.stale:
                print(f"  - {line}")
    return 0 if report.ok else 1


def _info(args: argparse.Namespace) -> int:
    from .current import Current
    from .search import index_info

    info = index_info(Current(Path(args.index)).held.manifest)
    if args.json:
        print(json.dumps(dataclasses.asdict(info), ensure_ascii=False))
        return 0
    print(f"Index {args.index}: generation {info.generation}, built {info.built_at}, model {info.model}, "
          f"{counted(len(info.documents), 'document')}, {counted(info.passages, 'passage')}.")
    for d in info.documents:
        pages = f", {counted(d.pages, 'page')}" if d.pages else ""
        print(f"  {d.id}  ({counted(d.passages, 'passage')}{pages})  {d.title}")
    return 0


def _ask(args: argparse.Namespace) -> int:
    from . import manifest
    from .current import current_name
    from .fast_encoder import prefetch

    history = _session(args.session) if args.session else []
    if history is None:
        return 2
    # The question encoder opens in the background while the answer code is
    # imported and the index opened (a new process pays both once).
    name = current_name(Path(args.index))
    if name is not None:
        try:
            prefetch(manifest.read(Path(args.index) / name).model.sha256)
        except QAError:
            pass  # Searcher says what is wrong, or serves an earlier generation
    from .search import Searcher

    answer = Searcher(args.index, reranker=args.reranker).ask(args.question, k=args.k, documents=args.documents,
                                                               history=history)
    if args.session:
        try:
            followup.write_session(Path(args.session), followup.turns([*history, followup.turn(answer)]))
        except OSError as exc:  # the answer still stands; only the conversation is not kept
            print(f"note: the session {args.session} cannot be written ({exc})", file=sys.stderr)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    for notice in answer.notices:
        print(f"note: {notice}")
    if answer.interpreted_as:
        print(f"note: searched as: {answer.interpreted_as}")
    best = answer.answer
    if best is not None:
        if best.span is not None:
            cited = f"  ({best.span.citation})" if best.span.citation is not None else ""
            print(f"Answer: {best.span.text}{cited}")
        print(textwrap.fill(best.sentence, 100))
        print(f"  — {_named(best.citation)} ({best.citation}) · {answer.label} match, confidence {answer.confidence:.2f}\n")
    else:
        print(f"The documents do not seem to answer this (confidence {answer.confidence:.2f}). The nearest passages:\n")
    for h in answer.passages:
        print(f"[{h.rank}] {h.citation}  score {h.score:.3f}  {_named(h.citation)}")
        print(textwrap.indent(textwrap.fill(_mark(h), 100), "    "))
        for c in h.also_in:
            print(f"    (same text also at {c})")
        print()
    return 0


def _session(path: str) -> list | None:
    """The turns kept in a session file ([] for a new or empty one), or None (said on stderr) for a file that
    is not one: it may be a person's own file, and is left as it is."""
    try:
        return followup.read_session(Path(path))
    except (OSError, ValueError) as exc:
        print(f"error: {path} is not a qa session ({exc}); it is left as it is: give another file", file=sys.stderr)
        return None


def _named(c) -> str:  # the title and, where the format has headings, the section: "Guide › Measuring flow"
    return f"{c.title} › {c.section}" if c.section and c.section != c.title else c.title



def _mark(h) -> str:
    return h.text[: h.answer_start] + "»" + h.answer_sentence + "«" + h.text[h.answer_end :]


if __name__ == "__main__":
    sys.exit(main())
