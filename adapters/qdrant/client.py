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

from saevdb.adapters.base import ModelInfo
from saevdb.adapters.batches import (
    check_batch,
    check_datatype,
    check_originals,
    check_queries,
    check_rescore,
    pad_results,
    rows_to_csr,
)
from saevdb.adapters.model_check import METADATA_KEY, ModelTagged
from saevdb.adapters.qdrant.constants import DENSE_NAME, PRECISIONS, VECTOR_NAME

DATATYPES = {"float32": models.Datatype.FLOAT32, "float16": models.Datatype.FLOAT16, "uint8": models.Datatype.UINT8}


class QdrantAdapter(ModelTagged):
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
        originals: also keep each point's original vector `[d]` as a named dense vector on disk
            with no HNSW graph (m=0), for the two-stage search: one `query_points` whose `Prefetch`
            takes the codes' top `rescore_depth` from the sparse index, scored by exact cosine with
            their originals (`rescore_depth` vector reads per query).
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
        originals: bool = False,
    ) -> None:
        self.model, self.client, self.collection = model, client, collection
        self.originals = originals
        self.name = collection
        self.datatype, self.on_disk = check_datatype(datatype, PRECISIONS), on_disk
        self.shards, self.replicas = shards, replicas
        self._checked = False

    def __repr__(self) -> str:
        return f"QdrantAdapter(collection={self.collection!r}, datatype={self.datatype}, on_disk={self.on_disk})"

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, collection: str, **options) -> QdrantAdapter:
        """On a Qdrant server or cluster at `url` (e.g. "http://qdrant:6333"), or qdrant-client's local
        mode in memory for `url` ":memory:"."""
        return cls(model, QdrantClient(location=url), collection, **options)

    def exists(self) -> bool:
        return self.client.collection_exists(self.collection)

    def recreate(self) -> None:
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        dense = models.VectorParams(
            size=self.model.d, distance=models.Distance.COSINE, on_disk=True, hnsw_config=models.HnswConfigDiff(m=0)
        )
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE_NAME: dense} if self.originals else {},
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

    def _stored_model(self) -> dict[str, Any] | None:
        return (self.client.get_collection(self.collection).config.metadata or {}).get(METADATA_KEY)

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

    def upsert(
        self,
        ids: Sequence[int],
        codes: sp.csr_matrix,
        payloads: Sequence[dict] | None = None,
        originals: np.ndarray | None = None,
    ) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=False, uint8=self.datatype == "uint8")
        dense = check_originals(originals, self.originals, self.model.d, len(ids))
        self.check_model()
        points = []
        for i, (point, row) in enumerate(zip(ids, codes, strict=True)):
            vectors: dict[str, Any] = {
                VECTOR_NAME: models.SparseVector(indices=row.indices.tolist(), values=row.data.tolist())
            }
            if dense is not None:
                vectors[DENSE_NAME] = dense[i].tolist()
            points.append(
                models.PointStruct(id=int(point), vector=vectors, payload=None if payloads is None else payloads[i])
            )
        self.client.upsert(self.collection, points=points, wait=True)

    def takes_negative_weights(self) -> bool:
        """Qdrant stores and scores negative sparse weights, so queries may be signed."""
        return True

    def search(
        self,
        queries: sp.csr_matrix,
        top_k: int,
        filter: models.Filter | None = None,
        rescore_queries: np.ndarray | None = None,
        rescore_depth: int = 0,
    ):
        queries = check_queries(queries, self.model.h, nonneg=False)
        dense = check_rescore(rescore_queries, rescore_depth, self.originals, self.model.d, queries.shape[0], top_k)
        self.check_model()
        requests = []
        for i, q in enumerate(queries):
            codes = models.SparseVector(indices=q.indices.tolist(), values=q.data.tolist())
            if dense is None:
                requests.append(models.QueryRequest(query=codes, using=VECTOR_NAME, limit=top_k, filter=filter))
                continue
            first = models.Prefetch(query=codes, using=VECTOR_NAME, limit=rescore_depth, filter=filter)
            requests.append(
                models.QueryRequest(
                    query=dense[i].tolist(), using=DENSE_NAME, prefetch=first, limit=top_k, filter=filter
                )
            )
        responses = self.client.query_batch_points(self.collection, requests=requests)
        return pad_results([[(int(p.id), p.score) for p in r.points] for r in responses], top_k)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        self.check_model()
        records = self.client.retrieve(self.collection, ids=[int(i) for i in ids], with_vectors=[VECTOR_NAME])
        found = {int(r.id): (r.vector[VECTOR_NAME].indices, r.vector[VECTOR_NAME].values) for r in records}
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self.check_model()
        self.client.delete(self.collection, points_selector=models.PointIdsList(points=[int(i) for i in ids]))

    def count(self) -> int:
        self.check_model()
        return self.client.count(self.collection, exact=True).count

    def stats(self) -> dict[str, Any]:
        info = self.client.get_collection(self.collection)
        return {
            "engine": "qdrant",
            "points": info.points_count,
            "datatype": self.datatype,
            "on_disk": self.on_disk,
            "originals": self.originals,
        }

    def close(self) -> None:
        self.client.close()
