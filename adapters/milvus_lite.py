"""Milvus Lite 2.5.x as the embedded Milvus: its `milvus` server binary (the C++ knowhere engine)
serving gRPC on a loopback port, started and stopped by `milvus_lite.server.Server`.

Milvus Lite 3.x is not used: it re-implements Milvus in Python, and 3.2.0 ranked sparse
inner-product searches with a BM25 index.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from adapters.process import free_port, reap_stale, record, rss_bytes

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class MilvusLiteServer:
    """Context manager: `with MilvusLiteServer(path) as server: MilvusClient(uri=server.uri)`.

    Data lives in the file `path` (a `.db` file, or `milvus.db` in the folder `path`), so a later
    server on the same file sees the same collections. `pid` is the engine process, for reading its
    resident memory.
    """

    def __init__(self, path: str | Path, port: int | None = None) -> None:
        from milvus_lite.server import Server

        self.path = Path(path) if Path(path).suffix == ".db" else Path(path) / "milvus.db"
        self.port = port or free_port()
        self._pidfile = self.path.with_suffix(".pid")
        self._server = Server(str(self.path), address=f"127.0.0.1:{self.port}")

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        process = getattr(self._server, "_p", None)
        return process.pid if process is not None else None

    def rss_bytes(self) -> int | None:
        """Resident memory of the engine process."""
        return rss_bytes(self.pid)

    def start(self) -> MilvusLiteServer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        reap_stale(self._pidfile)
        if not self._server.init() or not self._server.start():
            raise RuntimeError(f"milvus-lite server did not start for {self.path}")
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    record(self._pidfile, self.pid)
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"milvus-lite did not listen on port {self.port} within {STARTUP_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGTERM and wait: served on a TCP address, the binary ignores the lock release that
        `Server.stop` relies on and would be SIGKILLed after 2 s."""
        self._end(signal.SIGTERM, STOP_TIMEOUT_S)

    def kill(self) -> None:
        """End the engine abruptly, as a crash would."""
        self._end(signal.SIGKILL, STOP_TIMEOUT_S)

    def _end(self, how: signal.Signals, timeout: float) -> None:
        process = getattr(self._server, "_p", None)
        if process is not None and process.poll() is None:
            process.send_signal(how)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        self._server.stop()  # releases its lock file and socket path
        self._pidfile.unlink(missing_ok=True)

    def sparse_adapter(self, model, name: str, **options):
        from pymilvus import MilvusClient

        from adapters.milvus import MilvusAdapter

        return MilvusAdapter(model, MilvusClient(uri=self.uri), name, engine_pid=self.pid, **options)

    def dense_adapter(self, d: int, name: str, **options):
        from pymilvus import MilvusClient

        from adapters.milvus import MilvusDenseAdapter

        return MilvusDenseAdapter(d, MilvusClient(uri=self.uri), name, engine_pid=self.pid, **options)

    def __enter__(self) -> MilvusLiteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
