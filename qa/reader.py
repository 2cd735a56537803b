"""The extractive reader: reads the question with each top passage and scores every answer span in it.

A small span-extraction head (start and end logits per token, SQuAD-style)
over the default model, all-MiniLM-L6-v2, adapted with low-rank weights
(LoRA, rank 16: 1.3 MB in qa/models/) trained on the squad_tune train
articles by bench/train_reader.py. It is what the linear features could not
do: read the question and the sentence together. `qa index` merges the
adapter into the model and exports it to ONNX once (qa/reader_export.py,
checked against torch); questions then run it with ONNX Runtime, no torch.

The reader exists only for the weights it was trained on: an index built with
another model answers without it (the sentence scorer's own weights, the
rule-based span picker), as before.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import relevance
from .fast_encoder import PairModel, cache_root

log = logging.getLogger(__name__)

ADAPTER = Path(__file__).parent / "models" / "reader-minilm-l6-lora.safetensors"
READER_VERSION = 1
MAX_TOKENS = 384  # question and passage together, as trained
# The longest span (its last word piece this far after its first) when scoring sentences: SQuAD's custom, and what
# the sentence weight and the veto were chosen with.
MAX_SPAN_TOKENS = 30
# The longest span *shown*: a sprawling one misleads ("deputy minister ... and Office
# for Combating Human Trafficking" for who leads the taskforce). Tune halves (manuals
# and sample), short-answer F1 x questions: 8 -> 55.2 of 122, 12 -> 54.8, 16 -> 54.6, 30 -> 54.8.
SHOWN_SPAN_TOKENS = 8
# The reader sees at most this much of a question: a word piece is at least one
# character, so the passage keeps at least 384 - 250 - 3 pieces (a 4,000-character
# question could otherwise leave it none, which the tokenizer refuses).
QUESTION_CHARS = 250


@functools.lru_cache(maxsize=4)
def adapter_meta(adapter: Path = ADAPTER) -> dict:
    """A shipped adapter's metadata (base weights, rank); {} when it is missing."""
    try:
        from safetensors import safe_open

        with safe_open(str(adapter), framework="numpy") as f:
            return dict(f.metadata() or {})
    except Exception:
        return {}


@functools.lru_cache(maxsize=4)
def adapter_sha256(adapter: Path = ADAPTER) -> str:
    from .documents import file_sha256

    return file_sha256(adapter)


# What `qa index` exports per set of weights: the reader, the passage relevance model and the
# answer-sentence model (qa/relevance.py).
KINDS = {"reader": (ADAPTER, READER_VERSION), "relevance": (relevance.ADAPTER, relevance.RELEVANCE_VERSION),
         "sentence": (relevance.SENTENCE_ADAPTER, relevance.SENTENCE_VERSION)}


def reader_dir(model_sha256: str, kind: str = "reader") -> Path:
    """Per model and adapter: a new adapter is exported afresh, never read from an old export."""
    adapter, version = KINDS[kind]
    return cache_root() / f"{kind}-{model_sha256[:16]}-{adapter_sha256(adapter)[:12]}-v{version}"


def reader_missing(model_sha256: str, kind: str = "reader") -> bool:
    """Whether these weights should have this export and it is not made yet."""
    adapter, _ = KINDS[kind]
    return (adapter_meta(adapter).get("base_model_sha256") == model_sha256
            and not (reader_dir(model_sha256, kind) / "meta.json").exists())


@dataclass(frozen=True)
class Reading:
    """One passage read with the question: per-token start/end logits over the passage's characters."""

    start: np.ndarray  # logits, -inf outside the passage
    end: np.ndarray
    offsets: np.ndarray  # (tokens, 2) character offsets into the passage text
    null: float  # the [CLS] score: "this passage holds no answer"
    p_start: np.ndarray  # the passage's start and end distributions (softmax of the logits)
    p_end: np.ndarray

    def best(self, lo: int, hi: int, longest: int = MAX_SPAN_TOKENS,
             avoid: Sequence[tuple[int, int]] = ()) -> tuple[float, int, int, float] | None:
        """(score - null, start, end, probability) of the best span inside characters [lo, hi) whose
        last word piece is at most `longest` after its first, or None. A span touching a character
        range of `avoid` (what a "who else" follow-up was already told) is never chosen.

        The probability is the span's share of the passage's start and end
        distributions: comparable across sentences of one passage.
        """
        inside = np.flatnonzero((self.offsets[:, 0] >= lo) & (self.offsets[:, 1] <= hi)
                                & (self.offsets[:, 1] > self.offsets[:, 0]) & np.isfinite(self.start))
        if inside.size == 0:
            return None
        s, e = self.start[inside], self.end[inside]
        pair = s[:, None] + e[None, :]
        i, j = np.meshgrid(np.arange(inside.size), np.arange(inside.size), indexing="ij")
        pair[(j < i) | (inside[j] - inside[i] > longest)] = -np.inf
        if avoid:
            hit = np.array([any(a < e and s < b for s, e in avoid) for a, b in self.offsets[inside]])
            seen = np.concatenate([[0], np.cumsum(hit)])  # avoided pieces up to each token
            pair[seen[j + 1] - seen[i] > 0] = -np.inf
            if not np.isfinite(pair).any():
                return None
        a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
        ti, tj = inside[a], inside[b]
        return (float(pair[a, b] - self.null), int(self.offsets[ti, 0]), int(self.offsets[tj, 1]),
                float(self.p_start[ti] * self.p_end[tj]))


def _softmax(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    out = np.zeros_like(x, dtype=np.float64)
    if not finite.any():  # an empty passage: no token to open or close an answer
        return out
    v = np.exp(x[finite] - x[finite].max())
    out[finite] = v / v.sum()
    return out


class Reader(PairModel):
    """The exported reader: ONNX Runtime and `tokenizers` only."""

    def __init__(self, folder: Path):
        super().__init__(folder, "reader_version", READER_VERSION, MAX_TOKENS, QUESTION_CHARS)

    def read(self, question: str, passages: Sequence[str]) -> list[Reading]:
        """Each passage read with `question`, in one batch."""
        if not passages:
            return []
        encoded, (start, end) = self._run(["start_logits", "end_logits"], question, passages)
        out = []
        for k, e in enumerate(encoded):
            context = np.array([s == 1 for s in e.sequence_ids])
            s, t = np.where(context, start[k], -np.inf), np.where(context, end[k], -np.inf)
            out.append(Reading(s, t, np.array(e.offsets, dtype=np.int64).reshape(-1, 2), float(start[k][0] + end[k][0]),
                               _softmax(s), _softmax(t)))
        return out


_opened: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def prefetch_reader(model_sha256: str) -> None:
    """Open the reader, the relevance and the sentence model in a background thread (an ONNX session takes ~0.3 s,
    without the GIL); not a daemon, for the reason fast_encoder.prefetch gives."""
    def every():
        for kind in KINDS:
            open_reader(model_sha256, kind)

    threading.Thread(target=every, name="qa-reader-open").start()


def open_reader(model_sha256: str, kind: str = "reader"):
    """The reader (or kind="relevance" or "sentence": qa/relevance.py's models) exported for these weights, or None:
    another model, no export yet, no onnxruntime.

    "No export yet" is not remembered: a long-lived process (the web page) gets the
    reader once `qa index` has made it.
    """
    with _lock:
        key = (kind, model_sha256)
        if key not in _opened:
            if reader_missing(model_sha256, kind):
                return None
            opened = None
            # only the weights its adapter was trained on (and an adapter that is there: a broken install has none)
            if adapter_meta(KINDS[kind][0]).get("base_model_sha256") == model_sha256:
                folder = reader_dir(model_sha256, kind)
                try:
                    opened = Reader(folder) if kind == "reader" else relevance.Relevance(folder, kind)
                except ImportError:
                    opened = None
                except Exception as exc:
                    log.warning("Not using the %s model in %s (%s).", kind, folder, exc)
            _opened[key] = opened
        return _opened[key]
