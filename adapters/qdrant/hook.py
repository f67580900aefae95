"""`QdrantIngestHook`: a user's own `QdrantClient`, storing SAE codes behind their dense calls."""

from __future__ import annotations

from qdrant_client import QdrantClient, models

from saevdb.adapters.hook import IngestHook
from saevdb.adapters.qdrant.client import QdrantAdapter
from saevdb.adapters.qdrant.constants import VECTOR_NAME


class QdrantIngestHook(IngestHook):
    """Wraps an existing `QdrantClient` so the dense calls users already make store SAE codes.

    `create_collection` gets a sparse vector instead of the dense config, `upsert` encodes the
    points' dense vectors (the whole call is validated before anything is sent) and `query_points`
    encodes a dense query; every other attribute is the client's own.

    Example:
        >>> client = QdrantIngestHook(QdrantClient(":memory:"), model)
        >>> client.create_collection("items", vectors_config=models.VectorParams(size=384, distance="Cosine"))
        >>> client.upsert("items", points=[models.PointStruct(id=1, vector=embedding, payload={...})])
        >>> client.query_points("items", query=query_embedding, limit=10)
    """

    def __init__(self, client: QdrantClient, model, query_mode: str = "asymmetric", query_k: int | None = None):
        super().__init__(client, model, query_mode, query_k)

    def _new_adapter(self, collection: str, **options) -> QdrantAdapter:
        return QdrantAdapter(self._info, self._client, collection, **options)

    def create_collection(self, collection_name: str, vectors_config=None, **kwargs) -> bool:
        """Create the collection for SAE codes; `vectors_config` (the dense one) is replaced."""
        if vectors_config is not None and getattr(vectors_config, "size", self._info.d) != self._info.d:
            raise ValueError(f"vectors_config size {vectors_config.size} differs from the model's d={self._info.d}")
        unsupported = sorted(set(kwargs) - {"on_disk_payload", "timeout"})
        if unsupported:
            raise ValueError(f"create_collection options {unsupported} are not supported by the ingest hook")
        self._adapter(collection_name).recreate()
        return True

    def upsert(self, collection_name: str, points, wait: bool = True) -> models.UpdateResult:
        """Encode and store `points`; always waits for the engine (`wait=False` is refused)."""
        if not wait:
            raise ValueError("the ingest hook always waits for the write: wait=False is not supported")
        points = list(points)
        dense = [p["vector"] if isinstance(p, dict) else p.vector for p in points]
        ids = [p["id"] if isinstance(p, dict) else p.id for p in points]
        payloads = [p.get("payload") if isinstance(p, dict) else p.payload for p in points]
        self._adapter(collection_name).upsert(ids, self._encode(dense), payloads)
        return models.UpdateResult(operation_id=None, status=models.UpdateStatus.COMPLETED)

    def query_points(self, collection_name: str, query, limit: int = 10, **kwargs) -> models.QueryResponse:
        weights = self._query_weights([query])
        self._adapter(collection_name).check_model()
        return self._client.query_points(
            collection_name,
            query=models.SparseVector(indices=weights.indices.tolist(), values=weights.data.tolist()),
            using=VECTOR_NAME,
            limit=limit,
            **kwargs,
        )
