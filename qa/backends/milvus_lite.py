"""Milvus Lite with one database per generation, inside the generation's folder.

A Milvus Lite file can be open in one process at a time, so a web page
serving the index would lock `qa index` out of a shared file. With a
database per generation, `qa index` writes a new one beside the served one,
and the generation folder's rename and the CURRENT switch commit it exactly
as for the FAISS backend; a crash leaves a half-written folder nobody reads.
For several processes reading one index, use a Milvus server (`--uri http://...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..chunking import Passage
from .base import Written
from .milvus import MilvusBackend

DATABASE = "milvus.db"
# Written into the manifest instead of an absolute path, so the index folder can move.
IN_GENERATION = "generation-folder"


class MilvusLiteGenerations:
    kind = "milvus"

    def write(self, folder: Path, passages: Sequence[Passage], vectors: np.ndarray, previous=None) -> Written:
        backend = MilvusBackend(str(Path(folder) / DATABASE))
        try:
            written = backend.write(folder, passages, vectors)
        finally:
            backend.close()  # the folder is renamed next: nothing may hold it open
        return Written(written.kind, dict(written.params, uri=IN_GENERATION), written.files)

    def open(self, folder: Path, written: Written):
        return MilvusBackend(str(Path(folder) / DATABASE)).open(folder, written)
