"""Qdrant in a container (testcontainers), for users with a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def qdrant_container(image: str) -> Iterator[tuple[type, object]]:
    """Start `image`; yield (the sparse adapter class, a connected `QdrantClient`)."""
    from qdrant_client import QdrantClient
    from testcontainers.qdrant import QdrantContainer

    from saevdb.adapters.qdrant.client import QdrantAdapter

    with QdrantContainer(image) as c:
        yield QdrantAdapter, QdrantClient(host=c.get_container_host_ip(), port=int(c.get_exposed_port(6333)))
