"""Qdrant Edge's dense vectors: the baseline a Qdrant user has, float32 in an HNSW index or one of
Qdrant's built-in quantizations (`saevdb.adapters.qdrant.quantization`), one shard in a folder."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as edge

from saevdb.adapters.batches import check_dense_batch, pad_results
from saevdb.adapters.launcher import allocated_bytes
from saevdb.adapters.qdrant.constants import DENSE_NAME
from saevdb.adapters.qdrant.placement import placements
from saevdb.adapters.qdrant.quantization import quantization_config, search_params
from saevdb.sae_core.validation import check_embeddings


class QdrantEdgeDenseAdapter:
    """The dense baseline: the same engine holding the vectors in its HNSW index, cosine.

    HNSW is built by `optimize()` for segments above Qdrant's indexing threshold (smaller ones are
    scanned exactly), as in a Qdrant server.

    Args:
        d: the embedding dimension.
        path: the shard's folder.
        m, ef_construct: HNSW graph parameters.
        quantization: None (float32 vectors in RAM, the graph walked on them) or a name of
            `quantization.QUANTIZATIONS` (compressed vectors in RAM, float32 originals on disk).
        indexing_threshold_kb: segments of more vectors than this (in KB of vectors) get their graph
            and compressed vectors built by `optimize()`; smaller ones are scanned exactly, unquantized.
            None keeps Qdrant's default; small collections (tests) lower it to build them anyway.
        id_tracker_memory, payload_memory: where the shard keeps its point-id tracker and payloads,
            "pinned", "cached" or "cold" (`saevdb.adapters.qdrant.placement`); None keeps Qdrant's
            default (the id tracker on the heap).
    """

    def __init__(
        self,
        d: int,
        path: str | Path,
        m: int = 16,
        ef_construct: int = 100,
        quantization: str | None = None,
        indexing_threshold_kb: int | None = None,
        id_tracker_memory: str | None = None,
        payload_memory: str | None = None,
    ) -> None:
        self._placements = placements(id_tracker_memory, payload_memory)
        quantization_config(quantization)  # refuse an unknown name before anything is created
        self.d, self.path, self.m, self.ef_construct = d, Path(path), m, ef_construct
        self.quantization, self.indexing_threshold_kb = quantization, indexing_threshold_kb
        self._shard: edge.EdgeShard | None = None

    def __repr__(self) -> str:
        return (
            f"QdrantEdgeDenseAdapter(path={str(self.path)!r}, d={self.d}, m={self.m}, quantization={self.quantization})"
        )

    def _config(self) -> edge.EdgeConfig:
        threshold = 10_000 if self.indexing_threshold_kb is None else self.indexing_threshold_kb
        hnsw = edge.HnswIndexConfig(m=self.m, ef_construct=self.ef_construct, full_scan_threshold=threshold)
        optimizers = edge.EdgeOptimizersConfig(indexing_threshold=self.indexing_threshold_kb)
        quantized = quantization_config(self.quantization)
        params = edge.EdgeVectorParams(
            size=self.d,
            distance=edge.Distance.Cosine,
            quantization_config=quantized,
            memory=None if quantized is None else edge.Memory.Cold,
        )
        return edge.EdgeConfig(
            vectors={DENSE_NAME: params}, hnsw_config=hnsw, optimizers=optimizers, **self._placements
        )

    def recreate(self) -> None:
        self.drop()
        self.path.mkdir(parents=True)
        self._shard = edge.EdgeShard.create(str(self.path), self._config())

    def drop(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    @property
    def shard(self) -> edge.EdgeShard:
        if self._shard is None:
            if not self.path.is_dir():
                raise ValueError(f"{self.path} holds no shard: call recreate() first")
            self._shard = edge.EdgeShard.load(str(self.path), self._config())
        return self._shard

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        ids, vectors = check_dense_batch(ids, vectors, self.d, payloads)
        points = [
            edge.Point(int(point), {DENSE_NAME: vector.tolist()}, None if payloads is None else payloads[i])
            for i, (point, vector) in enumerate(zip(ids, vectors, strict=True))
        ]
        self.shard.update(edge.UpdateOperation.upsert_points(points))

    def optimize(self) -> None:
        self.shard.optimize()

    def search(self, queries: np.ndarray, top_k: int, filter: edge.Filter | None = None, **params):
        """`params`: `hnsw_ef`, `exact`, and for a quantized vector `oversampling`, `rescore`."""
        queries = check_embeddings(queries, self.d, name="queries")
        settings = search_params(params)
        hits = []
        for q in np.asarray(queries, dtype=np.float32):
            request = edge.QueryRequest(
                limit=top_k, query=edge.Query.Nearest(q.tolist(), using=DENSE_NAME), filter=filter, params=settings
            )
            hits.append([(int(p.id), p.score) for p in self.shard.query(request)])
        return pad_results(hits, top_k)

    def count(self) -> int:
        return self.shard.count(edge.CountRequest(exact=True))

    def stats(self) -> dict[str, Any]:
        info = self.shard.info()
        return {
            "engine": "qdrant-edge",
            "points": info.points_count,
            "indexed_vectors": info.indexed_vectors_count,
            "disk_bytes": allocated_bytes(self.path),
            "quantization": self.quantization,
        }

    def close(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None
