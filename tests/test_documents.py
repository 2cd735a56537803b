from pathlib import Path

import pytest

from qa.documents import Document, Skipped, read, scan, title_of
from qa.readers.text import decode
from qa.errors import EmptyCorpus


def _read_one(folder: Path, name: str):
    [source] = [s for s in scan(folder).files if s.id == name]
    return read(source)


def test_scan_is_recursive_sorted_and_ignores_hidden_and_other_types(tmp_path):
    (tmp_path / "b.txt").write_text("Bravo text.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("# Alpha\n\nText.")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("git internals")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert [s.id for s in scan(tmp_path).files] == ["b.txt", "sub/a.md"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyCorpus, match="does not exist"):
        scan(tmp_path / "nope")


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"\x00\x01\x02\x03binary\x00stuff" * 20, "binary"),
        (bytes(range(256)) * 4, "binary"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path, data, reason):
    (tmp_path / "x.txt").write_bytes(data)
    got = _read_one(tmp_path, "x.txt")
    assert isinstance(got, Skipped)
    assert reason in got.reason


def test_legacy_encoding_is_detected():
    text = (
        "Le délégué a déclaré que la coopération régionale était essentielle. "
        "Les États membres ont réaffirmé leur engagement envers les victimes de la traite. "
    ) * 5
    decoded = decode(text.encode("cp1252"))
    assert decoded[0] == text
    # one short line fits several code pages equally: windows-1252's reading is taken, not cp1250's "crčme"
    assert decode("Café crème, naïvely.\n".encode("cp1252")) == ("Café crème, naïvely.\n", "cp1252")
    czech = "Příliš žluťoučký kůň úpěl ďábelské ódy.\n"
    assert decode(czech.encode("cp1250")) == (czech, "cp1250")  # where cp1250 reads better, it stays


def test_utf8_bom_and_crlf_keep_line_numbers():
    decoded = decode("Title\r\nline two\r\n".encode("utf-8-sig"))
    assert decoded == ("Title\nline two\n", "utf-8-sig")


def test_document_has_id_title_and_hash(tmp_path):
    (tmp_path / "n.md").write_text("\n\n## The  Heading  \n\nBody text here.\n")
    doc = _read_one(tmp_path, "n.md")
    assert isinstance(doc, Document)
    assert doc.title == "The Heading"
    assert len(doc.sha256) == 64


def test_title_falls_back_and_is_bounded():
    assert title_of("   \n  ", "annual_report-2023") == "Annual report 2023"  # a cleaned file name
    assert title_of("Mr. Musayev: At the outset, I would\nlike to thank the presidency.", "000_83f135e51c9c") == "Mr. Musayev: At the outset, I would like to thank the presidency."
    assert len(title_of("x" * 1000, "stem")) <= 160
