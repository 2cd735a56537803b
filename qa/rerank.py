"""An optional cross-encoder that reads the question and each of the best passages together.

Off by default: the shipped relevance model (qa/relevance.py), a small
cross-encoder trained for the default model, already reads the best passages
with the question. A person who has a stronger one on disk (any
sentence-transformers CrossEncoder saved in a folder, e.g. a
cross-encoder/ms-marco-MiniLM-L6-v2 copy) passes its folder as
`--reranker` / `Searcher(reranker=...)`; its order then replaces the
relevance model's, and `qa eval --reranker` measures it.

Loading imports torch (~9 s), which is why nothing loads one unless asked.
Only a local folder is accepted: never a hub name (nothing is fetched), never
remote code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InvalidArgument

# The best passages of the second stage that the cross-encoder orders again: it
# costs one model pass per passage, and the second stage already has the right
# passage in its top 5 for 0.97 of SQuAD-tune dev's questions.
DEPTH = 20


class Reranker:
    """A CrossEncoder from a local folder; `order` ranks passages for a question, best first."""

    def __init__(self, folder: str | Path):
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise InvalidArgument(
                f"The reranker must be a folder holding a sentence-transformers CrossEncoder; {folder} is not a folder."
            )
        try:
            from sentence_transformers import CrossEncoder

            self.model = CrossEncoder(str(folder), local_files_only=True, trust_remote_code=False, device="cpu")
        except Exception as e:  # a folder of something else: say so, without a traceback
            raise InvalidArgument(f"{folder} could not be loaded as a cross-encoder: {type(e).__name__}: {e}") from None
        if self.model.num_labels != 1:  # e.g. an NLI model: no one column of its output is relevance
            raise InvalidArgument(f"{folder} holds a cross-encoder with {self.model.num_labels} outputs, not one relevance score.")
        self.folder = folder

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The model's raw relevance score of each text for `question` (higher is better)."""
        if not texts:
            return np.zeros(0)
        import torch

        out = self.model.predict([(question, t) for t in texts], activation_fn=torch.nn.Identity(),
                                 show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float64).reshape(len(texts))

    def order(self, question: str, texts: Sequence[str]) -> list[int]:
        """Indexes of `texts`, best first (ties keep their earlier order)."""
        return np.argsort(-self.scores(question, texts), kind="stable").tolist()


def rerank(reranker: Reranker | None, question: str, rows: list[int], text_of, *columns: list) -> tuple[list, ...]:
    """`rows` with their first DEPTH in the reranker's order (the rest after them, as they were), and each
    of `columns` (values per row) in the same order."""
    if reranker is None or len(rows) < 2:
        return (rows, *columns)
    head = min(DEPTH, len(rows))
    order = reranker.order(question, [text_of(r) for r in rows[:head]]) + list(range(head, len(rows)))
    return tuple([column[i] for i in order] for column in (rows, *columns))
