"""Qdrant through the official `qdrant-client`: a server URL, or local mode (`":memory:"` / `path=`).

Codes live in a named sparse vector (inverted index, inner product, no IDF modifier); the model's
identity lives in the collection's metadata and is checked before any write or query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from qdrant_client import QdrantClient, models

from adapters.base import ModelInfo, check_batch, check_queries, pad_results, rows_to_csr

VECTOR_NAME = "sae"
METADATA_KEY = "saevdb"
DATATYPES = {"float32": models.Datatype.FLOAT32, "float16": models.Datatype.FLOAT16, "uint8": models.Datatype.UINT8}


class QdrantAdapter:
    """A Qdrant collection of k-sparse codes.

    Args:
        model: the `ModelInfo` of the SAE whose codes this collection holds.
        client: a `QdrantClient` (server or local mode); the adapter does not own it unless
            `close()` is called.
        collection: collection name.
        datatype: sparse vector storage, "float32", "float16" or "uint8" (values 0..255 only).
        on_disk: keep the sparse index on disk (memory-mapped) instead of in RAM.
        shards, replicas: for a Qdrant cluster (`shard_number`, `replication_factor`); None takes the
            server's defaults. Local mode has one shard.
    """

    def __init__(
        self,
        model: ModelInfo,
        client: QdrantClient,
        collection: str,
        datatype: str = "float32",
        on_disk: bool = False,
        shards: int | None = None,
        replicas: int | None = None,
    ) -> None:
        if datatype not in DATATYPES:
            raise ValueError(f"datatype must be one of {sorted(DATATYPES)}, got {datatype!r}")
        self.model, self.client, self.collection = model, client, collection
        self.datatype, self.on_disk = datatype, on_disk
        self.shards, self.replicas = shards, replicas
        self._checked = False

    def __repr__(self) -> str:
        return f"QdrantAdapter(collection={self.collection!r}, datatype={self.datatype}, on_disk={self.on_disk})"

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, collection: str, **options) -> QdrantAdapter:
        """On a Qdrant server or cluster at `url` (e.g. "http://qdrant:6333")."""
        return cls(model, QdrantClient(url=url), collection, **options)

    def exists(self) -> bool:
        return self.client.collection_exists(self.collection)

    def recreate(self) -> None:
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        self.client.create_collection(
            self.collection,
            vectors_config={},
            sparse_vectors_config={
                VECTOR_NAME: models.SparseVectorParams(
                    index=models.SparseIndexParams(on_disk=self.on_disk, datatype=DATATYPES[self.datatype])
                )
            },
            metadata={METADATA_KEY: self.model.to_dict()},
            shard_number=self.shards,
            replication_factor=self.replicas,
        )
        self._checked = True

    def optimize(self) -> None:
        """Nothing to wait for: a Qdrant server optimises in the background, local mode has no index."""

    def drop(self) -> None:
        self.client.delete_collection(self.collection)
        self._checked = False

    def _check_model(self) -> None:
        if self._checked:
            return
        if not self.client.collection_exists(self.collection):
            raise ValueError(f"collection {self.collection!r} does not exist: call recreate() first")
        metadata = self.client.get_collection(self.collection).config.metadata or {}
        self.model.check_same(metadata.get(METADATA_KEY), self.collection)
        self._checked = self._aliased_to() is None  # behind an alias, the collection can change

    def _aliased_to(self) -> str | None:
        """The collection `self.collection` names when it is an alias."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.collection:
                return alias.collection_name
        return None

    def point_alias(self, alias: str) -> str | None:
        previous = next((a.collection_name for a in self.client.get_aliases().aliases if a.alias_name == alias), None)
        changes = [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=self.collection, alias_name=alias)
            )
        ]
        if previous is not None:
            changes.insert(0, models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        self.client.update_collection_aliases(change_aliases_operations=changes)  # one request: atomic
        return previous

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=False, uint8=self.datatype == "uint8")
        self._check_model()
        points = [
            models.PointStruct(
                id=int(point),
                vector={VECTOR_NAME: models.SparseVector(indices=row.indices.tolist(), values=row.data.tolist())},
                payload=None if payloads is None else payloads[i],
            )
            for i, (point, row) in enumerate(zip(ids, codes, strict=True))
        ]
        self.client.upsert(self.collection, points=points, wait=True)

    def search(self, queries: sp.csr_matrix, top_k: int, filter: models.Filter | None = None):
        queries = check_queries(queries, self.model.h, nonneg=False)
        self._check_model()
        requests = [
            models.QueryRequest(
                query=models.SparseVector(indices=q.indices.tolist(), values=q.data.tolist()),
                using=VECTOR_NAME,
                limit=top_k,
                filter=filter,
            )
            for q in queries
        ]
        responses = self.client.query_batch_points(self.collection, requests=requests)
        return pad_results([[(int(p.id), p.score) for p in r.points] for r in responses], top_k)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        self._check_model()
        records = self.client.retrieve(self.collection, ids=[int(i) for i in ids], with_vectors=[VECTOR_NAME])
        found = {int(r.id): (r.vector[VECTOR_NAME].indices, r.vector[VECTOR_NAME].values) for r in records}
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self._check_model()
        self.client.delete(self.collection, points_selector=models.PointIdsList(points=[int(i) for i in ids]))

    def count(self) -> int:
        self._check_model()
        return self.client.count(self.collection, exact=True).count

    def stats(self) -> dict[str, Any]:
        info = self.client.get_collection(self.collection)
        return {"engine": "qdrant", "points": info.points_count, "datatype": self.datatype, "on_disk": self.on_disk}

    def close(self) -> None:
        self.client.close()


class QdrantIngestHook:
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
        from sae_core.query import QUERY_MODES

        if query_mode not in QUERY_MODES:
            raise ValueError(f"query_mode must be one of {QUERY_MODES}, got {query_mode!r}")
        self._client, self._model = client, model
        self._info = ModelInfo.of(model)
        self._query_mode, self._query_k = query_mode, query_k
        self._adapters: dict[str, QdrantAdapter] = {}

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def _adapter(self, collection_name: str) -> QdrantAdapter:
        """One adapter per collection, so its model check reads the engine once, not on every call."""
        if collection_name not in self._adapters:
            self._adapters[collection_name] = QdrantAdapter(self._info, self._client, collection_name)
        return self._adapters[collection_name]

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
        from sae_core.encode import encode

        if not wait:
            raise ValueError("the ingest hook always waits for the write: wait=False is not supported")

        points = list(points)
        dense = np.asarray([p["vector"] if isinstance(p, dict) else p.vector for p in points], dtype=np.float32)
        ids = [p["id"] if isinstance(p, dict) else p.id for p in points]
        payloads = [p.get("payload") if isinstance(p, dict) else p.payload for p in points]
        codes = encode(self._model, dense, show_progress_bar=False)
        self._adapter(collection_name).upsert(ids, codes, payloads)
        return models.UpdateResult(operation_id=None, status=models.UpdateStatus.COMPLETED)

    def query_points(self, collection_name: str, query, limit: int = 10, **kwargs) -> models.QueryResponse:
        from sae_core.query import query_vectors

        weights = query_vectors(self._model, np.asarray([query], dtype=np.float32), self._query_mode, self._query_k)
        self._adapter(collection_name)._check_model()
        return self._client.query_points(
            collection_name,
            query=models.SparseVector(indices=weights.indices.tolist(), values=weights.data.tolist()),
            using=VECTOR_NAME,
            limit=limit,
            **kwargs,
        )
