import json
from pathlib import Path

import pytest

from qa.cli import main

from conftest import COURT


def test_index_then_ask_json(docs, tmp_path, capsys, embedder):
    index = tmp_path / "index"
    assert main(["index", "--documents", str(docs), "--index", str(index), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"documents", "passages", "skipped", "seconds"} <= set(report)
    assert report["documents"] == 2 and report["skipped"] == []

    assert main(["ask", "Who chairs the Military Chamber?", "--index", str(index), "-k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"question", "answer", "passages"}
    assert set(out["answer"]) >= {"sentence", "document", "title", "line_start", "line_end"}
    assert "Aziz Seyidov" in out["answer"]["sentence"] and out["answer"]["document"] == COURT
    assert len(out["passages"]) == 2
    for p in out["passages"]:
        assert set(p) >= {"rank", "score", "text", "document", "title", "line_start", "line_end", "char_start", "char_end", "answer_sentence"}
        assert p["answer_sentence"] in p["text"]


def test_readable_answer(sample_index, capsys):
    assert main(["ask", "When was the law on combating human trafficking adopted?", "--index", str(sample_index[0].index)]) == 0
    out = capsys.readouterr().out
    assert "28th of June 2005" in out.split("\n\n")[0]
    assert f"{COURT}, line 17" in out


def test_off_topic_json_has_null_answer(sample_index, capsys):
    assert main(["ask", "Who won the 2018 World Cup?", "--index", str(sample_index[0].index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ask", "anything", "--index", "{tmp}/none"], "qa index"),
        (["ask", "   ", "--index", "{index}"], "empty"),
        (["ask", "x", "-k", "0", "--index", "{index}"], "at least 1"),
        (["ask", "x", "--document", "nosuch.txt", "--index", "{index}"], "Not in the index: 'nosuch.txt'"),
        (["info", "--index", "{tmp}/none"], "qa index"),
        (["index", "--documents", "{tmp}/empty", "--index", "{tmp}/i"], "or .txt files in"),
        (["index", "--documents", "{tmp}/other", "--index", "{tmp}/i"], "(only 1 .rtf file)"),
        (["index", "--documents", "{tmp}/missing", "--index", "{tmp}/i"], "does not exist"),
    ],
)
def test_errors_are_one_line_and_non_zero(argv, message, tmp_path, sample_index, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "letter.rtf").write_text("{\\rtf1 Dear reader}")
    argv = [a.format(tmp=tmp_path, index=sample_index[0].index) for a in argv]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_info_lists_the_documents_ask_can_be_kept_to(sample_index, capsys):
    index = str(sample_index[0].index)
    assert main(["info", "--index", index, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passages"] == sum(d["passages"] for d in out["documents"]) and out["model"] == "all-MiniLM-L6-v2"
    ids = [d["id"] for d in out["documents"]]
    assert main(["info", "--index", index]) == 0
    text = capsys.readouterr().out
    assert all(f"  {i}  (" in text for i in ids)
    assert main(["ask", "Who chairs the Military Chamber?", "--index", index, "--document", ids[-1]]) == 0


def test_an_early_error_never_aborts_the_process(sample_index, tmp_path):
    """The models open in background threads; an error before they are open still exits with 2, not an abort."""
    import subprocess
    import sys

    (tmp_path / "bad.json").write_text('{"a": 1}')
    for argv in (["--session", str(tmp_path / "bad.json")], ["--document", "nosuch.txt"]):
        code = f"import sys, qa.cli\nsys.exit(qa.cli.main(['ask', 'When?', '--index', {str(sample_index[0].index)!r}, *{argv!r}]))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 2 and "terminate called" not in done.stderr, done.stderr


def test_a_session_file_carries_a_conversation_between_asks(sample_index, tmp_path, capsys):
    index, talk = str(sample_index[0].index), tmp_path / "talk.json"
    assert main(["ask", "Who met the US officials?", "--index", index, "--session", str(talk)]) == 0
    assert "Answer: Aziz Seyidov" in capsys.readouterr().out
    kept = json.loads(talk.read_text())
    assert kept[0][:3] == ["Who met the US officials?", "Aziz Seyidov", "person"] and "Aziz Seyidov met" in kept[0][3]
    assert main(["ask", "And who else attended?", "--index", index, "--session", str(talk), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["interpreted_as"].startswith("And who else attended? (about:")
    assert "Seyidov" not in out["answer"]["span"]["text"]
    assert len(json.loads(talk.read_text())) == 2
    for other in ("{not json", '{"a": 1}'):  # a file that is not a session is a person's own: left alone
        talk.write_text(other)
        assert main(["ask", "Who met the US officials?", "--index", index, "--session", str(talk)]) == 2
        assert "not a qa session" in capsys.readouterr().err and talk.read_text() == other
    talk.write_text("")  # an empty one is a new conversation
    assert main(["ask", "Who met the US officials?", "--index", index, "--session", str(talk)]) == 0
    assert len(json.loads(talk.read_text())) == 1


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, qa.cli\ntry:\n    qa.cli.main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False False")


def test_ask_in_a_new_process_loads_only_what_answering_needs(sample_index):
    """`qa ask` answers without torch, without bm25s (which imports scipy) and without the build's modules."""
    import subprocess
    import sys

    code = ("import sys, qa.cli\n"
            f"qa.cli.main(['ask', 'Who chairs the Military Chamber?', '--index', {str(sample_index[0].index)!r}])\n"
            "print(sorted(m for m in ('torch', 'bm25s', 'scipy', 'numpy.ma', 'qa.build', 'qa.cache', 'qa.onnx_export') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Aziz Seyidov" in out and out.strip().splitlines()[-1] == "[]"


@pytest.mark.slow  # an evaluation over the sample gold file: ~8 s
def test_eval_questions_asks_only_the_chosen_split(sample_index, capsys):
    """`--split tune` asks the tune half of a questions file, no more (it once asked every question)."""
    offtopic = Path(__file__).parent / "data" / "sample_offtopic.jsonl"
    halves = [json.loads(x).get("split") for x in offtopic.read_text().splitlines() if x.strip()]
    settings = sample_index[0]
    args = ["eval", "--questions", str(offtopic), "--documents", str(settings.documents), "--index", str(settings.index), "--json"]
    assert main(args + ["--split", "tune"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == halves.count("tune") < len(halves)
    assert main(args + ["--split", "tuning"]) == 2  # a mistyped split is an error, not a report of zeros
    assert "no questions of split 'tuning'" in capsys.readouterr().err


def test_ask_into_a_pipe_closed_early_ends_quietly(sample_index):
    """`qa ask ... | head -1`: the reader leaving is not an error, and never a traceback."""
    import os
    import subprocess
    import sys

    settings, _ = sample_index
    proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", "When was the law on combating trafficking adopted?",
                             "--index", str(settings.index), "-k", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    proc.stdout.close()  # gone before anything is written: every write finds the pipe closed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
