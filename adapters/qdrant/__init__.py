"""Qdrant: codes in a named sparse vector. `QdrantAdapter` (qdrant-client: a server, a cluster or
local mode), `QdrantEdgeAdapter` / `QdrantEdgeDenseAdapter` (Qdrant Edge, the engine in-process),
`QdrantEdgeProcess` (Edge in a child process: the local engine) and `QdrantIngestHook`."""

from saevdb.adapters.qdrant.client import QdrantAdapter
from saevdb.adapters.qdrant.edge import QdrantEdgeAdapter
from saevdb.adapters.qdrant.edge_dense import QdrantEdgeDenseAdapter
from saevdb.adapters.qdrant.engine import QdrantEdgeProcess
from saevdb.adapters.qdrant.hook import QdrantIngestHook

__all__ = ["QdrantAdapter", "QdrantEdgeAdapter", "QdrantEdgeDenseAdapter", "QdrantEdgeProcess", "QdrantIngestHook"]
