"""OpenSearch through the official `opensearch-py`: any cluster URL, or the embedded node of
`adapters.opensearch_node`.

Codes live in a `rank_features` field (core module mapper-extras): one feature per non-zero,
named by its latent index. A query is a `bool.should` of `rank_feature` clauses with the
`linear` function and `boost` = query weight, which sums to the exact sparse inner product (at
the ~9 significant bits rank_features keeps). OpenSearch takes only positive weights.

`_source` never holds the rank_features map: by default it keeps the code in a compact base64
field (`source="compact"`), so `retrieve` and re-ranking still work; `source="none"` drops even
that; `source="full"` keeps the map, which is what an unconfigured index would do.

The model's identity lives in the index mapping's `_meta` and is checked before any write or query.

`OpenSearchDenseAdapter` is the baseline the codes are measured against: the same engine holding the
dense float32 vectors in a `knn_vector` field of the k-NN plugin (HNSW of its Lucene engine, cosine),
as a user has it today.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np
import scipy.sparse as sp
from opensearchpy import OpenSearch, helpers

from adapters.base import (
    ModelInfo,
    UnsupportedFeatureError,
    check_batch,
    check_dense_batch,
    check_queries,
    pad_results,
    rows_to_csr,
)
from adapters.process import rss_bytes
from sae_core.validation import check_embeddings

VECTOR_FIELD = "sae"
CODE_FIELD = "sae_code"
DENSE_FIELD = "dense"
METADATA_KEY = "saevdb"
# opensearch-py waits 10 s by default; a large bulk on a busy node, or merging HNSW graphs, takes longer.
BULK_TIMEOUT_S = 120
MERGE_TIMEOUT_S = 3600
CLIENT_POOL = 16  # HTTP connections per client we create: concurrent searches share one adapter
SOURCE_MODES = ("compact", "none", "full")
# method → (field type, query type). neural_sparse and SEISMIC need the neural-search plugin.
METHODS = {
    "rank_feature": ("rank_features", "rank_feature"),
    "neural_sparse": ("rank_features", "neural_sparse"),
    "seismic": ("sparse_vector", "neural_sparse"),
}


def _pack(indices: np.ndarray, values: np.ndarray) -> str:
    """One row's code as base64 of uint32 indices then float32 values: exact, and 8 bytes a non-zero."""
    return base64.b64encode(indices.astype("<u4").tobytes() + values.astype("<f4").tobytes()).decode()


def _unpack(packed: str) -> tuple[np.ndarray, np.ndarray]:
    raw = base64.b64decode(packed)
    half = len(raw) // 2
    return np.frombuffer(raw[:half], dtype="<u4"), np.frombuffer(raw[half:], dtype="<f4")


class OpenSearchAdapter:
    """An OpenSearch index of k-sparse codes.

    Args:
        model: the `ModelInfo` of the SAE whose codes this index holds.
        client: a connected `OpenSearch` client.
        index: index name.
        source: what `_source` keeps of a code, see the module docstring.
        method: "rank_feature" (core OpenSearch: exact), "neural_sparse" (the neural-search plugin's
            query on the same rank_features field) or "seismic" (a `sparse_vector` field with the
            SEISMIC approximate index, OpenSearch 3.3+ with the plugin). The plugin and version are
            read from the cluster; a method it cannot serve is refused.
        seismic_parameters: the SEISMIC `method.parameters` (e.g. a low `approximate_threshold` for
            small indices).
        shards, replicas: index settings, for clusters of more than one node.
        payload_mapping: mapping `properties` for payload fields (e.g. `{"genre": {"type": "keyword"}}`);
            fields not named here are mapped dynamically.
    """

    def __init__(
        self,
        model: ModelInfo,
        client: OpenSearch,
        index: str,
        source: str = "compact",
        method: str = "rank_feature",
        seismic_parameters: dict[str, Any] | None = None,
        shards: int = 1,
        replicas: int = 0,
        payload_mapping: dict[str, Any] | None = None,
    ) -> None:
        if source not in SOURCE_MODES:
            raise ValueError(f"source must be one of {SOURCE_MODES}, got {source!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
        self.model, self.client, self.index = model, client, index
        self.source, self.method, self.shards, self.replicas = source, method, shards, replicas
        self.field_type, self.query_type = METHODS[method]
        self.seismic_parameters = dict(seismic_parameters or {})
        self.payload_mapping = dict(payload_mapping or {})
        if {VECTOR_FIELD, CODE_FIELD} & set(self.payload_mapping):
            raise ValueError(f"payload fields {VECTOR_FIELD!r} and {CODE_FIELD!r} are reserved")
        self._checked = False
        self._unrefreshed = False
        if method != "rank_feature":
            offered = self.capabilities()
            needed = "sparse_vector" if method == "seismic" else "neural_sparse"
            if not offered[needed]:
                raise UnsupportedFeatureError(
                    f"method {method!r} needs the neural-search plugin"
                    f"{' and OpenSearch 3.3+' if method == 'seismic' else ''}; this cluster is {offered['version']} "
                    f"with plugins {offered['plugins']}"
                )

    def __repr__(self) -> str:
        return f"OpenSearchAdapter(index={self.index!r}, source={self.source}, method={self.method})"

    def capabilities(self) -> dict[str, Any]:
        """What the cluster offers, read from it: its version and the sparse query types it knows."""
        version = self.client.info()["version"]["number"]
        plugins = {row["component"] for row in self.client.cat.plugins(format="json")}
        major, minor = (int(part) for part in version.split(".")[:2])
        neural = "opensearch-neural-search" in plugins
        return {
            "version": version,
            "plugins": sorted(plugins),
            "rank_features": True,
            "neural_sparse": neural,
            "sparse_vector": neural and (major, minor) >= (3, 3),
        }

    def _mapping(self) -> dict[str, Any]:
        field: dict[str, Any] = {"type": self.field_type}
        if self.method == "seismic":
            field["method"] = {"name": "seismic", "parameters": self.seismic_parameters}
        properties: dict[str, Any] = {**self.payload_mapping, VECTOR_FIELD: field}
        mapping: dict[str, Any] = {"_meta": {METADATA_KEY: self.model.to_dict()}, "properties": properties}
        if self.source != "full":
            mapping["_source"] = {"excludes": [VECTOR_FIELD]}
        if self.source == "compact":
            properties[CODE_FIELD] = {"type": "binary"}  # kept in _source only: not indexed, no doc values
        return mapping

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, index: str, **options) -> OpenSearchAdapter:
        """On an OpenSearch cluster at `url` (e.g. "http://opensearch:9200"; several: comma-separated)."""
        return cls(model, OpenSearch(url.split(","), pool_maxsize=CLIENT_POOL), index, **options)

    def exists(self) -> bool:
        return bool(self.client.indices.exists(index=self.index))

    def recreate(self) -> None:
        self.client.indices.delete(index=self.index, ignore_unavailable=True)
        settings: dict[str, Any] = {"index": {"number_of_shards": self.shards, "number_of_replicas": self.replicas}}
        if self.method == "seismic":
            settings["index"]["sparse"] = True
        self.client.indices.create(index=self.index, body={"settings": settings, "mappings": self._mapping()})
        self._checked = True

    def optimize(self) -> None:
        """Make everything searchable and merge to one segment, as after a bulk load."""
        _merge_to_one_segment(self.client, self.index)
        self._unrefreshed = False

    def drop(self) -> None:
        self.client.indices.delete(index=self.index, ignore_unavailable=True)
        self._checked = False

    def _check_model(self) -> None:
        if self._checked:
            return
        if not self.client.indices.exists(index=self.index):
            raise ValueError(f"index {self.index!r} does not exist: call recreate() first")
        mapping = self.client.indices.get_mapping(index=self.index)
        meta = next(iter(mapping.values()))["mappings"].get("_meta", {})
        self.model.check_same(meta.get(METADATA_KEY), self.index)
        self._checked = self._aliased_to() is None  # behind an alias, the index can change

    def _aliased_to(self) -> str | None:
        """The index `self.index` names when it is an alias."""
        if not self.client.indices.exists_alias(name=self.index):
            return None
        return next(iter(self.client.indices.get_alias(name=self.index)))

    def point_alias(self, alias: str) -> str | None:
        previous = (
            next(iter(self.client.indices.get_alias(name=alias)))
            if self.client.indices.exists_alias(name=alias)
            else None
        )
        self._unrefreshed = True
        self._refresh()  # readers switched to this index see all of it at once
        actions = [{"add": {"index": self.index, "alias": alias}}]
        if previous is not None:
            actions.insert(0, {"remove": {"index": previous, "alias": alias}})
        self.client.indices.update_aliases(body={"actions": actions})  # one request: atomic
        return previous

    def _refresh(self) -> None:
        """Make the writes so far searchable, once, just before something reads them."""
        if self._unrefreshed:
            self.client.indices.refresh(index=self.index)
            self._unrefreshed = False

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=True)
        codes.eliminate_zeros()  # rank_features stores positive weights only; a zero adds nothing
        if payloads is not None and any({VECTOR_FIELD, CODE_FIELD} & set(p or {}) for p in payloads):
            raise ValueError(f"payload keys {VECTOR_FIELD!r} and {CODE_FIELD!r} are reserved")
        self._check_model()
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = []
        for i, (point, extra) in enumerate(zip(ids, extras, strict=True)):
            row = slice(codes.indptr[i], codes.indptr[i + 1])
            indices, values = codes.indices[row], codes.data[row]
            doc = {**(extra or {}), VECTOR_FIELD: dict(zip(map(str, indices.tolist()), values.tolist(), strict=True))}
            if self.source == "compact":
                doc[CODE_FIELD] = _pack(indices, values)
            actions.append({"_op_type": "index", "_index": self.index, "_id": str(point), "_source": doc})
        helpers.bulk(
            self.client, actions, chunk_size=len(actions), max_chunk_bytes=100 * 2**20, request_timeout=BULK_TIMEOUT_S
        )
        self._unrefreshed = True

    def query_dsl(self, indices: np.ndarray, weights: np.ndarray, filter: dict | None = None) -> dict[str, Any]:
        """The OpenSearch query that scores documents by their inner product with one sparse query."""
        if indices.size == 0:
            return {"match_none": {}}  # an empty `should` would match every document
        if self.query_type == "neural_sparse":
            tokens = dict(zip(map(str, indices.tolist()), weights.tolist(), strict=True))
            scoring = {"neural_sparse": {VECTOR_FIELD: {"query_tokens": tokens}}}
        else:
            clauses = [
                {"rank_feature": {"field": f"{VECTOR_FIELD}.{j}", "linear": {}, "boost": w}}
                for j, w in zip(indices.tolist(), weights.tolist(), strict=True)
            ]
            scoring = {"bool": {"should": clauses}}
        if filter is None:
            return scoring
        return {"bool": {"must": [scoring], "filter": [filter]}}

    def search(self, queries: sp.csr_matrix, top_k: int, filter: dict | None = None):
        """`filter` is OpenSearch query DSL (e.g. `{"term": {"genre": "drama"}}`), applied as a filter."""
        queries = check_queries(queries, self.model.h, nonneg=True)
        queries.eliminate_zeros()
        self._check_model()
        self._refresh()
        body: list[dict[str, Any]] = []
        for i in range(queries.shape[0]):
            row = slice(queries.indptr[i], queries.indptr[i + 1])
            query = self.query_dsl(queries.indices[row], queries.data[row], filter)
            body += [{"index": self.index}, {"size": top_k, "query": query, "_source": False}]
        hits = []
        for response in self.client.msearch(body=body)["responses"]:
            if "error" in response:
                raise RuntimeError(f"OpenSearch search failed: {response['error']}")
            hits.append([(int(hit["_id"]), hit["_score"]) for hit in response["hits"]["hits"]])
        return pad_results(hits, top_k)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        if self.source == "none":
            raise UnsupportedFeatureError("this index keeps no codes in _source (source='none'): nothing to retrieve")
        self._check_model()
        docs = self.client.mget(index=self.index, body={"ids": [str(int(i)) for i in ids]})["docs"]
        found = {}
        for doc in docs:
            if not doc.get("found"):
                continue
            if self.source == "compact":
                found[int(doc["_id"])] = _unpack(doc["_source"][CODE_FIELD])
            else:
                features = doc["_source"][VECTOR_FIELD]
                found[int(doc["_id"])] = (list(map(int, features)), list(features.values()))
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self._check_model()
        actions = [{"_op_type": "delete", "_index": self.index, "_id": str(int(i))} for i in ids]
        helpers.bulk(self.client, actions, ignore_status=(404,))
        self._unrefreshed = True

    def count(self) -> int:
        self._check_model()
        self._refresh()
        return int(self.client.count(index=self.index)["count"])

    def stats(self) -> dict[str, Any]:
        self._refresh()
        return {
            **_index_figures(self.client, self.index),
            "source": self.source,
        }

    def close(self) -> None:
        self.client.close()


def _merge_to_one_segment(client: OpenSearch, index: str) -> None:
    """Refresh (buffered documents become segments), merge to one, refresh again so searchers and
    stats move to the merged segment."""
    client.indices.refresh(index=index)
    client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=MERGE_TIMEOUT_S)
    client.indices.refresh(index=index)


def _index_figures(client: OpenSearch, index: str) -> dict[str, Any]:
    """The engine's own figures for one index, and the node's resident memory when it is local."""
    primaries = client.indices.stats(index=index, metric="docs,store,segments")["_all"]["primaries"]
    return {
        "engine": "opensearch",
        "points": primaries["docs"]["count"],
        "store_bytes": primaries["store"]["size_in_bytes"],
        "segments": primaries["segments"]["count"],
        "engine_rss_bytes": rss_bytes(_local_engine_pid(client)),
    }


def _local_engine_pid(client: OpenSearch) -> int | None:
    """The node's pid when the cluster is one node on this machine, so its memory can be read."""
    nodes = client.nodes.info(metric="process,http")["nodes"]
    if len(nodes) != 1:
        return None
    node = next(iter(nodes.values()))
    host = urlparse(f"http://{node['http']['publish_address']}").hostname or ""
    return node["process"]["id"] if ipaddress.ip_address(host.split("/")[-1]).is_loopback else None


class OpenSearchIngestHook:
    """Wraps an existing `OpenSearch` client so the dense k-NN calls users already make store SAE codes.

    - `indices.create(index, body)` with a `knn_vector` field named `vector_field` builds the sparse
      index instead (the dimension must be the model's d; the other mapped fields are kept);
    - `index(index, body, id)` and `bulk(body)` (so also `helpers.bulk`) encode that field of each
      document, validating the whole call before anything is written;
    - `search(index, body)` with a `knn` query on that field encodes the query vector and runs the
      sparse query (the knn `filter`, if any, stays a filter); the response is OpenSearch's own.

    Every other attribute is the client's own.
    """

    def __init__(self, client: OpenSearch, model, vector_field: str = "embedding", query_k: int | None = None):
        self._client, self._model, self._vector_field = client, model, vector_field
        self._info = ModelInfo.of(model)
        self._query_k = query_k
        self._adapters: dict[str, OpenSearchAdapter] = {}
        self.indices = _HookedIndices(self)

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def _adapter(self, index: str, payload_mapping: dict | None = None) -> OpenSearchAdapter:
        """One adapter per index, so its model check reads the engine once, not on every call."""
        if index not in self._adapters or payload_mapping is not None:
            self._adapters[index] = OpenSearchAdapter(self._info, self._client, index, payload_mapping=payload_mapping)
        return self._adapters[index]

    def _create(self, index: str, body: dict | None) -> dict[str, Any]:
        body = body or {}
        properties = dict(body.get("mappings", {}).get("properties", {}))
        dense = properties.pop(self._vector_field, None)
        if dense is None or dense.get("type") != "knn_vector":
            raise ValueError(f"the mapping needs the dense field {self._vector_field!r} of type knn_vector")
        if dense.get("dimension") != self._info.d:
            raise ValueError(f"dimension {dense.get('dimension')} differs from the model's d={self._info.d}")
        self._adapter(index, payload_mapping=properties).recreate()
        return {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def _encode_docs(self, docs: list[tuple[Any, dict]]) -> tuple[list[int], sp.csr_matrix, list[dict]]:
        from sae_core.encode import encode

        if any(self._vector_field not in doc for _, doc in docs):
            raise ValueError(f"every document needs the dense field {self._vector_field!r}")
        try:
            ids = [int(point) for point, _ in docs]
        except (TypeError, ValueError) as e:
            raise ValueError("document ids must be non-negative integers (or their strings)") from e
        dense = np.asarray([doc[self._vector_field] for _, doc in docs], dtype=np.float32)
        payloads = [{k: v for k, v in doc.items() if k != self._vector_field} for _, doc in docs]
        return ids, encode(self._model, dense, show_progress_bar=False), payloads

    def index(self, index: str, body: dict, id: Any = None, **kwargs) -> dict[str, Any]:
        if id is None:
            raise ValueError("the ingest hook needs an integer id for each document")
        _check_write_options(kwargs)
        ids, codes, payloads = self._encode_docs([(id, body)])
        self._adapter(index).upsert(ids, codes, payloads)
        self._refresh_if_asked([index], kwargs.get("refresh"))
        return {"_index": index, "_id": str(id), "result": "created"}

    def bulk(self, body, index: str | None = None, **kwargs) -> dict[str, Any]:
        """Index and delete actions, as NDJSON or a list; each index's encoded batch is written whole."""
        _check_write_options(kwargs)
        start = time.perf_counter()
        lines = [json.loads(line) if isinstance(line, str) else line for line in _bulk_lines(body)]
        upserts: dict[str, list[tuple[Any, dict]]] = {}
        deletes: dict[str, list[int]] = {}
        items = []
        position = 0
        while position < len(lines):
            ((op, meta),) = lines[position].items()
            target = meta.get("_index", index)
            if op in ("index", "create"):
                upserts.setdefault(target, []).append((meta.get("_id"), lines[position + 1]))
                position += 2
            elif op == "delete":
                deletes.setdefault(target, []).append(int(meta["_id"]))
                position += 1
            else:
                raise ValueError(f"bulk action {op!r} is not supported by the ingest hook")
            items.append({op: {"_index": target, "_id": str(meta.get("_id")), "status": 200}})
        encoded = {target: self._encode_docs(docs) for target, docs in upserts.items()}
        for target, (ids, codes, payloads) in encoded.items():
            self._adapter(target).upsert(ids, codes, payloads)
        for target, ids in deletes.items():
            self._adapter(target).delete(ids)
        self._refresh_if_asked([*upserts, *deletes], kwargs.get("refresh"))
        return {"took": int(1000 * (time.perf_counter() - start)), "errors": False, "items": items}

    def _refresh_if_asked(self, indices: list[str], refresh: Any) -> None:
        if refresh not in (None, False, "false"):
            for index in indices:
                self._adapter(index)._unrefreshed = True
                self._adapter(index)._refresh()

    def search(self, index: str, body: dict | None = None, **kwargs) -> dict[str, Any]:
        from sae_core.query import query_vectors

        knn = (body or {}).get("query", {}).get("knn", {}).get(self._vector_field)
        if knn is None:
            return self._client.search(index=index, body=body, **kwargs)
        weights = query_vectors(
            self._model, np.asarray([knn["vector"]], dtype=np.float32), "asymmetric_nonneg", self._query_k
        )
        adapter = self._adapter(index)
        adapter._check_model()
        adapter._refresh()
        query = adapter.query_dsl(weights.indices, weights.data, knn.get("filter"))
        rest = {key: value for key, value in body.items() if key != "query"}
        rest.setdefault("size", knn.get("k", 10))
        return self._client.search(index=index, body={**rest, "query": query}, **kwargs)


def _check_write_options(options: dict[str, Any]) -> None:
    unsupported = sorted(set(options) - {"refresh", "params", "headers"})
    if unsupported:
        raise ValueError(f"write options {unsupported} are not supported by the ingest hook")


def _bulk_lines(body) -> list:
    if isinstance(body, (str, bytes)):
        text = body.decode() if isinstance(body, bytes) else body
        return [line for line in text.splitlines() if line.strip()]
    return list(body)


class _HookedIndices:
    """`client.indices` with `create` building the sparse index; everything else is the client's."""

    def __init__(self, hook: OpenSearchIngestHook) -> None:
        self._hook = hook

    def __getattr__(self, name: str):
        return getattr(self._hook._client.indices, name)

    def create(self, index: str, body: dict | None = None, **kwargs) -> dict[str, Any]:
        return self._hook._create(index, body)


class OpenSearchDenseAdapter:
    """The dense baseline: float32 vectors in a `knn_vector` field, HNSW of the k-NN plugin's Lucene
    engine, cosine. Lucene because it is plain Java: faiss and nmslib need the plugin's native
    libraries, which its Maven zip (the one `adapters.opensearch_node` installs) does not ship; there
    an index asking for them takes the whole node down.

    Scores are cosines, as the other engines' dense adapters report them: Lucene scores a hit by
    `(1 + cos) / 2`, which `search` maps back. Zero vectors are refused (cosine has no value there).

    Args:
        d: the embedding dimension.
        client: a connected `OpenSearch` client; the cluster needs the k-NN plugin.
        index: index name.
        shards, replicas: index settings, for clusters of more than one node.
        m, ef_construction: HNSW graph parameters (the plugin's defaults).
        ef_search: candidates each segment's graph search keeps (at least `top_k`); None leaves it
            to the engine, which for Lucene means `top_k`.
        source: keep the vectors in `_source` too, as an unconfigured index does; False drops
            them from it (the HNSW graph and the vector values still hold them).
        payload_mapping: mapping `properties` for payload fields; others are mapped dynamically.
    """

    def __init__(
        self,
        d: int,
        client: OpenSearch,
        index: str,
        shards: int = 1,
        replicas: int = 0,
        m: int = 16,
        ef_construction: int = 100,
        ef_search: int | None = 100,
        source: bool = True,
        payload_mapping: dict[str, Any] | None = None,
    ) -> None:
        self.d, self.client, self.index, self.shards, self.replicas = d, client, index, shards, replicas
        self.m, self.ef_construction, self.ef_search, self.source = m, ef_construction, ef_search, source
        self.payload_mapping = dict(payload_mapping or {})
        if DENSE_FIELD in self.payload_mapping:
            raise ValueError(f"payload field {DENSE_FIELD!r} is reserved")
        self._checked = False
        self._unrefreshed = False

    def __repr__(self) -> str:
        return f"OpenSearchDenseAdapter(index={self.index!r}, d={self.d}, m={self.m})"

    def _mapping(self) -> dict[str, Any]:
        method = {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": self.m, "ef_construction": self.ef_construction},
        }
        field = {"type": "knn_vector", "dimension": self.d, "method": method}
        mapping: dict[str, Any] = {"properties": {**self.payload_mapping, DENSE_FIELD: field}}
        if not self.source:
            mapping["_source"] = {"excludes": [DENSE_FIELD]}
        return mapping

    def recreate(self) -> None:
        self.drop()
        settings = {"index": {"number_of_shards": self.shards, "number_of_replicas": self.replicas, "knn": True}}
        self.client.indices.create(index=self.index, body={"settings": settings, "mappings": self._mapping()})
        self._checked = True

    def drop(self) -> None:
        self.client.indices.delete(index=self.index, ignore_unavailable=True)
        self._checked = self._unrefreshed = False

    def _check_index(self) -> None:
        """The index must exist with a `knn_vector` field of width d: a bulk write to a missing index would
        create one with a dynamic mapping, where vectors are plain float arrays and k-NN search fails."""
        if self._checked:
            return
        if not self.client.indices.exists(index=self.index):
            raise ValueError(f"index {self.index!r} does not exist: call recreate() first")
        mapping = self.client.indices.get_mapping(index=self.index)
        field = next(iter(mapping.values()))["mappings"].get("properties", {}).get(DENSE_FIELD, {})
        if field.get("type") != "knn_vector" or field.get("dimension") != self.d:
            raise ValueError(f"index {self.index!r} has no knn_vector field {DENSE_FIELD!r} of dimension {self.d}")
        self._checked = True

    def _refresh(self) -> None:
        """Make the writes so far searchable, once, just before something reads them."""
        if self._unrefreshed:
            self.client.indices.refresh(index=self.index)
            self._unrefreshed = False

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        ids, vectors = check_dense_batch(ids, vectors, self.d, payloads)
        _check_nonzero(vectors, "vectors")
        if payloads is not None and any(DENSE_FIELD in (p or {}) for p in payloads):
            raise ValueError(f"payload key {DENSE_FIELD!r} is reserved")
        self._check_index()
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = [
            {"_op_type": "index", "_index": self.index, "_id": str(point), "_source": {**(extra or {}), DENSE_FIELD: v}}
            for point, v, extra in zip(ids.tolist(), vectors.tolist(), extras, strict=True)
        ]
        helpers.bulk(
            self.client, actions, chunk_size=len(actions), max_chunk_bytes=100 * 2**20, request_timeout=BULK_TIMEOUT_S
        )
        self._unrefreshed = True

    def optimize(self) -> None:
        """Make everything searchable and merge to one segment, so one HNSW graph serves each query."""
        _merge_to_one_segment(self.client, self.index)
        self._unrefreshed = False

    def search(self, queries: np.ndarray, top_k: int, filter: dict | None = None):
        """`filter` is OpenSearch query DSL, applied inside the k-NN search (Lucene filters while it walks)."""
        queries = np.asarray(check_embeddings(queries, self.d, name="queries"), dtype=np.float32)
        _check_nonzero(queries, "queries")
        self._check_index()
        self._refresh()
        body: list[dict[str, Any]] = []
        for q in queries.tolist():
            knn: dict[str, Any] = {"vector": q, "k": top_k}
            if self.ef_search is not None:
                knn["method_parameters"] = {"ef_search": max(self.ef_search, top_k)}
            if filter is not None:
                knn["filter"] = filter
            query = {"size": top_k, "query": {"knn": {DENSE_FIELD: knn}}, "_source": False}
            body += [{"index": self.index}, query]
        hits = []
        for response in self.client.msearch(body=body)["responses"]:
            if "error" in response:
                raise RuntimeError(f"OpenSearch search failed: {response['error']}")
            hits.append([(int(hit["_id"]), 2.0 * hit["_score"] - 1.0) for hit in response["hits"]["hits"]])
        return pad_results(hits, top_k)

    def count(self) -> int:
        self._refresh()
        return int(self.client.count(index=self.index)["count"])

    def stats(self) -> dict[str, Any]:
        self._refresh()
        return {
            **_index_figures(self.client, self.index),
            "index": "hnsw-lucene",
        }

    def close(self) -> None:
        self.client.close()


def _check_nonzero(vectors: np.ndarray, name: str) -> None:
    """Cosine is undefined for a zero vector and Lucene rejects one: refuse the batch before sending it."""
    zero = np.flatnonzero(~np.any(vectors, axis=1))
    if zero.size:
        raise ValueError(f"{name} contain {zero.size} zero row(s), e.g. rows {', '.join(map(str, zero[:5]))}")
