"""`OpenSearchAdapter`: codes in an OpenSearch index, through the official `opensearch-py` (any
cluster URL, or the local node of `saevdb.adapters.opensearch.engine`).

Codes live in a `rank_features` field (core module mapper-extras): one feature per non-zero,
named by its latent index. A query is a `bool.should` of `rank_feature` clauses with the
`linear` function and `boost` = query weight, which sums to the exact sparse inner product (at
the ~9 significant bits rank_features keeps). OpenSearch takes only positive weights.

`_source` never holds the rank_features map: by default it keeps the code in a compact base64
field (`source="compact"`), so `retrieve` and re-ranking still work; `source="none"` drops even
that; `source="full"` keeps the map, which is what an unconfigured index would do.

The model's identity lives in the index mapping's `_meta` and is checked before any write or query.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from opensearchpy import OpenSearch

from saevdb.adapters.base import ModelInfo, UnsupportedFeatureError
from saevdb.adapters.batches import check_batch, check_datatype, check_queries, pad_results, rows_to_csr
from saevdb.adapters.model_check import METADATA_KEY, ModelTagged
from saevdb.adapters.opensearch.constants import (
    CLIENT_POOL,
    CODE_FIELD,
    METHODS,
    PRECISIONS,
    SOURCE_MODES,
    VECTOR_FIELD,
)
from saevdb.adapters.opensearch.index import IndexOnClient


def _pack(indices: np.ndarray, values: np.ndarray) -> str:
    """One row's code as base64 of uint32 indices then float32 values: exact, and 8 bytes a non-zero."""
    return base64.b64encode(indices.astype("<u4").tobytes() + values.astype("<f4").tobytes()).decode()


def _unpack(packed: str) -> tuple[np.ndarray, np.ndarray]:
    raw = base64.b64decode(packed)
    half = len(raw) // 2
    return np.frombuffer(raw[:half], dtype="<u4"), np.frombuffer(raw[half:], dtype="<f4")


class OpenSearchAdapter(IndexOnClient, ModelTagged):
    """An OpenSearch index of k-sparse codes.

    Args:
        model: the `ModelInfo` of the SAE whose codes this index holds.
        client: a connected `OpenSearch` client.
        index: index name.
        datatype: sparse value storage; rank_features has one, "float32".
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
        datatype: str = "float32",
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
        self.name, self.datatype = index, check_datatype(datatype, PRECISIONS)
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
        """What the cluster offers, read from every node: its version, its plugins, and the sparse
        field and query types they make available (rank_features is the mapper-extras module's)."""
        version = self.client.info()["version"]["number"]
        nodes = self.client.nodes.info(metric="plugins")["nodes"].values()
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
        self.merge_to_one_segment()

    def drop(self) -> None:
        self.client.indices.delete(index=self.index, ignore_unavailable=True)
        self._checked = False

    def _stored_model(self) -> dict[str, Any] | None:
        mapping = self.client.indices.get_mapping(index=self.index)
        return next(iter(mapping.values()))["mappings"].get("_meta", {}).get(METADATA_KEY)

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
        self.mark_written()
        self.refresh()  # readers switched to this index see all of it at once
        actions = [{"add": {"index": self.index, "alias": alias}}]
        if previous is not None:
            actions.insert(0, {"remove": {"index": previous, "alias": alias}})
        self.client.indices.update_aliases(body={"actions": actions})  # one request: atomic
        return previous

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=True)
        codes.eliminate_zeros()  # rank_features stores positive weights only; a zero adds nothing
        if payloads is not None and any({VECTOR_FIELD, CODE_FIELD} & set(p or {}) for p in payloads):
            raise ValueError(f"payload keys {VECTOR_FIELD!r} and {CODE_FIELD!r} are reserved")
        self.check_model()
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = []
        for i, (point, extra) in enumerate(zip(ids, extras, strict=True)):
            row = slice(codes.indptr[i], codes.indptr[i + 1])
            indices, values = codes.indices[row], codes.data[row]
            doc = {**(extra or {}), VECTOR_FIELD: dict(zip(map(str, indices.tolist()), values.tolist(), strict=True))}
            if self.source == "compact":
                doc[CODE_FIELD] = _pack(indices, values)
            actions.append({"_op_type": "index", "_index": self.index, "_id": str(point), "_source": doc})
        self.bulk_write(actions)

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
        self.check_model()
        self.refresh()
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
        self.check_model()
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
        self.check_model()
        actions = [{"_op_type": "delete", "_index": self.index, "_id": str(int(i))} for i in ids]
        self.bulk_write(actions, ignore_status=(404,))

    def count(self) -> int:
        self.check_model()
        self.refresh()
        return int(self.client.count(index=self.index)["count"])

    def stats(self) -> dict[str, Any]:
        return {**self.index_figures(), "source": self.source}

    def close(self) -> None:
        self.client.close()
