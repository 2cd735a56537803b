"""`qa verify` and the one citation check."""

from __future__ import annotations

from qa.cli import main
from qa.generation import open_generation
from qa.verify import citation_holds, unmatched_word

from conftest import SAMPLES, UN


def test_every_citation_contains_all_words_of_its_passage(sample_index):
    gen = open_generation(sample_index[0].index / sample_index[1].generation)
    for p in gen.index.passages():
        lines = (SAMPLES / p.document).read_text(encoding="utf-8").split("\n")
        assert unmatched_word(p.text, lines, p.line_start, p.line_end) is None, (p.document, p.line_start)
        for a, b, ls, le in p.sentences:
            assert citation_holds(p.text[a:b], lines, ls, le)


def test_verify_reports_changed_documents_and_cli_exit_codes(built, capsys):
    docs, index = built
    assert main(["verify", "--index", str(index), "--documents", str(docs)]) == 0
    (docs / UN).write_text("Different text now.\n")
    assert main(["verify", "--index", str(index), "--documents", str(docs)]) == 1
    assert "changed since it was indexed" in capsys.readouterr().out
