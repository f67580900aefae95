"""Milvus Lite 2.5.x as the embedded Milvus: its `milvus` server binary (the C++ knowhere engine)
serving gRPC on a loopback port, started and stopped by `milvus_lite.server.Server`.

Memory: Milvus Lite 2.5 turns every kind of mmap off (growing segments, raw fields, indexes) and keeps
all rows in one growing segment in anonymous memory, persisted to `milvus.db` (SQLite) by plain file
I/O: no file of the data folder is memory-mapped, so a reading is anonymous pages plus the program.

Milvus Lite 3.x is not used: it re-implements Milvus in Python, and 3.2.0 ranked sparse
inner-product searches with a BM25 index.
"""

from __future__ import annotations

import signal
import subprocess
import warnings
from pathlib import Path

from saevdb.adapters.launcher import STOP_TIMEOUT_S, EngineNotReady, LocalEngine, free_port, port_open


class MilvusLiteServer(LocalEngine):
    """Context manager: `with MilvusLiteServer(path) as server: MilvusClient(uri=server.uri)`.

    Data lives in the file `path` (a `.db` file, or `milvus.db` in the folder `path`), so a later
    server on the same file sees the same collections. `pid` is the engine process.
    """

    def __init__(self, path: str | Path, port: int | None = None) -> None:
        with warnings.catch_warnings():
            # milvus-lite 2.5 imports pkg_resources (deprecated) to read its own version; nothing we
            # can change, and pinned setuptools<81 keeps it working: keep it off every user's screen.
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            from milvus_lite.server import Server

        self.path = Path(path) if Path(path).suffix == ".db" else Path(path) / "milvus.db"
        super().__init__(self.path.with_suffix(".pid"))
        self.port = port or free_port()
        self._server = Server(str(self.path), address=f"127.0.0.1:{self.port}")

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _process(self) -> subprocess.Popen | None:
        """The `milvus` binary's process, which milvus-lite's `Server` keeps once started."""
        return getattr(self._server, "_p", None)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> MilvusLiteServer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.reap_stale()
        if not self._server.init() or not self._server.start():
            raise EngineNotReady(f"milvus-lite server did not start for {self.path}")
        alive = lambda: self._process.poll() is None  # noqa: E731
        self.wait_until_serving(lambda: port_open(self.port), alive, f"milvus-lite on port {self.port}")
        self.record_pid()
        return self

    def _end(self, graceful: bool) -> None:
        """SIGTERM (or SIGKILL) and wait: served on a TCP address, the binary ignores the lock release
        that `Server.stop` relies on and would be SIGKILLed after 2 s."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
        self._server.stop()  # releases its lock file and socket path

    def file_role(self, path: Path) -> str:
        """Every file of the data folder is "other": Milvus Lite 2.5 maps none of them (its codes,
        originals and interim index live in anonymous memory; `milvus.db` is SQLite read by file
        I/O, the lock file is empty)."""
        return "other"

    # trim(): the base's no-op. The binary's allocator cannot be asked from outside to hand freed
    # heap back, so a reading includes what it keeps.

    def sparse_adapter(self, model, name: str, **options):
        from pymilvus import MilvusClient

        from saevdb.adapters.milvus.sparse import MilvusAdapter

        return MilvusAdapter(model, MilvusClient(uri=self.uri), name, **options)

    def dense_adapter(self, d: int, name: str, **options):
        from pymilvus import MilvusClient

        from saevdb.adapters.milvus.dense import MilvusDenseAdapter

        return MilvusDenseAdapter(d, MilvusClient(uri=self.uri), name, **options)
