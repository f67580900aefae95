"""`MilvusDenseAdapter`: the dense baseline in Milvus, vectors in a `FLOAT_VECTOR` field under one of
Milvus' dense indexes (float32, or one of its quantized indexes on a server), scored by cosine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from saevdb.adapters.base import UnsupportedFeatureError
from saevdb.adapters.batches import check_dense_batch, pad_results
from saevdb.adapters.milvus.constants import DENSE_FIELD, DENSE_SEARCH_PARAMS, count_rows
from saevdb.sae_core.validation import check_embeddings


class MilvusDenseAdapter:
    """The dense baseline: the same engine holding the vectors in one of its dense indexes, cosine.

    Args:
        d: vector width.
        client: a connected `MilvusClient`.
        collection: collection name.
        index_type: one of `DENSE_SEARCH_PARAMS` ("AUTOINDEX" lets the deployment choose, as most
            users do: HNSW on a Milvus server). Milvus Lite 2.5 builds only FLAT, IVF_FLAT and
            AUTOINDEX; any other is refused at `recreate` with the engine's own words.
        index_params: build parameters of that index (`nlist`, `M`, `efConstruction`, `sq_type`,
            `refine`, `refine_type`, ...), passed to Milvus as given.

    On Milvus Lite 2.5 every row stays in one in-memory growing segment: FLAT is exact; IVF_FLAT and
    AUTOINDEX get segcore's interim IVF index over each full chunk of rows (searched exactly until a
    chunk fills), with segcore's own `nlist` and `nprobe`, so `index_params` and `nprobe` change
    nothing there. A Milvus server builds the index asked for on each sealed segment.
    """

    def __init__(
        self,
        d: int,
        client: MilvusClient,
        collection: str,
        index_type: str = "AUTOINDEX",
        index_params: dict[str, Any] | None = None,
    ) -> None:
        if index_type not in DENSE_SEARCH_PARAMS:
            raise UnsupportedFeatureError(f"index_type must be one of {list(DENSE_SEARCH_PARAMS)}, got {index_type!r}")
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
        try:
            self.client.create_collection(self.collection, schema=schema, index_params=index)
        except MilvusException as e:
            self.drop()  # the collection is created before its index: leave nothing half-built
            if "local mode only support" in str(e.message):  # Milvus Lite's index checker
                raise UnsupportedFeatureError(f"this Milvus does not build {self.index_type}: {e.message}") from e
            raise

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
        """Seal the growing segments so a Milvus server builds their index (Milvus Lite seals none)."""
        self.client.flush(self.collection)

    def search(self, queries: np.ndarray, top_k: int, filter: str | None = None, **params):
        """`[q, d]` → `(ids [q, top_k], cosines [q, top_k])`, best first; -1 pads.

        `params` are the index's search knobs (`DENSE_SEARCH_PARAMS`: `nprobe` for IVF, `ef` for HNSW,
        `refine_k` for an index built with `refine=True`); one the index does not read is refused,
        since Milvus would ignore it silently."""
        self._check_search_params(params)
        queries = check_embeddings(queries, self.d, name="queries")
        results = self.client.search(
            self.collection,
            data=np.asarray(queries, dtype=np.float32).tolist(),
            anns_field=DENSE_FIELD,
            limit=top_k,
            filter=filter or "",
            search_params={"metric_type": "COSINE", "params": params},
        )
        return pad_results([[(int(hit["id"]), hit["distance"]) for hit in hits] for hits in results], top_k)

    def _check_search_params(self, params: dict[str, Any]) -> None:
        allowed = DENSE_SEARCH_PARAMS[self.index_type]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise UnsupportedFeatureError(
                f"search params {unknown} are not read by a {self.index_type} index; it reads {list(allowed)}"
            )
        if "refine_k" in params and not self.index_params.get("refine"):
            raise UnsupportedFeatureError("refine_k needs an index built with index_params refine=True")

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
