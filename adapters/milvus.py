"""Milvus through the official `pymilvus`: a server URI, or the embedded Milvus Lite 2.5 server
(`adapters.milvus_lite`).

Codes live in a `SPARSE_FLOAT_VECTOR` field with a `SPARSE_INVERTED_INDEX` scored by inner
product; Milvus takes only non-negative weights. The model's identity is kept as JSON in the
collection description and checked before any write or query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np
import scipy.sparse as sp
from pymilvus import DataType, MilvusClient, MilvusException

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
DENSE_FIELD = "dense"
GET_CHUNK = 8192
METADATA_KEY = "saevdb"


def _count(client: MilvusClient, collection: str, timeout: int | None = None) -> int:
    """Stored rows, counted by the engine (num_entities would include deleted ones until compaction)."""
    return int(client.query(collection, filter="", output_fields=["count(*)"], timeout=timeout)[0]["count(*)"])


class MilvusAdapter:
    """A Milvus collection of k-sparse codes.

    Args:
        model: the `ModelInfo` of the SAE whose codes this collection holds.
        client: a connected `MilvusClient`.
        collection: collection name.
        inverted_index_algo: "DAAT_MAXSCORE", "DAAT_WAND" or "TAAT_NAIVE".
        drop_ratio_search: share of the smallest query weights Milvus ignores (0 keeps all: exact).
        timeout: whole seconds a call may take, retries included (pymilvus ignores a float here);
            without it pymilvus retries an engine that is gone 75 times, for minutes.
        shards, replicas: for a Milvus cluster (`num_shards` at creation, `replica_number` at load);
            None takes the server's defaults.
        engine_pid: the Milvus process, when it runs on this machine (`MilvusLiteServer.pid`), so
            `stats()` can read its resident memory; Milvus does not report its own pid.
    """

    def __init__(
        self,
        model: ModelInfo,
        client: MilvusClient,
        collection: str,
        inverted_index_algo: str = "DAAT_MAXSCORE",
        drop_ratio_search: float = 0.0,
        engine_pid: int | None = None,
        timeout: int | None = 60,
        shards: int | None = None,
        replicas: int | None = None,
    ) -> None:
        if not 0.0 <= drop_ratio_search < 1.0:
            raise ValueError(f"drop_ratio_search must be in [0, 1), got {drop_ratio_search}")
        self.model, self.client, self.collection = model, client, collection
        self.inverted_index_algo, self.drop_ratio_search = inverted_index_algo, drop_ratio_search
        self.engine_pid, self.timeout = engine_pid, timeout
        self.shards, self.replicas = shards, replicas
        self._checked = False

    def __repr__(self) -> str:
        return f"MilvusAdapter(collection={self.collection!r}, algo={self.inverted_index_algo})"

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, collection: str, **options) -> MilvusAdapter:
        """On a Milvus server or cluster at `url` (e.g. "http://milvus:19530")."""
        return cls(model, MilvusClient(uri=url), collection, **options)

    def exists(self) -> bool:
        return self.client.has_collection(self.collection, timeout=self.timeout)

    def recreate(self) -> None:
        if self.client.has_collection(self.collection, timeout=self.timeout):
            self.client.drop_collection(self.collection, timeout=self.timeout)
        # Payload keys become dynamic fields, so `output_fields` and filters name them as usual.
        schema = self.client.create_schema(
            auto_id=False, enable_dynamic_field=True, description=json.dumps({METADATA_KEY: self.model.to_dict()})
        )
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, DataType.SPARSE_FLOAT_VECTOR)
        index = self.client.prepare_index_params()
        index.add_index(
            VECTOR_FIELD,
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="IP",
            params={"inverted_index_algo": self.inverted_index_algo},
        )
        cluster = {} if self.shards is None else {"num_shards": self.shards}
        self.client.create_collection(self.collection, schema=schema, index_params=index, **cluster)
        if self.replicas is not None:
            self.client.release_collection(self.collection)
            self.client.load_collection(self.collection, replica_number=self.replicas)
        self._checked = True

    def optimize(self) -> None:
        """Seal the growing segments so Milvus builds their sparse index."""
        self.client.flush(self.collection, timeout=self.timeout)

    def drop(self) -> None:
        self.client.drop_collection(self.collection, timeout=self.timeout)
        self._checked = False

    def _check_model(self) -> None:
        if self._checked:
            return
        if not self.client.has_collection(self.collection, timeout=self.timeout):
            raise ValueError(f"collection {self.collection!r} does not exist: call recreate() first")
        description = self.client.describe_collection(self.collection).get("description") or "{}"
        try:
            stored = json.loads(description).get(METADATA_KEY)
        except (json.JSONDecodeError, AttributeError):
            stored = None
        self.model.check_same(stored, self.collection)
        self._checked = self._aliased_to() is None  # behind an alias, the collection can change

    def _alias_target(self, alias: str) -> str | None:
        """The collection `alias` names, or None when it is no alias (or the server has none)."""
        try:
            return self.client.describe_alias(alias, timeout=self.timeout)["collection_name"]
        except MilvusException:
            return None
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:  # Milvus Lite: no aliases at all
                return None
            raise

    def _aliased_to(self) -> str | None:
        """The collection `self.collection` names when it is an alias."""
        return self._alias_target(self.collection)

    def point_alias(self, alias: str) -> str | None:
        """Milvus Lite 2.5 has no aliases (UNIMPLEMENTED): refused there; a Milvus server has them."""
        previous = self._alias_target(alias)
        try:
            if previous is None:
                self.client.create_alias(self.collection, alias, timeout=self.timeout)
            else:
                self.client.alter_alias(self.collection, alias, timeout=self.timeout)  # atomic switch
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise UnsupportedFeatureError("this Milvus (Milvus Lite) has no aliases; a Milvus server has") from e
            raise
        return previous

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=True)
        if (np.diff(codes.indptr) == 0).any():
            raise ValueError("Milvus cannot store an all-zero sparse vector")
        if payloads is not None and any({"id", VECTOR_FIELD} & set(p or {}) for p in payloads):
            raise ValueError(f"payload keys 'id' and {VECTOR_FIELD!r} are reserved")
        self._check_model()
        extras = payloads if payloads is not None else [None] * len(ids)
        rows = [
            {**(extra or {}), "id": int(point), VECTOR_FIELD: codes[i]}
            for i, (point, extra) in enumerate(zip(ids, extras, strict=True))
        ]
        self.client.upsert(self.collection, rows, timeout=self.timeout)

    def search(self, queries: sp.csr_matrix, top_k: int, filter: str | None = None):
        queries = check_queries(queries, self.model.h, nonneg=True)
        self._check_model()
        results = self.client.search(
            self.collection,
            data=[queries[i] for i in range(queries.shape[0])],
            anns_field=VECTOR_FIELD,
            limit=top_k,
            filter=filter or "",
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": self.drop_ratio_search}},
            timeout=self.timeout,
        )
        return pad_results([[(int(hit["id"]), hit["distance"]) for hit in hits] for hits in results], top_k)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        self._check_model()
        ids = [int(i) for i in ids]
        found = {}
        # A query returns at most 16,384 rows (Milvus' result window) and says nothing of the rest.
        rows = [
            row
            for lo in range(0, len(ids), GET_CHUNK)
            for row in self.client.get(
                self.collection, ids=ids[lo : lo + GET_CHUNK], output_fields=[VECTOR_FIELD], timeout=self.timeout
            )
        ]
        for row in rows:
            vector = row[VECTOR_FIELD]  # {index: weight}
            found[int(row["id"])] = (list(map(int, vector)), list(vector.values()))
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self._check_model()
        self.client.delete(self.collection, ids=[int(i) for i in ids], timeout=self.timeout)

    def count(self) -> int:
        self._check_model()
        return _count(self.client, self.collection, self.timeout)

    def stats(self) -> dict[str, Any]:
        return {
            "engine": "milvus",
            "points": self.count(),
            "index": self.inverted_index_algo,
            "engine_rss_bytes": rss_bytes(self.engine_pid),
        }

    def close(self) -> None:
        self.client.close()


class MilvusIngestHook:
    """Wraps an existing `MilvusClient` so the dense calls users already make store SAE codes.

    `create_collection` builds the sparse collection (the dense `dimension` must match the model),
    `insert`/`upsert` encode each row's dense `vector_field` (the whole call is validated first; other
    keys are kept as fields) and `search` encodes dense query vectors; every other attribute is the
    client's own, and search results come back in pymilvus' own format.
    """

    def __init__(self, client: MilvusClient, model, vector_field: str = "vector", query_k: int | None = None):
        self._client, self._model, self._vector_field = client, model, vector_field
        self._info = ModelInfo.of(model)
        self._query_k = query_k
        self._adapters: dict[str, MilvusAdapter] = {}

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def _adapter(self, collection_name: str) -> MilvusAdapter:
        """One adapter per collection, so its model check reads the engine once, not on every call."""
        if collection_name not in self._adapters:
            self._adapters[collection_name] = MilvusAdapter(self._info, self._client, collection_name)
        return self._adapters[collection_name]

    def create_collection(self, collection_name: str, dimension: int | None = None, **kwargs) -> None:
        if dimension is not None and dimension != self._info.d:
            raise ValueError(f"dimension {dimension} differs from the model's d={self._info.d}")
        unsupported = sorted(set(kwargs) - {"timeout"})
        if unsupported:
            raise ValueError(f"create_collection options {unsupported} are not supported by the ingest hook")
        self._adapter(collection_name).recreate()

    def insert(self, collection_name: str, data) -> dict:
        """Encode each row's dense field and store the codes; other keys are kept as fields."""
        from sae_core.encode import encode

        rows = [data] if isinstance(data, dict) else list(data)
        if any(self._vector_field not in row or "id" not in row for row in rows):
            raise ValueError(f"every row needs 'id' and the dense {self._vector_field!r} field")
        dense = np.asarray([row[self._vector_field] for row in rows], dtype=np.float32)
        codes = encode(self._model, dense, show_progress_bar=False)
        ids = [row["id"] for row in rows]
        payloads = [{k: v for k, v in row.items() if k not in ("id", self._vector_field)} for row in rows]
        self._adapter(collection_name).upsert(ids, codes, payloads)
        return {"insert_count": len(rows), "ids": ids}

    upsert = insert

    def search(self, collection_name: str, data, limit: int = 10, **kwargs):
        from sae_core.query import query_vectors

        weights = query_vectors(self._model, np.asarray(data, dtype=np.float32), "asymmetric_nonneg", self._query_k)
        self._adapter(collection_name)._check_model()
        kwargs.setdefault("search_params", {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}})
        return self._client.search(
            collection_name,
            data=[weights[i] for i in range(weights.shape[0])],
            anns_field=VECTOR_FIELD,
            limit=limit,
            **kwargs,
        )


class MilvusDenseAdapter:
    """The dense baseline: the same engine holding float32 vectors in its usual index, cosine.

    `index_type="AUTOINDEX"` lets the deployment choose, as most users do: HNSW on a Milvus server;
    Milvus Lite 2.5 accepts only FLAT, IVF_FLAT and AUTOINDEX, so there it is exact search.
    """

    def __init__(
        self,
        d: int,
        client: MilvusClient,
        collection: str,
        index_type: str = "AUTOINDEX",
        index_params: dict[str, Any] | None = None,
        engine_pid: int | None = None,
    ) -> None:
        self.d, self.client, self.collection = d, client, collection
        self.index_type, self.index_params, self.engine_pid = index_type, dict(index_params or {}), engine_pid

    def __repr__(self) -> str:
        return f"MilvusDenseAdapter(collection={self.collection!r}, d={self.d}, index={self.index_type})"

    def recreate(self) -> None:
        self.drop()
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field(DENSE_FIELD, DataType.FLOAT_VECTOR, dim=self.d)
        index = self.client.prepare_index_params()
        index.add_index(DENSE_FIELD, index_type=self.index_type, metric_type="COSINE", params=self.index_params)
        self.client.create_collection(self.collection, schema=schema, index_params=index)

    def drop(self) -> None:
        self.client.drop_collection(self.collection)

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        ids, vectors = check_dense_batch(ids, vectors, self.d, payloads)
        extras = payloads if payloads is not None else [None] * len(ids)
        rows = [
            {**(extra or {}), "id": int(point), DENSE_FIELD: vector}
            for point, vector, extra in zip(ids, vectors, extras, strict=True)
        ]
        self.client.upsert(self.collection, rows)

    def optimize(self) -> None:
        """Seal the growing segments so Milvus builds their HNSW graphs."""
        self.client.flush(self.collection)

    def search(self, queries: np.ndarray, top_k: int, filter: str | None = None):
        queries = check_embeddings(queries, self.d, name="queries")
        results = self.client.search(
            self.collection,
            data=np.asarray(queries, dtype=np.float32).tolist(),
            anns_field=DENSE_FIELD,
            limit=top_k,
            filter=filter or "",
            search_params={"metric_type": "COSINE"},
        )
        return pad_results([[(int(hit["id"]), hit["distance"]) for hit in hits] for hits in results], top_k)

    def count(self) -> int:
        return _count(self.client, self.collection)

    def stats(self) -> dict[str, Any]:
        return {
            "engine": "milvus",
            "points": self.count(),
            "index": self.index_type,
            "engine_rss_bytes": rss_bytes(self.engine_pid),
        }

    def close(self) -> None:
        self.client.close()
