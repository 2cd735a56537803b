"""One exclusive file lock, shared by the FAISS index lock and the Milvus Lite lock.

flock, not a lock file's existence: the kernel releases it when the holder
dies (a SIGKILLed `qa index` never leaves the index locked). The holder writes
who it is into the file, so the next writer's message can say.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .errors import IndexLocked


def take(path: Path, holder: str, busy: Callable[[str], str]) -> int:
    """The open, exclusively locked file descriptor of `path`, `holder` written in it.

    Raises `IndexLocked(busy(who))` at once, without waiting, when another process holds it.
    """
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            who = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
        finally:
            os.close(fd)
        raise IndexLocked(busy(who)) from None
    os.ftruncate(fd, 0)
    os.write(fd, holder.encode())
    return fd
