"""OpenSearch in a container (testcontainers), for users with a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def opensearch_container(image: str) -> Iterator[tuple[type, object]]:
    """Start `image` without its security plugin; yield (the sparse adapter class, a connected client)."""
    from opensearchpy import OpenSearch
    from testcontainers.opensearch import OpenSearchContainer

    from saevdb.adapters.opensearch.sparse import OpenSearchAdapter

    with OpenSearchContainer(image, security_enabled=False) as c:
        yield OpenSearchAdapter, OpenSearch(f"http://{c.get_container_host_ip()}:{c.get_exposed_port(9200)}")
