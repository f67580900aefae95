"""A real OpenSearch cluster on loopback: `nodes` nodes of the same distribution, each with its own
folder, HTTP and transport ports, found by `discovery.seed_hosts` and bootstrapped by
`cluster.initial_cluster_manager_nodes` (every node is cluster-manager eligible and holds data).

All JVMs are launched before any is waited for: one node alone cannot elect a cluster manager, so it
answers only once a majority runs. The waits are the single node's (bounded, the node's log in the
error), then one on the cluster's own health: every node joined, the wanted status reached.
"""

from __future__ import annotations

from pathlib import Path

from opensearchpy import OpenSearch

from saevdb.adapters.launcher import EngineNotReady, LocalCluster, free_port
from saevdb.adapters.opensearch.constants import CLIENT_POOL, CLIENT_TIMEOUT_S
from saevdb.adapters.opensearch.distribution import VERSION
from saevdb.adapters.opensearch.engine import HEAP, OpenSearchNode, Seat

NODES = 3
JOIN_TIMEOUT_S = 300  # three JVMs starting on two cores take a minute or two; a rejoin with shards to recover more


class OpenSearchCluster(LocalCluster):
    """`with OpenSearchCluster(path) as cluster: OpenSearch(cluster.urls)`; node i lives in `path/node-i`.

    The ports are chosen once, so a node restarted by `restart_node` rejoins as itself, over its own data.
    """

    def __init__(self, path: str | Path, nodes: int = NODES, heap: str = HEAP, version: str = VERSION) -> None:
        if nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got {nodes}")
        self.path = Path(path).absolute()
        names = tuple(f"saevdb-{i}" for i in range(nodes))
        transport = tuple(free_port() for _ in names)
        seats = [Seat(name, port, transport, names) for name, port in zip(names, transport, strict=True)]
        super().__init__(
            [
                OpenSearchNode(self.path / f"node-{i}", heap=heap, version=version, seat=seat)
                for i, seat in enumerate(seats)
            ]
        )
        for node in self.nodes:
            node.startup_timeout_s = JOIN_TIMEOUT_S

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated, as `saevdb ingest --url` and `from_url` take them."""
        return ",".join(self.urls)

    def client(self) -> OpenSearch:
        """A client on every node: a node that stops answering is marked dead and the next one tried."""
        return OpenSearch(self.urls, pool_maxsize=CLIENT_POOL, timeout=CLIENT_TIMEOUT_S)

    def start(self) -> OpenSearchCluster:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_serving()
            self.wait_for(len(self.nodes), "green")
        except BaseException:
            self.kill()
            raise
        return self

    def restart_node(self, i: int) -> None:
        self.nodes[i].start()
        self.wait_for(sum(node.pid is not None for node in self.nodes), "green")

    def health(self) -> dict:
        """The cluster's health (`_cluster/health`): status, nodes, unassigned shards."""
        client = self.client()
        try:
            return client.cluster.health()
        finally:
            client.close()

    def wait_for(self, nodes: int, status: str) -> None:
        """Wait until `nodes` nodes have joined and the cluster is at least `status`, within
        `JOIN_TIMEOUT_S` (the cluster's own wait, one request)."""
        client = self.client()
        try:
            health = client.cluster.health(
                wait_for_nodes=str(nodes),
                wait_for_status=status,
                timeout=f"{JOIN_TIMEOUT_S}s",
                request_timeout=JOIN_TIMEOUT_S + 30,
            )
        finally:
            client.close()
        if health["timed_out"]:
            raise EngineNotReady(
                f"the OpenSearch cluster at {self.url} did not reach {nodes} nodes and {status} within"
                f" {JOIN_TIMEOUT_S} s: {health['number_of_nodes']} nodes, {health['status']},"
                f" {health['unassigned_shards']} shards unassigned"
            )

    def sparse_adapter(self, model, name: str, **options):
        from saevdb.adapters.opensearch.sparse import OpenSearchAdapter

        return OpenSearchAdapter(model, self.client(), name, **options)
