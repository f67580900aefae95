"""The base of every local engine: an engine process this library starts on this machine over a
data folder (Qdrant Edge in a child process, the Milvus Lite binary, an OpenSearch node).

It owns what only the process's owner can know: its pid, its resident memory, a pid file so a
crashed run's engine is reaped before another starts on the same data, and a bounded wait for the
engine to serve. Adapters never look for pids: they ask the engine that made them.
"""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
from tenacity import RetryError, Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

from saevdb.adapters.memory import ProcessMemory, read_memory

STOP_TIMEOUT_S = 30.0


class EngineNotReady(RuntimeError):
    """The engine did not serve within its start-up time, or its process ended first."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def allocated_bytes(folder: Path) -> int:
    """Disk a folder really uses: allocated blocks, not apparent sizes (Qdrant preallocates sparse files)."""
    return sum(f.stat().st_blocks * 512 for f in Path(folder).rglob("*") if f.is_file())


class LocalEngine(ABC):
    """A context manager over a data folder: `with engine: adapter = engine.sparse_adapter(info, "items")`.

    Subclasses start and end their process (`start`, `_end`) and make adapters; the base keeps the
    pid file, the bounded wait and the memory readings. Data already in the folder is kept.
    """

    startup_timeout_s: float = 60.0

    def __init__(self, pidfile: Path) -> None:
        self._pidfile = pidfile

    @property
    @abstractmethod
    def pid(self) -> int | None:
        """The engine's process while it runs."""

    @abstractmethod
    def start(self) -> LocalEngine:
        """Start the engine on the data folder and wait until it serves."""

    @abstractmethod
    def _end(self, graceful: bool) -> None:
        """End the process: cleanly (flushing) or abruptly, as a crash would."""

    @abstractmethod
    def sparse_adapter(self, model: Any, name: str, **options) -> Any:
        """A connected `SparseAdapter` on collection `name`; `model` is a `ModelInfo`."""

    @abstractmethod
    def dense_adapter(self, d: int, name: str, **options) -> Any:
        """A connected `DenseAdapter` on collection `name`."""

    def stop(self) -> None:
        """Stop it cleanly; its data stays in the folder."""
        self._end(graceful=True)
        self._pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """End it abruptly, as a crash would."""
        self._end(graceful=False)
        self._pidfile.unlink(missing_ok=True)

    def rss_bytes(self) -> int | None:
        """Resident memory of the engine's process, or None when it does not run."""
        return psutil.Process(self.pid).memory_info().rss if self.pid else None

    @property
    def data_folder(self) -> Path:
        """The folder the engine keeps its data in (its pid file lies there)."""
        return self._pidfile.parent

    def file_role(self, path: Path) -> str:
        """What a file of the data folder holds, as `saevdb.adapters.memory.ROLES` names it; each
        engine knows its own layout (the base knows none: "other")."""
        return "other"

    def trim(self) -> bool:
        """Hand freed heap back to the system before a memory reading, where the engine can be asked
        to (Qdrant Edge: `malloc_trim`), and say whether it was; the base cannot (False), and the
        reading then includes what the engine's allocator keeps."""
        return False

    def heap_used_bytes(self) -> int | None:
        """Heap in use by the engine's own statistics (the JVM's); None where there is no such figure."""
        return None

    def memory(self) -> ProcessMemory:
        """Anonymous and per-role file-backed resident memory of the engine now (`memory.read_memory`)."""
        reading = read_memory(self.pid, self.data_folder, self.file_role)
        heap = self.heap_used_bytes()
        return reading if heap is None else replace(reading, heap_used_bytes=heap)

    def reap_stale(self) -> None:
        """Kill the engine a crashed parent left running on this data (recorded in the pid file): two
        engines on one data folder would corrupt it. A pid reused by another process is left alone."""
        if not self._pidfile.is_file():
            return
        try:
            pid, started = self._pidfile.read_text().split()
            process = psutil.Process(int(pid))
            if abs(process.create_time() - float(started)) < 1e-3:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        except (ValueError, psutil.NoSuchProcess):
            pass  # no such engine any more, or a file from another layout: nothing to reap
        self._pidfile.unlink(missing_ok=True)

    def record_pid(self) -> None:
        """Remember the engine serving this data folder, for `reap_stale`."""
        self._pidfile.write_text(f"{self.pid} {psutil.Process(self.pid).create_time()}")

    def wait_until_serving(
        self, ready: Callable[[], bool], alive: Callable[[], bool], what: str, retry_on: tuple = ()
    ) -> None:
        """Poll `ready()` (exceptions in `retry_on` count as not ready) every 0.2 s until it is true,
        the process ends (`alive()` false) or `startup_timeout_s` passes; then stop the engine and
        raise `EngineNotReady` naming `what`."""

        def check() -> bool:
            if not alive():
                raise EngineNotReady(f"{what} exited before it served")
            return ready()

        retrying = Retrying(
            stop=stop_after_delay(self.startup_timeout_s),
            wait=wait_fixed(0.2),
            retry=retry_if_result(lambda ok: not ok) | retry_if_exception_type(retry_on),
            reraise=True,
        )
        try:
            retrying(check)
        except (RetryError, EngineNotReady, *retry_on) as e:
            self.kill()
            raise EngineNotReady(f"{what} did not serve within {self.startup_timeout_s:.0f} s: {e}") from e

    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LocalCluster(ABC):
    """An engine's own cluster on this machine: several `LocalEngine` nodes on loopback, each over its
    own data folder, owned by one object — `with cluster: adapter = cluster.sparse_adapter(info, "items")`.

    Subclasses start the nodes together (`start`: a cluster forms only once enough of them run) and
    make adapters connected to every node; the base ends them, kills or restarts one (the faults a
    cluster must survive) and reads each node's memory with the rules of a single engine.
    """

    def __init__(self, nodes: list[LocalEngine]) -> None:
        self.nodes = nodes

    @abstractmethod
    def start(self) -> LocalCluster:
        """Start every node and wait until the cluster serves with all of them."""

    @abstractmethod
    def restart_node(self, i: int) -> None:
        """Start node `i` again on its data folder and wait until it has rejoined."""

    @abstractmethod
    def sparse_adapter(self, model: Any, name: str, **options) -> Any:
        """A `SparseAdapter` on collection `name`, connected to every node."""

    def kill_node(self, i: int) -> None:
        """End node `i` abruptly, as a crash would; the others go on."""
        self.nodes[i].kill()

    def stop(self) -> None:
        """Stop every node cleanly; their data stays in their folders."""
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def memory(self) -> list[ProcessMemory | None]:
        """Each node's reading (`LocalEngine.memory`), None for a node that does not run."""
        return [node.memory() if node.pid else None for node in self.nodes]

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
