"""What the OpenSearch sparse and dense adapters share: one index on a client, writes made
searchable by a refresh just before something reads them, bulk writes, searches sent in msearch
bodies a node accepts, merging after a bulk load, and the index's own figures."""

from __future__ import annotations

from typing import Any

import numpy as np
from opensearchpy import OpenSearch, helpers

from saevdb.adapters.base import NodeUnreachable
from saevdb.adapters.opensearch.constants import (
    BULK_TIMEOUT_S,
    CLIENT_POOL,
    CLIENT_TIMEOUT_S,
    MERGE_TIMEOUT_S,
    MSEARCH_BYTES,
    PROBE_TIMEOUT_S,
)


def client_for(url: str) -> OpenSearch:
    """A client on every node of `url` (comma-separated), once each has answered a ping: a node
    named but down would otherwise be skipped silently by the client's retries, and the user asked
    for it. One that does not answer raises `NodeUnreachable` naming it, before anything is written."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    for one in urls:
        probe = OpenSearch(one, max_retries=0, timeout=PROBE_TIMEOUT_S)
        try:
            answers = probe.ping()
        finally:
            probe.close()
        if not answers:
            raise NodeUnreachable(f"{one}: no OpenSearch node answers there (of --url {url}); nothing was written")
    return OpenSearch(urls, pool_maxsize=CLIENT_POOL, timeout=CLIENT_TIMEOUT_S)


def cluster_capabilities(client: OpenSearch) -> dict[str, Any]:
    """What the cluster offers, read from every node: its version, its plugins, and the sparse
    field and query types they make available (rank_features is the mapper-extras module's)."""
    version = client.info()["version"]["number"]
    nodes = client.nodes.info(metric="plugins")["nodes"].values()
    plugins = set.intersection(*({p["name"] for p in node["plugins"]} for node in nodes))
    modules = set.intersection(*({m["name"] for m in node["modules"]} for node in nodes))
    major, minor = (int(part) for part in version.split(".")[:2])
    neural = "opensearch-neural-search" in plugins
    return {
        "version": version,
        "plugins": sorted(plugins),
        "rank_features": "mapper-extras" in modules,
        "neural_sparse": neural,
        "sparse_vector": neural and (major, minor) >= (3, 3),
    }


def index_settings(shards: int, replicas: int, **extra: Any) -> dict[str, Any]:
    """The `settings` of an index we create. `compound_format: false`: merged segments keep one file
    per Lucene format instead of one packed `.cfs`, so after `merge_to_one_segment` every file (and
    its resident pages) has one role (`OpenSearchNode.file_role`); freshly flushed segments are
    still compound files until they are merged. `store.type: mmapfs`: every file is memory-mapped,
    so the pages a search reads are the node's own mappings and are counted in its memory; the
    default (`hybridfs`) reads some formats through the page cache instead, where no per-process
    reading can see them."""
    settings = {"number_of_shards": shards, "number_of_replicas": replicas, "compound_format": False}
    return {"index": {**settings, "store": {"type": "mmapfs"}, **extra}}


class IndexOnClient:
    """An index `index` on `client`; subclasses set both. Writes mark it unrefreshed, reads refresh it once."""

    client: OpenSearch
    index: str
    _unrefreshed: bool = False

    def mark_written(self) -> None:
        """Writes went in outside `bulk_write` (an ingest hook's refresh=True asks for them now)."""
        self._unrefreshed = True

    def refresh(self) -> None:
        """Make the writes so far searchable, once, just before something reads them."""
        if self._unrefreshed:
            self.client.indices.refresh(index=self.index)
            self._unrefreshed = False

    def bulk_write(self, actions: list[dict[str, Any]], ignore_status: tuple[int, ...] = ()) -> None:
        """One bulk request for the whole batch (already validated), with a timeout a busy node meets."""
        helpers.bulk(
            self.client,
            actions,
            chunk_size=max(len(actions), 1),
            max_chunk_bytes=100 * 2**20,
            request_timeout=BULK_TIMEOUT_S,
            ignore_status=ignore_status,
        )
        self._unrefreshed = True

    def multi_search(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One response per search request on this index, in order, sent as msearch bodies of at
        most `MSEARCH_BYTES` (one request alone may exceed it: it goes out by itself). Each request
        is serialized once, by the client's own serializer, and sent as that NDJSON text."""
        dumps = self.client.transport.serializer.dumps
        header = dumps({"index": self.index})
        responses: list[dict[str, Any]] = []
        lines: list[str] = []
        size = 0
        for request in map(dumps, requests):
            if lines and size + len(request) > MSEARCH_BYTES:
                responses += self.client.msearch(body="".join(lines))["responses"]
                lines, size = [], 0
            lines.append(f"{header}\n{request}\n")
            size += len(request)
        if lines:
            responses += self.client.msearch(body="".join(lines))["responses"]
        return responses

    def merge_to_one_segment(self) -> None:
        """Refresh (buffered documents become segments), merge to one, refresh again so searchers and
        stats move to the merged segment: the state after a bulk load."""
        self.client.indices.refresh(index=self.index)
        self.client.indices.forcemerge(index=self.index, max_num_segments=1, request_timeout=MERGE_TIMEOUT_S)
        self.client.indices.refresh(index=self.index)
        self._unrefreshed = False

    def index_figures(self) -> dict[str, Any]:
        """The engine's own figures for the index (primaries): documents, store size, segments."""
        self.refresh()
        primaries = self.client.indices.stats(index=self.index, metric="docs,store,segments")["_all"]["primaries"]
        return {
            "engine": "opensearch",
            "points": primaries["docs"]["count"],
            "store_bytes": primaries["store"]["size_in_bytes"],
            "segments": primaries["segments"]["count"],
        }


def check_nonzero(vectors: np.ndarray, name: str) -> None:
    """Cosine is undefined for a zero vector and Lucene rejects one: refuse the batch before sending it."""
    zero = np.flatnonzero(~np.any(vectors, axis=1))
    if zero.size:
        raise ValueError(f"{name} contain {zero.size} zero row(s), e.g. rows {', '.join(map(str, zero[:5]))}")
