"""A real OpenSearch node on loopback, started with `bin/opensearch` from the distribution that
`saevdb.adapters.opensearch.distribution` assembles from Maven Central. Single-node discovery, no
security plugin (the integ-test build has none). OpenSearch refuses to run as root, so under root
the node runs as `nobody`. 3.x runs on Java 21+ (`distribution.java_home` picks the JDK per version).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from saevdb.adapters.launcher import EngineNotReady, LocalEngine, free_port, port_open
from saevdb.adapters.memory import ProcessMemory
from saevdb.adapters.opensearch.constants import CLIENT_POOL, CLIENT_TIMEOUT_S
from saevdb.adapters.opensearch.distribution import VERSION, VERSION_3, as_root, ensure_distribution, java_home

HEAP = "512m"
MAX_CLAUSES = 65_536  # the widest query: one clause per latent at h = 65,536 (uint16 indices)
# Lucene file extensions (segment files are named `_<seg>[_<Format>_<n>].<ext>`) by what they hold.
POSTINGS = {".doc", ".pos", ".pay", ".tim", ".tip", ".tmd", ".psm"}  # terms and postings: rank_features, _id
GRAPH = {".vex", ".vem"}  # HNSW links and their metadata
QUANTIZED = {".veq", ".vemq"}  # the scalar quantizer's 7-bit vectors and corrections
FLAT = {".vec", ".vemf"}  # flat vector values: float32, or int8 for data_type byte
DOC_VALUES = {".dvd", ".dvm"}  # knn_vector fields keep their vectors here too (the only copy if index.knn is false)
STORED_FIELDS = {".fdt", ".fdx", ".fdm"}  # stored fields: _id and _source, read to return each hit
UNPRIVILEGED_USER = "nobody"
STOP_TIMEOUT_S = 60.0


def _check_reachable(path: Path) -> None:
    """Under root the node runs as `nobody`, who must be able to enter every folder above `path`."""
    for folder in path.parents:
        if not folder.stat().st_mode & 0o001:
            raise RuntimeError(
                f"{folder} is closed to other users, and under root OpenSearch runs as {UNPRIVILEGED_USER}: "
                "put the node's folder elsewhere (e.g. under /tmp or /var/lib)"
            )


@dataclass(frozen=True)
class Seat:
    """A node's place in a cluster on loopback: its name and transport port, and every member's
    (`discovery.seed_hosts`, `cluster.initial_cluster_manager_nodes`); they stay the same across a
    node's restarts, so it rejoins as itself."""

    name: str
    transport_port: int
    seed_ports: tuple[int, ...]
    members: tuple[str, ...]

    def settings(self) -> list[str]:
        seeds = ", ".join(f'"127.0.0.1:{port}"' for port in self.seed_ports)
        return [
            f"node.name: {self.name}",
            f"transport.port: {self.transport_port}",
            f"discovery.seed_hosts: [{seeds}]",
            f"cluster.initial_cluster_manager_nodes: [{', '.join(self.members)}]",
        ]


class OpenSearchNode(LocalEngine):
    """Context manager: `with OpenSearchNode(path) as node: OpenSearch(node.url)`.

    `path` holds the node's config, data and logs, so a later node on the same path sees the same
    indices. Heap `heap`; `pid` is the JVM. Alone (single-node discovery) unless `seat` places it in
    a cluster (`cluster.OpenSearchCluster` starts all of them, then waits).
    """

    startup_timeout_s = 180.0

    def __init__(
        self,
        path: str | Path,
        port: int | None = None,
        heap: str = HEAP,
        version: str = VERSION,
        seat: Seat | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        super().__init__(self.path / "engine.pid")
        self.port = port or free_port()
        self.heap, self.version, self.seat = heap, version, seat
        self._process: subprocess.Popen | None = None
        self._indices: dict[str, dict[str, bool]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The JVM's pid while it runs (None before start and once it has ended)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def client(self) -> OpenSearch:
        """A new client on this node, with a connection pool for concurrent searches."""
        return OpenSearch(self.url, pool_maxsize=CLIENT_POOL, timeout=CLIENT_TIMEOUT_S)

    def _configure(self, home: Path) -> Path:
        config = self.path / "config"
        for folder in ("data", "logs"):  # jvm.options writes gc.log and heap dumps relative to the cwd
            (self.path / folder).mkdir(exist_ok=True)
        if not config.exists():
            shutil.copytree(home / "config", config)
            # bin/opensearch runs from the read-only distribution: point its relative paths here.
            options = config / "jvm.options"
            text = options.read_text().replace("=logs/", f"={self.path}/logs/").replace("=data", f"={self.path}/data")
            options.write_text(text.replace("file=logs/", f"file={self.path}/logs/"))
        (config / "opensearch.yml").write_text(
            "\n".join(
                [
                    "cluster.name: saevdb",
                    *(
                        self.seat.settings()
                        if self.seat
                        else ["node.name: saevdb-0", f"transport.port: {free_port()}", "discovery.type: single-node"]
                    ),
                    f"path.data: {self.path / 'data'}",
                    f"path.logs: {self.path / 'logs'}",
                    "network.host: 127.0.0.1",
                    f"http.port: {self.port}",
                    # A nearly full shared disk must not turn test indices read-only.
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                    # A full-width query is one rank_feature clause per latent (up to h); Lucene's default cap is 1,024.
                    f"indices.query.bool.max_clause_count: {MAX_CLAUSES}",
                    "",
                ]
            )
        )
        return config

    def start(self) -> OpenSearchNode:
        self.launch()
        self.wait_serving()
        return self

    def launch(self) -> None:
        """Start the JVM without waiting: a cluster's nodes each wait for the others to elect a manager."""
        home = ensure_distribution(self.version)
        self.path.mkdir(parents=True, exist_ok=True)
        self.reap_stale()
        config = self._configure(home)
        env = {
            **os.environ,
            "OPENSEARCH_JAVA_HOME": str(java_home(self.version)),
            "OPENSEARCH_PATH_CONF": str(config),
            "OPENSEARCH_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
        }
        user = None
        if as_root():
            user = UNPRIVILEGED_USER
            _check_reachable(self.path)
            shutil.chown(self.path, user)
            for path in self.path.rglob("*"):
                shutil.chown(path, user)
        with open(self.path / "stdout.log", "ab") as log:
            self._process = subprocess.Popen(
                [str(home / "bin" / "opensearch")],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                cwd=self.path,
            )

    def wait_serving(self) -> None:
        """The bounded wait until the node answers a health request at yellow, then its pid file."""
        probe = OpenSearch(self.url, max_retries=0)

        def healthy() -> bool:
            """Once the port accepts connections, the engine's own wait: the node answers when the
            cluster is yellow (waiting up to 30 s itself). Probing only an open port keeps the client
            from logging a refused connection on every poll."""
            if not port_open(self.port):
                return False
            return not probe.cluster.health(wait_for_status="yellow", request_timeout=60)["timed_out"]

        try:
            self.wait_until_serving(
                healthy,
                lambda: self._process.poll() is None,
                "OpenSearch",
                retry_on=(OpenSearchConnectionError, ConnectionTimeout, TransportError),
            )
        except EngineNotReady as e:
            raise EngineNotReady(f"{e}\n{self._log_tail()}") from e
        finally:
            probe.close()
        self.record_pid()

    def _index_kinds(self) -> dict[str, dict[str, bool]]:
        """Index uuid → which fields its mapping has: `sparse` (rank_features or sparse_vector),
        `float_vectors` (a float knn_vector), `byte_vectors` (a data_type byte or binary knn_vector)."""
        client = self.client()
        try:
            uuids = {row["index"]: row["uuid"] for row in client.cat.indices(format="json", h="index,uuid")}
            kinds = {}
            for index, body in client.indices.get_mapping().items():
                fields = body["mappings"].get("properties", {}).values()
                vectors = [str(f.get("data_type", "float")).lower() for f in fields if f.get("type") == "knn_vector"]
                kinds[uuids.get(index, index)] = {
                    "sparse": any(f.get("type") in ("rank_features", "sparse_vector") for f in fields),
                    "float_vectors": "float" in vectors,
                    "byte_vectors": "byte" in vectors or "binary" in vectors,
                }
            return kinds
        finally:
            client.close()

    def memory(self) -> ProcessMemory:
        """The base reading, with each index's mapping read first (`file_role` needs it)."""
        self._indices = self._index_kinds()
        return super().memory()

    def file_role(self, path: Path) -> str:
        """The role of a file under `data/nodes/0/indices/<uuid>/<shard>/index/`, by its Lucene extension
        and the mapping of its index: postings are "sparse" in an index with a rank_features field
        (the few `_id` terms share those files), else "other"; `.vex` "graph"; `.veq` "quantized";
        `.vec` "vectors" (the int8 vectors of a data_type byte field: "quantized"); doc values
        "vectors" where a float knn_vector keeps its copy there, else "other". Stored fields
        (`_id`, `_source`: read to return each hit's id) are "ids"; the translog "wal"; points, norms
        and `_state` "other". A compound file
        (`.cfs`, a freshly flushed segment that packs all its files in one) is "other": a mapping's
        resident pages cannot be split by the sub-files' ranges; indexes are created so that
        merged segments are never compound (`index.compound_format: false`), so after `optimize()`
        there is none."""
        parts = path.parts
        if "translog" in parts:
            return "wal"
        if "indices" not in parts or parts[-2:-1] != ("index",):
            return "other"
        kind = self._indices.get(parts[parts.index("indices") + 1], {})
        ext = path.suffix
        if ext in POSTINGS:
            return "sparse" if kind.get("sparse") else "other"
        if ext in GRAPH:
            return "graph"
        if ext in QUANTIZED:
            return "quantized"
        if ext in FLAT:
            return "quantized" if kind.get("byte_vectors") and not kind.get("float_vectors") else "vectors"
        if ext in STORED_FIELDS:
            return "ids"
        if ext in DOC_VALUES:
            return "vectors" if kind.get("float_vectors") else "other"
        return "other"

    def heap_used_bytes(self) -> int | None:
        """The JVM heap in use, from the node's own statistics (`_nodes/_local/stats/jvm`)."""
        if self.pid is None:
            return None
        client = self.client()
        try:
            nodes = client.nodes.stats(node_id="_local", metric="jvm")["nodes"]
            return int(next(iter(nodes.values()))["jvm"]["mem"]["heap_used_in_bytes"])
        finally:
            client.close()

    def _log_tail(self) -> str:
        log = self.path / "stdout.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def _end(self, graceful: bool) -> None:
        if self._process is not None and self._process.poll() is None:
            if graceful:
                self._process.terminate()
                try:
                    self._process.wait(timeout=STOP_TIMEOUT_S)
                    return
                except subprocess.TimeoutExpired:
                    pass  # a node that ignores SIGTERM is killed below
            self._process.kill()
            self._process.wait()

    def sparse_adapter(self, model, name: str, **options):
        from saevdb.adapters.opensearch.sparse import OpenSearchAdapter

        return OpenSearchAdapter(model, self.client(), name, **options)

    def dense_adapter(self, d: int, name: str, **options):
        from saevdb.adapters.opensearch.dense import OpenSearchDenseAdapter

        return OpenSearchDenseAdapter(d, self.client(), name, **options)


class OpenSearch3Node(OpenSearchNode):
    """The same node on the 3.x line (`distribution.VERSION_3`, a Java 21+ JDK): the registry's
    "opensearch3", so one `compare` run measures it beside 2.19 on the same data and settings."""

    def __init__(self, path: str | Path, port: int | None = None, heap: str = HEAP, seat: Seat | None = None) -> None:
        super().__init__(path, port=port, heap=heap, version=VERSION_3, seat=seat)
