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

from adapters.base import ModelInfo, check_batch, pad_results

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
    """

    def __init__(
        self, model: ModelInfo, client: QdrantClient, collection: str, datatype: str = "float32", on_disk: bool = False
    ) -> None:
        if datatype not in DATATYPES:
            raise ValueError(f"datatype must be one of {sorted(DATATYPES)}, got {datatype!r}")
        self.model, self.client, self.collection = model, client, collection
        self.datatype, self.on_disk = datatype, on_disk
        self._checked = False

    def __repr__(self) -> str:
        return f"QdrantAdapter(collection={self.collection!r}, datatype={self.datatype}, on_disk={self.on_disk})"

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
        )
        self._checked = True

    def _check_model(self) -> None:
        if self._checked:
            return
        if not self.client.collection_exists(self.collection):
            raise ValueError(f"collection {self.collection!r} does not exist: call recreate() first")
        metadata = self.client.get_collection(self.collection).config.metadata or {}
        self.model.check_same(metadata.get(METADATA_KEY), self.collection)
        self._checked = True

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=False)
        if self.datatype == "uint8" and ((codes.data < 0) | (codes.data > 255)).any():
            raise ValueError("uint8 storage takes values in 0..255: quantise the codes first")
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
        queries = sp.csr_matrix(queries, dtype=np.float32)
        if queries.shape[1] != self.model.h:
            raise ValueError(f"queries have width {queries.shape[1]}, the collection's model has h={self.model.h}")
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
