"""Qdrant Edge in a child process: the same in-process engine, but with memory of its own that can
be measured, and a process that can be stopped, killed and restarted like a server.

The child is a fresh interpreter (`python -c "...engine import serve; serve()" SOCKET`) that serves the
Edge adapter classes through a `multiprocessing` manager; the parent gets proxies, so every call
(`upsert`, `search`, ...) runs in the child, with arguments and results pickled. A fresh
interpreter, not a fork or spawn of this one, so the child holds the engine and not the parent's
torch, model and data.
"""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
import tempfile
from multiprocessing.managers import BaseManager
from pathlib import Path

from saevdb.adapters.base import ModelInfo
from saevdb.adapters.launcher import STOP_TIMEOUT_S, LocalEngine
from saevdb.adapters.qdrant.constants import ORIGINALS_FILE, VECTOR_NAME
from saevdb.adapters.qdrant.edge import QdrantEdgeAdapter
from saevdb.adapters.qdrant.edge_dense import QdrantEdgeDenseAdapter

_AUTHKEY_ENV = "SAEVDB_EDGE_AUTHKEY"


class _EdgeManager(BaseManager):
    """Serves the two Edge adapter classes from the child process."""


# Named, not discovered: discovery would read the `shard` property, which opens the shard.
_DENSE_METHODS = ("recreate", "drop", "upsert", "optimize", "search", "count", "stats", "close")
_SPARSE_METHODS = (
    *_DENSE_METHODS,
    "exists",
    "check_model",
    "retrieve",
    "delete",
    "point_alias",
    "takes_negative_weights",
)
_EdgeManager.register("QdrantEdgeAdapter", QdrantEdgeAdapter, exposed=_SPARSE_METHODS)
_EdgeManager.register("QdrantEdgeDenseAdapter", QdrantEdgeDenseAdapter, exposed=_DENSE_METHODS)


def _malloc_trim() -> int:
    """glibc's `malloc_trim(0)` in the child, after a garbage collection of the child's Python
    objects: the heap a shard load (WAL replay) or a reply freed goes back to the system."""
    gc.collect()
    return ctypes.CDLL("libc.so.6").malloc_trim(0)


_EdgeManager.register("malloc_trim", _malloc_trim)

# A segment's files by folder: `vector_storage-<name>` holds a named vector's stored values (float32
# originals in `matrix.dat` / `vectors/`, the compressed copy in `quantized*`), `vector_index-<name>`
# its index (HNSW links, or the sparse inverted index); the rest is id tracking, payloads and the WAL.
_SPARSE_PARTS = (f"vector_storage-{VECTOR_NAME}", f"vector_index-{VECTOR_NAME}")


class QdrantEdgeProcess(LocalEngine):
    """Context manager: `with QdrantEdgeProcess(path) as engine: adapter = engine.sparse_adapter(info, "items")`.

    Each collection is a shard in `path/<name>`. The returned adapters behave like
    `QdrantEdgeAdapter` / `QdrantEdgeDenseAdapter`; `pid` is the child, whose resident memory is the
    engine's plus one Python interpreter with numpy.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(self.path / "engine.pid")
        self._process: subprocess.Popen | None = None
        self._socket = ""
        self._manager: _EdgeManager | None = None
        self._adapters: list = []

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> QdrantEdgeProcess:
        self.path.mkdir(parents=True, exist_ok=True)
        self.reap_stale()
        # A Unix socket, not TCP: large replies go out as header + body, which Nagle's algorithm and
        # delayed ACKs would hold back by tens of milliseconds on loopback TCP. It lives in the data
        # folder (removed with it; a crashed run's is removed here) unless that path is too long for
        # a socket, under a new name each start: manager proxies cache connections by address.
        for stale in self.path.glob("engine-*.sock"):
            stale.unlink(missing_ok=True)
        inside = tempfile.mktemp(prefix="engine-", suffix=".sock", dir=self.path.absolute())
        self._socket = inside if len(inside) < 100 else tempfile.mktemp(prefix="saevdb-edge-", suffix=".sock")
        authkey = os.urandom(16)
        env = {**os.environ, _AUTHKEY_ENV: authkey.hex()}
        child = f"from {__name__} import serve; serve()"
        self._process = subprocess.Popen([sys.executable, "-c", child, self._socket], env=env)

        def connected() -> bool:
            manager = _EdgeManager(address=self._socket, authkey=authkey)
            manager.connect()
            self._manager = manager
            return True

        self.wait_until_serving(
            connected,
            lambda: self._process.poll() is None,
            "the Qdrant Edge child process",
            retry_on=(ConnectionRefusedError, FileNotFoundError),
        )
        self.record_pid()
        return self

    def file_role(self, path: Path) -> str:
        """Roles of a shard's files: the codes' inverted index and stored codes are `sparse`; another
        vector's index is its `graph`; its `quantized*` files `quantized`; its other stored values
        (`matrix.dat`, chunks) and the flat originals file beside the shard the `vectors`; id
        trackers and deletion flags `ids`; `wal/` the WAL; payloads and configuration `other`."""
        parts = path.parts
        if path.name == ORIGINALS_FILE:
            return "vectors"
        if "wal" in parts:
            return "wal"
        if path.name.startswith("id_tracker") or path.name.startswith("mutable_id_tracker") or "deleted" in path.name:
            return "ids"
        if "deleted" in parts:
            return "ids"
        if any(part in _SPARSE_PARTS for part in parts):
            return "sparse"
        if any(part.startswith("vector_index-") for part in parts):
            return "graph"
        if any(part.startswith("vector_storage-") for part in parts):
            return "quantized" if any(part.startswith("quantized") for part in parts) else "vectors"
        return "other"

    def trim(self) -> bool:
        """`malloc_trim(0)` in the child: Qdrant Edge replays its whole WAL when a shard loads, and glibc
        keeps the freed heap (well above the vectors' own size for dense shards) until asked."""
        self._manager.malloc_trim()
        return True

    # The adapters are built here first, without opening anything, so a bad option raises its own
    # error (a constructor failing inside the manager would come back as a bare RemoteError).

    def sparse_adapter(self, model: ModelInfo, name: str, **options) -> QdrantEdgeAdapter:
        QdrantEdgeAdapter(model, self.path / name, **options)
        adapter = self._manager.QdrantEdgeAdapter(model, str(self.path / name), **options)
        self._adapters.append(adapter)
        return adapter

    def dense_adapter(self, d: int, name: str, **options) -> QdrantEdgeDenseAdapter:
        QdrantEdgeDenseAdapter(d, self.path / name, **options)
        adapter = self._manager.QdrantEdgeDenseAdapter(d, str(self.path / name), **options)
        self._adapters.append(adapter)
        return adapter

    def _end(self, graceful: bool) -> None:
        """Cleanly: close every shard (flushing it), then end the child; abruptly: no flush, no close."""
        if graceful and self._process is not None and self._process.poll() is None:
            for adapter in self._adapters:
                adapter.close()
        self._adapters.clear()
        if self._process is not None and self._process.poll() is None:
            if graceful:
                self._process.terminate()
            else:
                self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT_S)
        self._process = None
        Path(self._socket).unlink(missing_ok=True)


def serve() -> None:
    """The child's main: serve the Edge adapters on the socket named by `sys.argv[1]` until ended."""
    authkey = bytes.fromhex(os.environ.pop(_AUTHKEY_ENV))
    _EdgeManager(address=sys.argv[1], authkey=authkey).get_server().serve_forever()
