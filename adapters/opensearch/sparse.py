"""`OpenSearchAdapter`: codes in an OpenSearch index, through the official `opensearch-py` (any
cluster URL, or the local node of `saevdb.adapters.opensearch.engine`).

Codes live in a `rank_features` field (core module mapper-extras): one feature per non-zero,
named by its latent index. A query is a `bool.should` of `rank_feature` clauses with the
`linear` function and `boost` = query weight, which sums to the exact sparse inner product (at
the ~9 significant bits rank_features keeps). OpenSearch takes only positive weights.

`_source` never holds the rank_features map: by default it keeps the code in a compact base64
field (`source="compact"`, `saevdb.adapters.opensearch.source`), so `retrieve` and re-ranking still
work; `source="none"` drops even that; `source="full"` keeps the map, which is what an unconfigured index would do.

With `originals=True` the index also keeps each point's dense vector for a two-stage search
(`saevdb.adapters.opensearch.rescore`): codes find the candidates, exact cosines order them.

The model's identity lives in the index mapping's `_meta` and is checked before any write or query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from opensearchpy import OpenSearch

from saevdb.adapters.base import ModelInfo, UnsupportedFeatureError
from saevdb.adapters.batches import check_batch, check_datatype, check_queries, pad_results, rows_to_csr
from saevdb.adapters.model_check import METADATA_KEY, ModelTagged
from saevdb.adapters.opensearch.constants import (
    CODE_FIELD,
    METHODS,
    ORIGINALS_FIELD,
    PRECISIONS,
    SOURCE_MODES,
    VECTOR_FIELD,
)
from saevdb.adapters.opensearch.index import IndexOnClient, client_for, cluster_capabilities, index_settings
from saevdb.adapters.opensearch.rescore import check_originals, cosine, originals_field, rescore_vectors, rescored
from saevdb.adapters.opensearch.source import pack_code, unpack_code

_RESERVED = {VECTOR_FIELD, CODE_FIELD, ORIGINALS_FIELD}


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
        originals: also keep each point's dense original `[d]` (doc values, no graph, not in
            `_source`) so `search(rescore_queries=...)` re-scores by exact cosine; needs the k-NN
            plugin. `upsert` then requires `originals`.
        track_total_hits: count every matching document (OpenSearch counts up to 10,000 by default,
            `None`), or not (`False`): then Lucene may skip documents that cannot reach the top k
            (block-max scoring of the rank_feature clauses), the same top k for less work.
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
        originals: bool = False,
        track_total_hits: bool | None = None,
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
        self.payload_mapping, self.originals = dict(payload_mapping or {}), originals
        self.track_total_hits = track_total_hits
        if _RESERVED & set(self.payload_mapping):
            raise ValueError(f"payload fields {sorted(_RESERVED)} are reserved")
        self._checked = False
        self._unrefreshed = False
        if originals and "opensearch-knn" not in self.capabilities()["plugins"]:
            raise UnsupportedFeatureError("originals=True needs the k-NN plugin (knn_vector, knn_score) on the cluster")
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
        return (
            f"OpenSearchAdapter(index={self.index!r}, source={self.source}, method={self.method}, "
            f"originals={self.originals})"
        )

    def capabilities(self) -> dict[str, Any]:
        """What the cluster offers (`index.cluster_capabilities`)."""
        return cluster_capabilities(self.client)

    def _mapping(self) -> dict[str, Any]:
        field: dict[str, Any] = {"type": self.field_type}
        if self.method == "seismic":
            field["method"] = {"name": "seismic", "parameters": self.seismic_parameters}
        properties: dict[str, Any] = {**self.payload_mapping, VECTOR_FIELD: field}
        mapping: dict[str, Any] = {"_meta": {METADATA_KEY: self.model.to_dict()}, "properties": properties}
        excludes = [VECTOR_FIELD] if self.source != "full" else []
        if self.originals:
            properties[ORIGINALS_FIELD] = originals_field(self.model.d)
            excludes.append(ORIGINALS_FIELD)  # doc values hold them; _source would store them again
        if excludes:
            mapping["_source"] = {"excludes": excludes}
        if self.source == "compact":
            properties[CODE_FIELD] = {"type": "binary"}  # kept in _source only: not indexed, no doc values
        return mapping

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, index: str, **options) -> OpenSearchAdapter:
        """On an OpenSearch cluster at `url` (e.g. "http://opensearch:9200"; several: comma-separated),
        each node answering first (`index.client_for`)."""
        client = client_for(url)
        return cls(model, client, index, **options)

    def exists(self) -> bool:
        return bool(self.client.indices.exists(index=self.index))

    def recreate(self) -> None:
        self.client.indices.delete(index=self.index, ignore_unavailable=True)
        # index.knn false: a knn_vector field (the originals) gets no HNSW graph, only doc values.
        settings = index_settings(self.shards, self.replicas, knn=False)
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

    def upsert(
        self,
        ids: Sequence[int],
        codes: sp.csr_matrix,
        payloads: Sequence[dict] | None = None,
        originals: np.ndarray | None = None,
    ) -> None:
        """`originals [n, d]`: required with `originals=True`, refused otherwise; checked with the batch."""
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=True)
        codes.eliminate_zeros()  # rank_features stores positive weights only; a zero adds nothing
        if payloads is not None and any(_RESERVED & set(p or {}) for p in payloads):
            raise ValueError(f"payload keys {sorted(_RESERVED)} are reserved")
        originals = check_originals(originals, self.originals, self.model.d, len(ids))
        self.check_model()
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = []
        for i, (point, extra) in enumerate(zip(ids, extras, strict=True)):
            row = slice(codes.indptr[i], codes.indptr[i + 1])
            indices, values = codes.indices[row], codes.data[row]
            doc = {**(extra or {}), VECTOR_FIELD: dict(zip(map(str, indices.tolist()), values.tolist(), strict=True))}
            if self.source == "compact":
                doc[CODE_FIELD] = pack_code(indices, values)
            if originals is not None:
                doc[ORIGINALS_FIELD] = originals[i].tolist()
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

    def takes_negative_weights(self) -> bool:
        """OpenSearch refuses negative sparse weights (`rank_features`): codes and queries are non-negative."""
        return False

    def search(
        self,
        queries: sp.csr_matrix,
        top_k: int,
        filter: dict | None = None,
        rescore_queries: np.ndarray | None = None,
        rescore_depth: int = 0,
    ):
        """`filter` is OpenSearch query DSL (e.g. `{"term": {"genre": "drama"}}`), applied as a filter.

        With `rescore_queries [q, d]` (an index with originals), the top `rescore_depth ≥ top_k` by
        the codes are re-scored by exact cosine with the originals in the same request, and the
        scores are those cosines (`saevdb.adapters.opensearch.rescore` says what it costs)."""
        queries = check_queries(queries, self.model.h, nonneg=True)
        queries.eliminate_zeros()
        n, d = queries.shape[0], self.model.d
        dense = rescore_vectors(rescore_queries, rescore_depth, self.originals, d, n, top_k)
        self.check_model()
        self.refresh()
        requests: list[dict[str, Any]] = []
        for i in range(queries.shape[0]):
            row = slice(queries.indptr[i], queries.indptr[i + 1])
            query = self.query_dsl(queries.indices[row], queries.data[row], filter)
            request = {"size": top_k, "query": query, "_source": False}
            if self.track_total_hits is not None:
                request["track_total_hits"] = self.track_total_hits
            requests.append(request if dense is None else rescored(request, dense[i], rescore_depth))
        hits = []
        for response in self.multi_search(requests):
            if "error" in response:
                if "too_many_clauses" in str(response["error"]) or "maxClauseCount" in str(response["error"]):
                    raise UnsupportedFeatureError(
                        f"OpenSearch refused a query of {queries.getnnz(axis=1).max()} rank_feature clauses: raise"
                        " indices.query.bool.max_clause_count on the cluster, or pass a smaller query_k"
                    )
                raise RuntimeError(f"OpenSearch search failed: {response['error']}")
            score = (lambda s: s) if dense is None else cosine
            hits.append([(int(hit["_id"]), score(hit["_score"])) for hit in response["hits"]["hits"]])
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
                found[int(doc["_id"])] = unpack_code(doc["_source"][CODE_FIELD])
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
