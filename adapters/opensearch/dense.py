"""`OpenSearchDenseAdapter`: the baseline the codes are measured against, the same engine holding the
dense vectors in a `knn_vector` field of the k-NN plugin (HNSW of its Lucene engine, cosine), as
float32 or with one of the Lucene engine's built-in compressions, as a user has it today.

Quantizations (`quantization=`, `constants.QUANTIZATIONS_3`):

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
- "on_disk" (3.x): `mode: on_disk`, which on the Lucene engine is compression 4x: the same 7-bit
  quantizer, the graph searched on it, and the top `oversample_factor × k` re-scored from the
  float32 vectors by default (a user's `rescore: false` turns that off).
- "binary" (3.x): `data_type: binary` with Hamming distance: each vector sent as its sign bits,
  `b_i = [x_i > 0]`, packed 8 to a byte (d must be a multiple of 8). The angle between two vectors
  is estimated as `π · hamming / d` (random-hyperplane hashing), so a hit's score is reported as
  `cos(π · hamming / d)`. Only the bits reach the engine: nothing to rescore with.

Rescoring (`search(..., oversample_factor=f)`): the knn query's `rescore`, honoured from k-NN 3.x on
the 7-bit quantizer ("sq", "on_disk"): the hits come back with their exact cosines. On the Lucene
engine of 3.5 it does not widen the search: the hits are the quantized search's top k, whatever f
(the integration test of 3.x shows the same recall at f = 2 and 4; asking for more hits does widen
it), so it orders the top k exactly but finds no neighbour the quantized search missed. k-NN 2.19
accepts it on a Lucene field and changes no score (refused here, naming why); on "byte" and
"binary" 3.5 fails the search (there are no float vectors).

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
from saevdb.adapters.opensearch.constants import DENSE_FIELD, DENSE_SEARCH_PARAMS, QUANTIZATIONS_3
from saevdb.adapters.opensearch.index import IndexOnClient, check_nonzero, index_settings
from saevdb.sae_core.validation import check_embeddings


def to_int8(vectors: np.ndarray) -> np.ndarray:
    """`[n, d]` float → int8 `round(127 · x / max_i |x_i|)` per row: the cosine-preserving scaling of
    the "byte" quantization (rows must be non-zero)."""
    scale = 127.0 / np.abs(vectors).max(axis=1, keepdims=True)
    return np.rint(vectors * scale).astype(np.int8)


def to_sign_bits(vectors: np.ndarray) -> np.ndarray:
    """`[n, d]` float → int8 `[n, d / 8]`: the sign bits `[x_i > 0]` packed big-endian, 8 to a byte,
    as a data_type binary field takes them (signed bytes)."""
    return np.packbits(vectors > 0, axis=1).view(np.int8)


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
        quantization: None (float32), or one of `constants.QUANTIZATIONS_3`: "sq", "byte"; on a 3.x
            node also "on_disk", "binary" (d a multiple of 8).
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
        if quantization is not None and quantization not in QUANTIZATIONS_3:
            raise UnsupportedFeatureError(
                f"quantization must be None or one of {list(QUANTIZATIONS_3)} on the Lucene engine,"
                f" got {quantization!r}"
            )
        if quantization == "binary" and d % 8:
            raise ValueError(f"binary vectors need a dimension that is a multiple of 8, got {d}")
        self.quantization = quantization
        self.d, self.client, self.index, self.shards, self.replicas = d, client, index, shards, replicas
        self.m, self.ef_construction, self.ef_search, self.source = m, ef_construction, ef_search, source
        self.payload_mapping = dict(payload_mapping or {})
        if DENSE_FIELD in self.payload_mapping:
            raise ValueError(f"payload field {DENSE_FIELD!r} is reserved")
        self._checked = False
        self._unrefreshed = False
        self._major: int | None = None

    def __repr__(self) -> str:
        return f"OpenSearchDenseAdapter(index={self.index!r}, d={self.d}, m={self.m}, quantization={self.quantization})"

    def _mapping(self) -> dict[str, Any]:
        method = {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "hamming" if self.quantization == "binary" else "cosinesimil",
            "parameters": {"m": self.m, "ef_construction": self.ef_construction},
        }
        field: dict[str, Any] = {"type": "knn_vector", "dimension": self.d, "method": method}
        if self.quantization == "sq":
            method["parameters"]["encoder"] = {"name": "sq"}
        elif self.quantization in ("byte", "binary"):
            field["data_type"] = self.quantization
        elif self.quantization == "on_disk":
            field["mode"] = "on_disk"
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
        wanted = self.quantization if self.quantization in ("byte", "binary") else "float"
        if stored != wanted:
            raise ValueError(f"index {self.index!r} holds {stored} vectors, not quantization={self.quantization}")
        self._checked = True

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        ids, vectors = check_dense_batch(ids, vectors, self.d, payloads)
        check_nonzero(vectors, "vectors")
        if payloads is not None and any(DENSE_FIELD in (p or {}) for p in payloads):
            raise ValueError(f"payload key {DENSE_FIELD!r} is reserved")
        self._check_index()
        stored = self._sent(vectors)
        extras = payloads if payloads is not None else [None] * len(ids)
        actions = [
            {"_op_type": "index", "_index": self.index, "_id": str(point), "_source": {**(extra or {}), DENSE_FIELD: v}}
            for point, v, extra in zip(ids.tolist(), stored.tolist(), extras, strict=True)
        ]
        self.bulk_write(actions)

    def _rescores(self) -> bool:
        """Whether the node honours the knn query's `rescore` (k-NN 3.x), read once."""
        if self._major is None:
            self._major = int(self.client.info()["version"]["number"].split(".")[0])
        return self._major >= 3

    def _sent(self, vectors: np.ndarray) -> np.ndarray:
        """What the engine receives for float rows: int8 or packed sign bits where the field holds those."""
        if self.quantization == "byte":
            return to_int8(vectors)
        return to_sign_bits(vectors) if self.quantization == "binary" else vectors

    def _score(self, score: float) -> float:
        """A hit's cosine (or, for sign bits, its estimate) from Lucene's score: `(1 + cos) / 2`,
        or `1 / (1 + hamming)` for binary vectors."""
        if self.quantization == "binary":
            return float(np.cos(np.pi * (1.0 / score - 1.0) / self.d))
        return 2.0 * score - 1.0

    def optimize(self) -> None:
        """Make everything searchable and merge to one segment, so one HNSW graph serves each query."""
        self.merge_to_one_segment()

    def search(self, queries: np.ndarray, top_k: int, filter: dict | None = None, **params: Any):
        """`filter` is OpenSearch query DSL, applied inside the k-NN search (Lucene filters while it
        walks). `params`: `ef_search`; `oversample_factor` (rescore the top `f × top_k` exactly);
        `rescore=False` (no rescoring where the mode rescores by default); others are refused."""
        unknown = set(params) - set(DENSE_SEARCH_PARAMS)
        if unknown:
            raise UnsupportedFeatureError(
                f"unknown search parameter(s) {sorted(unknown)}; the Lucene engine takes {list(DENSE_SEARCH_PARAMS)}"
            )
        if {"oversample_factor", "rescore"} & set(params) and not self._rescores():
            raise UnsupportedFeatureError(
                "rescore needs a 3.x node: k-NN 2.x accepts the knn query's rescore on a Lucene field"
                " and changes no score"
            )
        ef_search = params.get("ef_search", self.ef_search)
        queries = np.asarray(check_embeddings(queries, self.d, name="queries"), dtype=np.float32)
        check_nonzero(queries, "queries")
        self._check_index()
        self.refresh()
        sent = self._sent(queries)
        requests: list[dict[str, Any]] = []
        for q in sent.tolist():
            knn: dict[str, Any] = {"vector": q, "k": top_k}
            if ef_search is not None:
                knn["method_parameters"] = {"ef_search": max(int(ef_search), top_k)}
            if params.get("oversample_factor") is not None and params.get("rescore", True):
                knn["rescore"] = {"oversample_factor": float(params["oversample_factor"])}
            elif params.get("rescore") is False:
                knn["rescore"] = False
            if filter is not None:
                knn["filter"] = filter
            requests.append({"size": top_k, "query": {"knn": {DENSE_FIELD: knn}}, "_source": False})
        hits = []
        for response in self.multi_search(requests):
            if "error" in response:
                raise RuntimeError(f"OpenSearch search failed: {response['error']}")
            hits.append([(int(hit["_id"]), self._score(hit["_score"])) for hit in response["hits"]["hits"]])
        return pad_results(hits, top_k)

    def count(self) -> int:
        self.refresh()
        return int(self.client.count(index=self.index)["count"])

    def stats(self) -> dict[str, Any]:
        return {**self.index_figures(), "index": "hnsw-lucene", "quantization": self.quantization}

    def close(self) -> None:
        self.client.close()
