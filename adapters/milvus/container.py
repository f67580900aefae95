"""Milvus standalone in a container (testcontainers), for users with a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def milvus_container(image: str) -> Iterator[tuple[type, object]]:
    """Start `image`; yield (the sparse adapter class, a connected `MilvusClient`)."""
    from pymilvus import MilvusClient
    from testcontainers.milvus import MilvusContainer

    from saevdb.adapters.milvus.sparse import MilvusAdapter

    with MilvusContainer(image) as c:
        yield MilvusAdapter, MilvusClient(uri=c.get_connection_url())
