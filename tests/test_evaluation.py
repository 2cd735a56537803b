import json
from pathlib import Path

import pytest

from qa.cli import main
from qa.evaluation import ndcg_at, evaluate_beir, evaluate_questions, read_beir

GOLD = Path(__file__).parent / "data" / "sample_questions.jsonl"


@pytest.mark.slow
def test_sample_gold_file_meets_the_answer_quality_floors(searcher):
    r = evaluate_questions(GOLD, searcher)
    assert r.answerable >= 25 and r.off_topic >= 5
    assert r.answer_in_first >= 0.90, r.failures
    assert r.answer_in_top5 == 1.0, r.failures
    assert r.answer_in_sentence >= 0.85, r.failures
    assert r.refused_when_off_topic >= 0.90, r.failures
    assert r.answered_when_answerable >= 0.95, r.failures


@pytest.fixture
def tiny_beir(tmp_path: Path) -> Path:
    b = tmp_path / "beir"
    (b / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Okapi ecology", "The okapi lives in the Ituri rainforest and eats leaves."),
        "d2": ("Volcano eruptions", "Basaltic volcanoes erupt fluid lava that forms wide shields."),
        "d3": ("Coffee chemistry", "Caffeine is extracted from roasted coffee beans by hot water."),
        "d/4": ("Tidal power", "Tidal turbines convert the flow of sea water into electricity."),
    }
    (b / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in docs.items()))
    queries = {"q1": "Where does the okapi live?", "q2": "How is caffeine extracted?", "q3": "electricity from tides", "q9": "unjudged"}
    (b / "queries.jsonl").write_text("\n".join(json.dumps({"_id": k, "text": v}) for k, v in queries.items()))
    (b / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td/4\t1\n")
    return b


def test_read_beir_keeps_only_judged_queries(tiny_beir):
    corpus, queries, qrels = read_beir(tiny_beir, "test")
    assert len(corpus) == 4 and set(queries) == {"q1", "q2", "q3"} and qrels["q3"] == {"d/4": 1}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_beir_evaluation_on_a_tiny_corpus(tiny_beir, tmp_path, embedder, mode):
    r = evaluate_beir(tiny_beir, mode=mode, work=tmp_path / "work", embedder=embedder)
    assert r.queries == 3 and r.documents == 4
    assert r.ndcg_10 == r.recall_1 == r.mrr_10 == 1.0
    assert r.latency_ms_p50 > 0


def test_eval_cli_json_keys(tiny_beir, tmp_path, capsys, embedder):
    assert main(["eval", str(tiny_beir), "--mode", "bm25", "--work", str(tmp_path / "w"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"ndcg@10", "recall@1", "recall@10", "recall@100", "mrr@10", "latency_ms_p50"} <= set(out)


def test_ndcg_matches_the_definition():
    assert ndcg_at(["a", "b"], {"b": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert ndcg_at(["x"], {"a": 1}) == 0.0
