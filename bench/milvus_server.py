"""A real Milvus server for tests and benches: milvus-lite's gRPC server as a child process.

milvus-lite ships `milvus-lite server`, the Milvus gRPC API over the embedded
engine; pymilvus talks to it exactly as to a Milvus cluster (`http://host:port`),
so the server code path (lease lock, no per-process file lock, several client
processes at once) is exercised without installing Milvus itself.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MilvusServer:
    """`with MilvusServer(data_dir) as uri:` -- a server on a free local port, stopped on exit."""

    def __init__(self, data_dir: Path | None = None):
        self._tmp = None if data_dir is not None else tempfile.mkdtemp(prefix="qa-milvus-server-")
        self.data_dir = Path(data_dir or self._tmp)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        # The console script sits beside this interpreter (a virtualenv's bin/).
        exe = Path(sys.executable).with_name("milvus-lite")
        command = [str(exe)] if exe.exists() else [sys.executable, "-m", "milvus_lite"]
        self.proc = subprocess.Popen(
            [*command, "server", "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # ready once the port accepts connections
            if self.proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self.uri
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("milvus-lite server did not listen within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: MilvusServer | None = None


def shared_uri() -> str:
    """One server for the whole test session, started on first use, stopped at exit."""
    global _shared
    if _shared is None:
        _shared = MilvusServer()
        _shared.start()
        atexit.register(_shared.stop)
    return _shared.uri
