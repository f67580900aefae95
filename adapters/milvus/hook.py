"""`MilvusIngestHook`: a user's own `MilvusClient`, storing SAE codes behind their dense calls."""

from __future__ import annotations

from pymilvus import MilvusClient

from saevdb.adapters.hook import IngestHook
from saevdb.adapters.milvus.constants import VECTOR_FIELD
from saevdb.adapters.milvus.sparse import MilvusAdapter


class MilvusIngestHook(IngestHook):
    """Wraps an existing `MilvusClient` so the dense calls users already make store SAE codes.

    `create_collection` builds the sparse collection (the dense `dimension` must match the model),
    `insert`/`upsert` encode each row's dense `vector_field` (the whole call is validated first; other
    keys are kept as fields) and `search` encodes dense query vectors (non-negative weights: Milvus
    takes no others); every other attribute is the client's own, and search results come back in
    pymilvus' own format.
    """

    def __init__(self, client: MilvusClient, model, vector_field: str = "vector", query_k: int | None = None):
        super().__init__(client, model, "asymmetric_nonneg", query_k)
        self._vector_field = vector_field

    def _new_adapter(self, collection: str, **options) -> MilvusAdapter:
        return MilvusAdapter(self._info, self._client, collection, **options)

    def create_collection(self, collection_name: str, dimension: int | None = None, **kwargs) -> None:
        if dimension is not None and dimension != self._info.d:
            raise ValueError(f"dimension {dimension} differs from the model's d={self._info.d}")
        unsupported = sorted(set(kwargs) - {"timeout"})
        if unsupported:
            raise ValueError(f"create_collection options {unsupported} are not supported by the ingest hook")
        self._adapter(collection_name).recreate()

    def insert(self, collection_name: str, data) -> dict:
        """Encode each row's dense field and store the codes; other keys are kept as fields."""
        rows = [data] if isinstance(data, dict) else list(data)
        if any(self._vector_field not in row or "id" not in row for row in rows):
            raise ValueError(f"every row needs 'id' and the dense {self._vector_field!r} field")
        codes = self._encode([row[self._vector_field] for row in rows])
        ids = [row["id"] for row in rows]
        payloads = [{k: v for k, v in row.items() if k not in ("id", self._vector_field)} for row in rows]
        self._adapter(collection_name).upsert(ids, codes, payloads)
        return {"insert_count": len(rows), "ids": ids}

    upsert = insert

    def search(self, collection_name: str, data, limit: int = 10, **kwargs):
        weights = self._query_weights(data)
        self._adapter(collection_name).check_model()
        kwargs.setdefault("search_params", {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}})
        return self._client.search(
            collection_name,
            data=[weights[i] for i in range(weights.shape[0])],
            anns_field=VECTOR_FIELD,
            limit=limit,
            **kwargs,
        )
