"""`OpenSearchDenseAdapter`: the baseline the codes are measured against, the same engine holding the
dense vectors in a `knn_vector` field of the k-NN plugin (HNSW of its Lucene engine, cosine), as
float32 or with one of the Lucene engine's built-in compressions, as a user has it today.

Quantizations (`quantization=`, `constants.QUANTIZATIONS`):

- "sq": the Lucene scalar quantizer (`encoder: {name: sq}`): each segment learns per-dimension
  quantiles of its vectors and keeps every component as a 7-bit integer plus one float correction
  per vector; the HNSW graph is built and searched on those. Lucene keeps the float32 vectors too
  (for merges), but the search does not rescore with them: k-NN 2.19 accepts the knn query's
  `rescore` on a Lucene field and leaves the scores as they were, so no rescoring knob is offered.
- "byte": `data_type: byte` vectors, quantized by this adapter before they are sent:
  `b = round(127 · x / max_i |x_i|)` per vector (queries alike). Cosine does not change when a
  vector is scaled, so each vector uses the whole int8 range without statistics of the data set;
  each component is off by at most `0.5 / 127` of the vector's largest component. Only the int8
  vectors reach the engine: there are no originals to rescore with.

faiss and nmslib need the plugin's native libraries, which its Maven zip (the one
`saevdb.adapters.opensearch.distribution` installs) does not ship; there an index asking for them
takes the whole node down, so their methods (binary quantization, PQ, fp16, on_disk) are not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from opensearchpy import OpenSearch

from saevdb.adapters.base import UnsupportedFeatureError
from saevdb.adapters.batches import check_dense_batch, pad_results
from saevdb.adapters.opensearch.constants import DENSE_FIELD, DENSE_SEARCH_PARAMS, QUANTIZATIONS
from saevdb.adapters.opensearch.index import IndexOnClient, check_nonzero, index_settings
from saevdb.sae_core.validation import check_embeddings


def to_int8(vectors: np.ndarray) -> np.ndarray:
    """`[n, d]` float → int8 `round(127 · x / max_i |x_i|)` per row: the cosine-preserving scaling of
    the "byte" quantization (rows must be non-zero)."""
    scale = 127.0 / np.abs(vectors).max(axis=1, keepdims=True)
    return np.rint(vectors * scale).astype(np.int8)


class OpenSearchDenseAdapter(IndexOnClient):
    """The dense baseline: vectors in a `knn_vector` field, HNSW of the k-NN plugin's Lucene engine,
    cosine; float32, or compressed as the module docstring says.

    Scores are cosines, as the other engines' dense adapters report them: Lucene scores a hit by
    `(1 + cos) / 2`, which `search` maps back. Zero vectors are refused (cosine has no value there).

    Args:
        d: the embedding dimension.
        client: a connected `OpenSearch` client; the cluster needs the k-NN plugin.
        index: index name.
        shards, replicas: index settings, for clusters of more than one node.
        m, ef_construction: HNSW graph parameters (the plugin's defaults).
        ef_search: candidates each segment's graph search keeps (at least `top_k`); None leaves it
            to the engine, which for Lucene means `top_k`. `search(..., ef_search=)` overrides it.
        quantization: None (float32), or one of `constants.QUANTIZATIONS` ("sq", "byte").
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
        quantization: str | None = None,
    ) -> None:
        if quantization is not None and quantization not in QUANTIZATIONS:
            raise UnsupportedFeatureError(
                f"quantization must be None or one of {list(QUANTIZATIONS)} on the Lucene engine, got {quantization!r}"
            )
        self.quantization = quantization
        self.d, self.client, self.index, self.shards, self.replicas = d, client, index, shards, replicas
        self.m, self.ef_construction, self.ef_search, self.source = m, ef_construction, ef_search, source
        self.payload_mapping = dict(payload_mapping or {})
        if DENSE_FIELD in self.payload_mapping:
            raise ValueError(f"payload field {DENSE_FIELD!r} is reserved")
        self._checked = False
        self._unrefreshed = False

    def __repr__(self) -> str:
        return f"OpenSearchDenseAdapter(index={self.index!r}, d={self.d}, m={self.m}, quantization={self.quantization})"

    def _mapping(self) -> dict[str, Any]:
        method = {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": self.m, "ef_construction": self.ef_construction},
        }
        field: dict[str, Any] = {"type": "knn_vector", "dimension": self.d, "method": method}
        if self.quantization == "sq":
            method["parameters"]["encoder"] = {"name": "sq"}
        elif self.quantization == "byte":
            field["data_type"] = "byte"
        mapping: dict[str, Any] = {"properties": {**self.payload_mapping, DENSE_FIELD: field}}
        if not self.source:
            mapping["_source"] = {"excludes": [DENSE_FIELD]}
        return mapping

    def recreate(self) -> None:
        self.drop()
        settings = index_settings(self.shards, self.replicas, knn=True)
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
        stored = str(field.get("data_type", "float")).lower()
        if (stored == "byte") != (self.quantization == "byte"):
            raise ValueError(f"index {self.index!r} holds {stored} vectors, not quantization={self.quantization}")
        self._checked = True

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        ids, vectors = check_dense_batch(ids, vectors, self.d, payloads)
        check_nonzero(vectors, "vectors")
        if payloads is not None and any(DENSE_FIELD in (p or {}) for p in payloads):
            raise ValueError(f"payload key {DENSE_FIELD!r} is reserved")
        self._check_index()
        stored = to_int8(vectors) if self.quantization == "byte" else vectors
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = [
            {"_op_type": "index", "_index": self.index, "_id": str(point), "_source": {**(extra or {}), DENSE_FIELD: v}}
            for point, v, extra in zip(ids.tolist(), stored.tolist(), extras, strict=True)
        ]
        self.bulk_write(actions)

    def optimize(self) -> None:
        """Make everything searchable and merge to one segment, so one HNSW graph serves each query."""
        self.merge_to_one_segment()

    def search(self, queries: np.ndarray, top_k: int, filter: dict | None = None, **params: Any):
        """`filter` is OpenSearch query DSL, applied inside the k-NN search (Lucene filters while it
        walks). `params`: the knn query's method parameters (`ef_search`); others are refused."""
        unknown = set(params) - set(DENSE_SEARCH_PARAMS)
        if unknown:
            raise UnsupportedFeatureError(
                f"unknown search parameter(s) {sorted(unknown)}; the Lucene engine takes {list(DENSE_SEARCH_PARAMS)}"
            )
        ef_search = params.get("ef_search", self.ef_search)
        queries = np.asarray(check_embeddings(queries, self.d, name="queries"), dtype=np.float32)
        check_nonzero(queries, "queries")
        self._check_index()
        self.refresh()
        sent = to_int8(queries) if self.quantization == "byte" else queries
        requests: list[dict[str, Any]] = []
        for q in sent.tolist():
            knn: dict[str, Any] = {"vector": q, "k": top_k}
            if ef_search is not None:
                knn["method_parameters"] = {"ef_search": max(int(ef_search), top_k)}
            if filter is not None:
                knn["filter"] = filter
            requests.append({"size": top_k, "query": {"knn": {DENSE_FIELD: knn}}, "_source": False})
        hits = []
        for response in self.multi_search(requests):
            if "error" in response:
                raise RuntimeError(f"OpenSearch search failed: {response['error']}")
            hits.append([(int(hit["_id"]), 2.0 * hit["_score"] - 1.0) for hit in response["hits"]["hits"]])
        return pad_results(hits, top_k)

    def count(self) -> int:
        self.refresh()
        return int(self.client.count(index=self.index)["count"])

    def stats(self) -> dict[str, Any]:
        return {**self.index_figures(), "index": "hnsw-lucene", "quantization": self.quantization}

    def close(self) -> None:
        self.client.close()
