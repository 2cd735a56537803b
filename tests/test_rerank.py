"""The optional cross-encoder: a tiny real one, built here from the default model's tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.errors import InvalidArgument

QUESTION = "Who leads the inter-agency taskforce?"


def tiny_cross_encoder(folder: Path, labels: int = 1) -> Path:
    """A one-layer BERT cross-encoder with fixed random weights, saved like any CrossEncoder folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from qa.embedding import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("all-MiniLM-L6-v2"), local_files_only=True)
    torch.manual_seed(7)
    model = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32, num_labels=labels))
    with torch.no_grad():  # scores far apart: the order is the model's, never a rounding tie
        model.classifier.weight.mul_(100.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("cross-encoder"))


@pytest.fixture(scope="module")
def reranked(sample_index, embedder, cross_encoder):
    import qa

    return qa.Searcher(sample_index[0].index, embedder=embedder, reranker=cross_encoder)


def descending(values) -> bool:
    return all(a >= b for a, b in zip(values, values[1:]))


def test_the_shown_passages_follow_the_cross_encoders_order(reranked, searcher):
    answer = reranked.ask(QUESTION, k=5)
    texts = [h.text for h in answer.passages]
    assert len(texts) == 5
    assert descending(reranked.reranker.scores(QUESTION, texts).tolist())
    # without it the order is the second stage's, which this model does not share
    plain = [h.text for h in searcher.ask(QUESTION, k=5).passages]
    assert plain != texts
    assert not descending(reranked.reranker.scores(QUESTION, plain).tolist())
    # the answer still comes with a sentence taken from a shown passage
    assert answer.answer is not None
    assert any(answer.answer.sentence in h.text for h in answer.passages)


def test_evaluation_ranks_through_it_too(reranked):
    passages, _ = reranked.rank(QUESTION, depth=8)
    scores = reranked.reranker.scores(QUESTION, [p.text for p in passages])
    assert descending(scores.tolist())


def test_only_a_local_cross_encoder_folder_is_accepted(sample_index, embedder, tmp_path):
    import qa

    with pytest.raises(InvalidArgument, match="is not a folder"):  # a hub name is never fetched
        qa.Searcher(sample_index[0].index, embedder=embedder, reranker="cross-encoder/ms-marco-MiniLM-L6-v2")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(InvalidArgument, match="could not be loaded as a cross-encoder"):
        qa.Searcher(sample_index[0].index, embedder=embedder, reranker=tmp_path)
    # a classifier of three classes (an NLI model) has no relevance score to order by
    three = tiny_cross_encoder(tmp_path / "nli", labels=3)
    with pytest.raises(InvalidArgument, match="3 outputs, not one relevance score"):
        qa.Searcher(sample_index[0].index, embedder=embedder, reranker=three)


def test_cli_ask_with_a_reranker(sample_index, cross_encoder, capsys, tmp_path):
    from qa.cli import main

    assert main(["ask", QUESTION, "--index", str(sample_index[0].index), "--reranker", str(cross_encoder), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    from qa.rerank import Reranker

    texts = [p["text"] for p in shown["passages"]]
    assert descending(Reranker(cross_encoder).scores(QUESTION, texts).tolist())
    # a wrong folder is one clear line, not a traceback
    assert main(["ask", QUESTION, "--index", str(sample_index[0].index), "--reranker", str(tmp_path / "nowhere")]) != 0
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Traceback" not in err


def test_scores_of_nothing_is_empty(cross_encoder):
    from qa.rerank import Reranker

    assert Reranker(cross_encoder).scores(QUESTION, []).shape == (0,)
    assert isinstance(Reranker(cross_encoder).scores(QUESTION, ["one text"]), np.ndarray)
