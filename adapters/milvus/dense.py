"""`MilvusDenseAdapter`: the dense baseline in Milvus, float32 vectors in a `FLOAT_VECTOR` field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

from saevdb.adapters.batches import check_dense_batch, pad_results
from saevdb.adapters.milvus.constants import DENSE_FIELD, count_rows
from saevdb.sae_core.validation import check_embeddings


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
    ) -> None:
        self.d, self.client, self.collection = d, client, collection
        self.index_type, self.index_params = index_type, dict(index_params or {})

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
        return count_rows(self.client, self.collection)

    def stats(self) -> dict[str, Any]:
        return {
            "engine": "milvus",
            "points": self.count(),
            "index": self.index_type,
        }

    def close(self) -> None:
        self.client.close()
