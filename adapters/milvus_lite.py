"""Milvus Lite 2.5.x as the embedded Milvus: its `milvus` server binary (the C++ knowhere engine)
serving gRPC on a loopback port, started and stopped by `milvus_lite.server.Server`.

Milvus Lite 3.x is not used: it re-implements Milvus in Python, and 3.2.0 ranked sparse
inner-product searches with a BM25 index.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from adapters.process import free_port, rss_bytes

STARTUP_TIMEOUT_S = 60.0


class MilvusLiteServer:
    """Context manager: `with MilvusLiteServer(path) as server: MilvusClient(uri=server.uri)`.

    Data lives in the file `path`, so a later server on the same file sees the same collections.
    `pid` is the engine process, for reading its resident memory.
    """

    def __init__(self, path: str | Path, port: int | None = None) -> None:
        from milvus_lite.server import Server

        self.path = Path(path)
        self.port = port or free_port()
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
        if not self._server.init() or not self._server.start():
            raise RuntimeError(f"milvus-lite server did not start for {self.path}")
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"milvus-lite did not listen on port {self.port} within {STARTUP_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MilvusLiteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
